"""The Query API surface: ``execute``, ``batch``, ``websites``, ``types``, and
:meth:`QueryAPI.send_slices`, one ``POST /v1/query`` of slices (:mod:`.slices`) whose answer is
mapped back to each slice.

Which slices go together, and what happens when a request fails, is not decided here: see
:mod:`.packing` and :mod:`.fetching`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Literal

from . import arrow_answers
from .errors import APIError, RetriableError, classify_parameter_failure
from .slices import Granularity, Rows, Slice, SliceOptions, SliceOutcome

if TYPE_CHECKING:
    import pyarrow as pa

    from .retry import RetryBudget
    from .transport import Transport


@dataclass(frozen=True, slots=True)
class ParameterResult:
    """One entry of ``data``: a parameter's rows, or its failure."""

    parameter: str
    success: bool
    data: Rows
    error: str | None = None


@dataclass(frozen=True, slots=True)
class QueryResponse:
    """The answer to one request object (a single request, or one element of a batch)."""

    request_id: str | None
    query_id: str
    results: list[ParameterResult]
    meta: dict[str, Any]

    def __getitem__(self, parameter: str) -> Rows:
        """Rows of a successful parameter (by its id or name); raises its error if it failed."""
        for r in self.results:
            if r.parameter == parameter:
                if not r.success:
                    raise self.error_of(r)
                return r.data
        raise KeyError(parameter)

    @property
    def failed(self) -> list[ParameterResult]:
        return [r for r in self.results if not r.success]

    def error_of(self, result: ParameterResult) -> APIError:
        return classify_parameter_failure(
            result.error or "failed",
            parameter=result.parameter,
            request_id=self.request_id,
            path="/v1/query",
        )

    def raise_for_failures(self) -> None:
        """Raise the error of the first failed parameter, if any."""
        if self.failed:
            raise self.error_of(self.failed[0])


def _request_body(
    parameters: Sequence[str | dict[str, Any]],
    *,
    start_date: str | None,
    end_date: str | None,
    preset: str | None,
    filters: Sequence[dict[str, Any]] | None,
    granularity: str | None,
    limit: int | None,
    page: int | None,
    sort_by: str | None,
    sort_order: str | None,
    query_id: str | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"parameters": list(parameters)}
    for key, value in (
        ("startDate", start_date),
        ("endDate", end_date),
        ("preset", preset),
        ("granularity", granularity),
        ("limit", limit),
        ("page", page),
        ("sortBy", sort_by),
        ("sortOrder", sort_order),
        ("id", query_id),
    ):
        if value is not None:
            body[key] = value
    if filters:
        body["filters"] = list(filters)
    return body


def _response(body: dict[str, Any], request_id: str | None) -> QueryResponse:
    results = [
        ParameterResult(
            e.get("parameter", ""),
            bool(e.get("success")),
            list(e.get("data") or []),
            e.get("error"),
        )
        for e in body.get("data", [])
    ]
    return QueryResponse(request_id, body.get("queryId", ""), results, body.get("meta", {}))


class QueryAPI:
    """``client.query``: the analytics Query API (``/v1/query``)."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def execute(
        self,
        *,
        parameters: Sequence[str | dict[str, Any]],
        website_id: str | None = None,
        link_id: str | None = None,
        schedule_id: str | None = None,
        organization_id: str | None = None,
        start_date: str | None = None,
        end_date: str | None = None,
        preset: str | None = None,
        filters: Sequence[dict[str, Any]] | None = None,
        granularity: Granularity | None = None,
        timezone: str | None = None,
        limit: int | None = None,
        page: int | None = None,
        sort_by: str | None = None,
        sort_order: Literal["asc", "desc"] | None = None,
        query_id: str | None = None,
    ) -> QueryResponse:
        """Run one request: each parameter (a type name, or ``{name, start_date, end_date,
        granularity, id}``) answers in ``response[<id or name>]``."""
        body = _request_body(
            parameters,
            start_date=start_date,
            end_date=end_date,
            preset=preset,
            filters=filters,
            granularity=granularity,
            limit=limit,
            page=page,
            sort_by=sort_by,
            sort_order=sort_order,
            query_id=query_id,
        )
        params = SliceOptions(
            website_id, link_id, schedule_id, organization_id, timezone
        ).query_params()
        answer = self._transport.request(
            "POST", "/v1/query", params=params, json=body, rate_limited=True
        )
        return _response(answer, answer.get("requestId"))

    def batch(
        self,
        requests: Sequence[dict[str, Any]],
        *,
        website_id: str | None = None,
        link_id: str | None = None,
        schedule_id: str | None = None,
        organization_id: str | None = None,
        timezone: str | None = None,
        failure_budget: int | None = None,
    ) -> list[QueryResponse]:
        """Run several request objects (raw API bodies) in one HTTP request (one rate-limit
        slot); the answers come back in order."""
        params = SliceOptions(
            website_id, link_id, schedule_id, organization_id, timezone
        ).query_params()
        answer = self._transport.request(
            "POST",
            "/v1/query",
            params=params,
            json=list(requests),
            rate_limited=True,
            failure_budget=failure_budget,
        )
        rid = answer.get("requestId")
        return [_response(r, rid) for r in answer.get("results", [])]

    def websites(self) -> list[dict[str, Any]]:
        """Websites the credentials may query (``GET /v1/query/websites``)."""
        return list(self._transport.request("GET", "/v1/query/websites")["websites"])

    def types(self, include_meta: bool = False) -> dict[str, Any]:
        """The query type catalogue: ``types``, ``configs``, ``presets``."""
        params = {"include_meta": "true"} if include_meta else None
        return dict(self._transport.request("GET", "/v1/query/types", params=params))

    def send_slices(
        self,
        chunk: Sequence[Slice],
        options: SliceOptions,
        row_schemas: Mapping[str, pa.Schema],
        *,
        failure_budget: int | None = None,
        budget: RetryBudget | None = None,
    ) -> list[SliceOutcome]:
        """One request carrying every slice of ``chunk`` (each labelled by its id), and each
        slice's outcome in ``chunk``'s order: its rows, or its error (a failed parameter, or a
        parameter the answer lacks). A refusal of the whole request raises.

        ``row_schemas`` (slice id -> the columns to read): when every slice has one, the answer
        is decoded straight into Arrow and the rows come as ``pyarrow.Table``; an answer Arrow
        cannot read exactly is decoded as JSON (rows as dicts). ``failure_budget`` and
        ``budget`` bound the retries (see :meth:`.transport.Transport.request`).
        """
        body = _request_body(
            [s.parameter() for s in chunk],
            start_date=min(s.start_date for s in chunk),
            end_date=max(s.end_date for s in chunk),
            preset=None,
            filters=options.filters,
            granularity=None,
            limit=options.limit,
            page=options.page,
            sort_by=None,
            sort_order=None,
            query_id=None,
        )
        schema = None
        if all(s.id in row_schemas for s in chunk):
            schema = arrow_answers.answer_schema(row_schemas[s.id] for s in chunk)
        answer = self._transport.request(
            "POST",
            "/v1/query",
            params=options.query_params(),
            json=body,
            rate_limited=True,
            failure_budget=failure_budget,
            decode=None if schema is None else partial(arrow_answers.decode, schema=schema),
            budget=budget,
        )
        if isinstance(answer, arrow_answers.ArrowAnswer):  # every parameter answered
            outcomes = []
            for s in chunk:
                rows = answer.tables.get(s.id)
                if rows is None:
                    outcomes.append(SliceOutcome(s, error=_missing(s, answer.request_id)))
                else:  # its own columns, in its own order
                    rows = rows.select(row_schemas[s.id].names)
                    outcomes.append(SliceOutcome(s, rows=rows, request_id=answer.request_id))
            return outcomes
        response = _response(answer, answer.get("requestId"))
        by_label = {r.parameter: r for r in response.results}
        return [_outcome(s, by_label.get(s.id), response) for s in chunk]


def _outcome(s: Slice, result: ParameterResult | None, response: QueryResponse) -> SliceOutcome:
    if result is None:
        return SliceOutcome(s, error=_missing(s, response.request_id))
    if result.success:
        return SliceOutcome(s, rows=result.data, request_id=response.request_id)
    return SliceOutcome(s, error=response.error_of(result), request_id=response.request_id)


def _missing(s: Slice, request_id: str | None) -> RetriableError:
    return RetriableError(
        f"the answer has no entry for parameter {s.id!r}",
        status=200,
        request_id=request_id,
        path="/v1/query",
    )
