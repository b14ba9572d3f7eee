"""The Query API surface: ``execute``, ``batch``, ``websites``, ``types``, and packed slices.

A *slice* is one parameter object with its own date range and id; :meth:`QueryAPI.fetch_slices`
packs many slices into as few ``POST /v1/query`` requests as the per-request maximum allows and
maps each answer back to its slice. A packed request that keeps timing out or failing with a 5xx
other than 502/503 (unavailable: smaller requests would not help) is split in halves, and each
half retried.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

import pyarrow as pa

from . import arrow_answers, settings
from .errors import APIError, RetriableError, classify_parameter_failure

if TYPE_CHECKING:
    from .client import Databuddy
    from .retry import RetryBudget

Granularity = Literal["daily", "hourly", "day", "hour"]
Rows = list[dict[str, Any]]
SliceRows: TypeAlias = "Rows | pa.Table"  # decoded as JSON, or straight into Arrow


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


@dataclass(frozen=True, slots=True)
class Slice:
    """One parameter object: a query type over its own inclusive date range, labelled ``id``."""

    name: str
    start_date: str
    end_date: str
    id: str
    granularity: Granularity | None = None

    def parameter(self) -> dict[str, Any]:
        p: dict[str, Any] = {
            "name": self.name,
            "id": self.id,
            "start_date": self.start_date,
            "end_date": self.end_date,
        }
        if self.granularity:
            p["granularity"] = self.granularity
        return p


@dataclass(frozen=True, slots=True)
class SliceOptions:
    """What the slices of one packed request share: scope ids, time zone, filters, paging."""

    website_id: str | None = None
    link_id: str | None = None
    schedule_id: str | None = None
    organization_id: str | None = None
    timezone: str | None = None
    filters: Sequence[dict[str, Any]] = ()
    limit: int | None = None
    page: int | None = None

    def query_params(self) -> dict[str, str]:
        out = {
            k: v
            for k, v in (
                ("website_id", self.website_id),
                ("link_id", self.link_id),
                ("schedule_id", self.schedule_id),
                ("organization_id", self.organization_id),
                ("timezone", self.timezone),
            )
            if v
        }
        return out


@dataclass(slots=True)
class SliceOutcome:
    """A slice's rows, or the error that ended it; ``requests`` it took (shared ones counted)."""

    slice: Slice
    rows: SliceRows = field(default_factory=list)
    error: APIError | None = None
    request_id: str | None = None


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

    def __init__(self, client: Databuddy) -> None:
        self._client = client

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
        answer = self._client.request(
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
        answer = self._client.request(
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
        return list(self._client.request("GET", "/v1/query/websites")["websites"])

    def types(self, include_meta: bool = False) -> dict[str, Any]:
        """The query type catalogue: ``types``, ``configs``, ``presets``."""
        params = {"include_meta": "true"} if include_meta else None
        return dict(self._client.request("GET", "/v1/query/types", params=params))

    # ------------------------------------------------------------------ packed slices
    def fetch_slices(
        self,
        slices: Sequence[Slice],
        options: SliceOptions,
        row_schemas: Mapping[str, pa.Schema] | None = None,
        budget: RetryBudget | None = None,
    ) -> Iterator[SliceOutcome]:
        """Every slice's rows (or error), packing slices into as few requests as the client's
        ``max_parameters_per_request`` allows. Outcomes come in request order.

        ``row_schemas`` (slice id -> the columns to read): a request whose slices all have one
        is decoded straight into Arrow, and their rows come as ``pyarrow.Table``; any answer
        Arrow cannot read exactly is decoded as JSON (rows as dicts), as are other requests.
        ``budget`` bounds the seconds failures may cost; once it is spent a failing request is
        neither retried nor split.
        """
        size = self._client.max_parameters_per_request
        for start in range(0, len(slices), size):
            chunk = list(slices[start : start + size])
            yield from self._fetch_packed(chunk, options, 0, row_schemas or {}, budget)

    def _fetch_packed(
        self,
        chunk: list[Slice],
        options: SliceOptions,
        parameter_retries: int,
        row_schemas: Mapping[str, pa.Schema],
        budget: RetryBudget | None = None,
    ) -> Iterator[SliceOutcome]:
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
        splittable = len(chunk) > 1
        schema = None
        if all(s.id in row_schemas for s in chunk):
            schema = arrow_answers.answer_schema(row_schemas[s.id] for s in chunk)
        try:
            answer = self._client.request(
                "POST",
                "/v1/query",
                params=options.query_params(),
                json=body,
                rate_limited=True,
                failure_budget=settings.SPLIT_AFTER_ATTEMPTS if splittable else None,
                decode=None if schema is None else partial(arrow_answers.decode, schema=schema),
                budget=budget,
            )
        except RetriableError as exc:
            # halves help a request too big to answer in time, not a server that is down
            unavailable = exc.status in (502, 503)
            if not splittable or unavailable or (budget is not None and budget.exhausted):
                raise
            half = len(chunk) // 2
            for part in (chunk[:half], chunk[half:]):
                yield from self._fetch_packed(part, options, parameter_retries, row_schemas, budget)
            return
        if isinstance(answer, arrow_answers.ArrowAnswer):  # every parameter answered
            for s in chunk:
                rows = answer.tables.get(s.id)
                if rows is None:
                    yield SliceOutcome(s, error=_missing(s, answer.request_id))
                else:  # its own columns, in its own order
                    rows = rows.select(row_schemas[s.id].names)
                    yield SliceOutcome(s, rows=rows, request_id=answer.request_id)
            return
        response = _response(answer, answer.get("requestId"))
        by_label = {r.parameter: r for r in response.results}
        transient: list[Slice] = []
        for s in chunk:
            result = by_label.get(s.id)
            if result is None:
                yield SliceOutcome(s, error=_missing(s, response.request_id))
            elif result.success:
                yield SliceOutcome(s, rows=result.data, request_id=response.request_id)
            else:
                error = response.error_of(result)
                if isinstance(error, RetriableError) and parameter_retries < 2:
                    transient.append(s)
                else:
                    yield SliceOutcome(s, error=error, request_id=response.request_id)
        if transient:
            yield from self._fetch_packed(
                transient, options, parameter_retries + 1, row_schemas, budget
            )


def _missing(s: Slice, request_id: str | None) -> RetriableError:
    return RetriableError(
        f"the answer has no entry for parameter {s.id!r}",
        status=200,
        request_id=request_id,
        path="/v1/query",
    )
