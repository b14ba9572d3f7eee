"""Serve an emulator over real HTTP on loopback, in a background thread (tests, benchmarks)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType

import uvicorn

from .app import Emulator
from .config import EmulatorConfig
from .store import Store


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class EmulatorServer:
    """``with EmulatorServer(config) as server: httpx.get(server.url + "/health")``.

    ``server.emulator`` gives the in-process state (store, limiter, faults) for ground truth.
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        host: str = "127.0.0.1",
        port: int | None = None,
        emulator: Emulator | None = None,
        keep_store: bool = False,
    ) -> None:
        self.emulator = emulator or Emulator(config or EmulatorConfig())
        self._keep_store = keep_store
        self.host = host
        self.port = port or free_port(host)
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.emulator.app,
                host=host,
                port=self.port,
                log_level="warning",
                access_log=False,
                lifespan="off",
                timeout_keep_alive=30,
            )
        )
        self._thread = threading.Thread(target=self._server.run, name="emulator", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> EmulatorServer:
        self._thread.start()
        deadline = time.monotonic() + 20
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"emulator did not start on {self.url}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        if not self._keep_store:
            self.emulator.store.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextmanager
def serve(store: Store) -> Iterator[str]:
    """Serve an existing world over HTTP for the duration of a ``with`` block; yields the URL."""
    server = EmulatorServer(emulator=Emulator(store.config, store=store), keep_store=True)
    with server:
        yield server.url
