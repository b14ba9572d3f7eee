"""The key never travels over plain http:// to another machine unless the user opts in; on
loopback (the emulator, a local proxy) plain http is fine. Refused before any request."""

from __future__ import annotations

import pytest
from databuddy_emulator.server import EmulatorServer

from databuddy_source import ConfigurationError, Databuddy, databuddy

KEY = "dbdy_" + "k" * 40


@pytest.mark.parametrize(
    "url", ["http://api.databuddy.cc", "http://10.1.2.3:3001", "http://[2001:db8::1]/", "http://db"]
)
def test_plain_http_to_another_host_is_refused(url: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        Databuddy(KEY, base_url=url)
    message = str(caught.value)
    assert "plain http://" in message and "allow_insecure_http=True" in message
    assert "https://" in message and KEY not in message


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:3901", "http://localhost:8000/", "http://[::1]:9000", "http://127.8.0.1"],
)
def test_plain_http_on_loopback_and_https_anywhere_are_fine(url: str) -> None:
    with Databuddy(KEY, base_url=url) as client:
        assert client.base_url == url.rstrip("/")
    with Databuddy(KEY, base_url="https://db.internal:8443") as client:
        assert client.base_url == "https://db.internal:8443"


def test_the_user_can_opt_in_to_plain_http() -> None:
    with Databuddy(KEY, base_url="http://10.1.2.3:3001", allow_insecure_http=True) as client:
        assert client.base_url == "http://10.1.2.3:3001"


def test_the_source_refuses_it_too_and_takes_the_opt_in(server: EmulatorServer) -> None:
    key = server.emulator.config.api_key
    with pytest.raises(ConfigurationError, match="allow_insecure_http"):
        databuddy(api_key=key, base_url="http://192.0.2.1:1")
    # the emulator on loopback, given by name: no opt-in needed
    port = server.url.rsplit(":", 1)[1]
    source = databuddy(api_key=key, base_url=f"http://localhost:{port}", queries=["top_pages"])
    assert "top_pages" in source.resources
