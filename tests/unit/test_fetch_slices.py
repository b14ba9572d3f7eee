"""Packed slices over ``httpx.MockTransport``: the request a pack makes, each answer mapped back
to its slice (JSON or Arrow), a request that keeps timing out split in halves, and a transient
failed parameter asked again. The fake API answers from the request itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import orjson
import pyarrow as pa
import pytest

from databuddy_source.errors import PARAMETER_FAILED, RetriableError, ValidationError
from databuddy_source.fetching import fetch_slices
from databuddy_source.query_api import QueryAPI
from databuddy_source.retry import RetryPolicy
from databuddy_source.slices import Slice, SliceOptions
from databuddy_source.transport import Transport

from ..fake_time import FakeTime
from .scripted import KEY

Answer = Callable[[dict[str, Any]], dict[str, Any] | httpx.Response]
OPTIONS = SliceOptions(website_id="w1", timezone="UTC", limit=500)


def rows_of(parameter: dict[str, Any]) -> list[dict[str, Any]]:
    """The rows the fake API answers for a parameter: one, naming it."""
    return [{"name": parameter["id"], "pageviews": 1, "visitors": 1, "percentage": 50.0}]


def answered(body: dict[str, Any]) -> dict[str, Any]:
    data = [{"parameter": p["id"], "success": True, "data": rows_of(p)} for p in body["parameters"]]
    return {"success": True, "requestId": "req_1", "data": data}


class FakeAPI:
    """Answers ``POST /v1/query`` with ``answer(body)``; records each request's body."""

    def __init__(self, answer: Answer = answered) -> None:
        self.answer = answer
        self.bodies: list[dict[str, Any]] = []
        self.params: list[dict[str, str]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = orjson.loads(request.content)
        self.bodies.append(body)
        self.params.append(dict(request.url.params))
        out = self.answer(body)
        return out if isinstance(out, httpx.Response) else httpx.Response(200, json=out)

    def packs(self) -> list[list[str]]:
        """The slice ids of each request, in order."""
        return [[p["id"] for p in body["parameters"]] for body in self.bodies]


@pytest.fixture()
def fake() -> FakeTime:
    return FakeTime()


def query_api(api: FakeAPI, fake: FakeTime) -> QueryAPI:
    transport = Transport(
        KEY,
        base_url="https://api.test",
        transport=httpx.MockTransport(api.handle),
        retry=RetryPolicy(jitter=0.0),
        sleep=fake.sleep,
        clock=fake.time,
        monotonic=fake.monotonic,
    )
    return QueryAPI(transport)


def days(n: int, name: str = "top_pages") -> list[Slice]:
    return [Slice(name, f"2026-03-{d:02d}", f"2026-03-{d:02d}", f"s{d}") for d in range(1, n + 1)]


def test_a_pack_is_one_request_of_its_slices_and_each_answer_maps_back(fake: FakeTime) -> None:
    api = FakeAPI()
    slices = [*days(3), Slice("country", "2026-02-27", "2026-03-05", "c1", "hourly")]
    outcomes = list(fetch_slices(query_api(api, fake), slices, OPTIONS))
    assert api.bodies == [
        {
            "parameters": [
                *(
                    {
                        "name": "top_pages",
                        "id": s.id,
                        "start_date": s.start_date,
                        "end_date": s.end_date,
                    }
                    for s in slices[:3]
                ),
                {
                    "name": "country",
                    "id": "c1",
                    "start_date": "2026-02-27",
                    "end_date": "2026-03-05",
                    "granularity": "hourly",
                },
            ],
            "startDate": "2026-02-27",
            "endDate": "2026-03-05",
            "limit": 500,
        }
    ]
    assert api.params == [{"website_id": "w1", "timezone": "UTC"}]
    assert [o.slice for o in outcomes] == slices
    assert all(o.error is None and o.rows == rows_of(o.slice.parameter()) for o in outcomes)
    assert {o.request_id for o in outcomes} == {"req_1"}


def test_the_parameter_cap_packs_in_order(fake: FakeTime) -> None:
    api = FakeAPI()
    outcomes = list(fetch_slices(query_api(api, fake), days(7), OPTIONS, parameters_per_request=3))
    assert api.packs() == [["s1", "s2", "s3"], ["s4", "s5", "s6"], ["s7"]]
    assert [o.slice.id for o in outcomes] == [f"s{d}" for d in range(1, 8)]


def test_answers_decode_straight_into_arrow_when_every_slice_has_columns(fake: FakeTime) -> None:
    narrow = pa.schema([("name", pa.string()), ("visitors", pa.int64())])
    wide = pa.schema([("name", pa.string()), ("pageviews", pa.int64()), ("visitors", pa.int64())])
    schemas = {"s1": narrow, "s2": wide}
    outcomes = list(fetch_slices(query_api(FakeAPI(), fake), days(2), OPTIONS, row_schemas=schemas))
    for o in outcomes:
        assert isinstance(o.rows, pa.Table), "decoded by Arrow"
        assert o.rows.schema == schemas[o.slice.id], "each slice its own columns, in its order"
        want = {
            k: v
            for k, v in rows_of(o.slice.parameter())[0].items()
            if k in schemas[o.slice.id].names
        }
        assert o.rows.to_pylist() == [want]
    mixed = list(
        fetch_slices(query_api(FakeAPI(), fake), days(2), OPTIONS, row_schemas={"s1": narrow})
    )
    assert all(isinstance(o.rows, list) for o in mixed), "one slice without columns: JSON"


def test_a_pack_that_keeps_timing_out_is_split_in_halves(fake: FakeTime) -> None:
    def answer(body: dict[str, Any]) -> dict[str, Any] | httpx.Response:
        if len(body["parameters"]) > 2:
            return httpx.Response(504, json={"error": "Gateway timeout"})
        return answered(body)

    api = FakeAPI(answer)
    outcomes = list(fetch_slices(query_api(api, fake), days(5), OPTIONS))
    abcde = ["s1", "s2", "s3", "s4", "s5"]
    assert api.packs() == [abcde] * 3 + [["s1", "s2"]] + [["s3", "s4", "s5"]] * 3 + [
        ["s3"],
        ["s4", "s5"],
    ], "split after 3 attempts, halves split again"
    assert [o.slice.id for o in outcomes] == abcde and all(o.error is None for o in outcomes)


@pytest.mark.parametrize("status", [502, 503])
def test_a_server_that_is_down_is_not_split(fake: FakeTime, status: int) -> None:
    api = FakeAPI(lambda body: httpx.Response(status, json={"error": "down"}))
    with pytest.raises(RetriableError):
        list(fetch_slices(query_api(api, fake), days(4), OPTIONS))
    assert api.packs() == [["s1", "s2", "s3", "s4"]] * 3


def failing(message: str, times: int) -> Answer:
    """Answers that fail parameter ``s2`` with ``message`` the first ``times`` times."""
    left = [times]

    def answer(body: dict[str, Any]) -> dict[str, Any]:
        out = answered(body)
        for entry in out["data"]:
            if entry["parameter"] == "s2" and left[0] > 0:
                left[0] -= 1
                entry.update(success=False, data=[], error=message)
        return out

    return answer


def test_a_transient_failed_parameter_is_asked_again_on_its_own(fake: FakeTime) -> None:
    api = FakeAPI(failing("Code: 159. Timeout exceeded", times=2))
    outcomes = {o.slice.id: o for o in fetch_slices(query_api(api, fake), days(3), OPTIONS)}
    assert api.packs() == [["s1", "s2", "s3"], ["s2"], ["s2"]]
    assert all(o.error is None for o in outcomes.values())


def test_a_parameter_that_keeps_failing_ends_with_its_error(fake: FakeTime) -> None:
    api = FakeAPI(failing("Code: 159. Timeout exceeded", times=10))
    outcomes = {o.slice.id: o for o in fetch_slices(query_api(api, fake), days(3), OPTIONS)}
    assert api.packs() == [["s1", "s2", "s3"], ["s2"], ["s2"]], "asked again twice at most"
    error = outcomes["s2"].error
    assert isinstance(error, RetriableError) and error.code == PARAMETER_FAILED
    assert outcomes["s1"].error is None and outcomes["s3"].error is None


def test_a_wrong_parameter_or_a_missing_answer_is_not_asked_again(fake: FakeTime) -> None:
    api = FakeAPI(failing("Invalid date range", times=10))
    outcomes = {o.slice.id: o for o in fetch_slices(query_api(api, fake), days(2), OPTIONS)}
    assert api.packs() == [["s1", "s2"]] and isinstance(outcomes["s2"].error, ValidationError)

    def without_s2(body: dict[str, Any]) -> dict[str, Any]:
        out = answered(body)
        out["data"] = [e for e in out["data"] if e["parameter"] != "s2"]
        return out

    api = FakeAPI(without_s2)
    outcomes = {o.slice.id: o for o in fetch_slices(query_api(api, fake), days(2), OPTIONS)}
    assert api.packs() == [["s1", "s2"]]
    error = outcomes["s2"].error
    assert isinstance(error, RetriableError) and "no entry for parameter 's2'" in str(error)
