"""Emulator settings: one frozen dataclass, defaults in one place."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from databuddy_source.contract import API_VERSIONS, CURRENT_API_VERSION, ApiVersion

Profile = Literal["small", "default", "large"]
RateLimitMode = Literal["code", "docs", "off"]

DEFAULT_API_KEY = "dbdy_demoGlobalKey" + "0" * 35
"""The global key of the demo organization (``--api-key`` overrides it)."""

DEFAULT_SEED = 42


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """Everything that makes one emulator instance.

    ``now`` is the virtual clock's start; ``frozen`` keeps it still until the admin surface
    advances it (tests), otherwise it runs with the wall clock from ``now`` (demo).
    """

    seed: int = DEFAULT_SEED
    profile: Profile = "default"
    api_key: str = DEFAULT_API_KEY
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))
    frozen: bool = False
    history_days: int | None = None
    extra_websites: int = 0  # more small websites in the demo organization (load tests)
    future_days: int = 14
    rate_limit: int = 120
    rate_window_seconds: float = 60.0
    rate_limit_mode: RateLimitMode = "code"
    # Memoize each parameter's rows (serialized) for benchmarks, so the emulator answers a
    # repeated read at the speed of a cache and never limits the client being measured. Only
    # with a frozen clock; any RPC call or admin change clears it. Answers stay byte-identical.
    result_cache: bool = False
    # The API version served: the current one, or "2026-04" (the previous catalogue, with the
    # removed llm_*/retention_* types, no plan gate and no limits on anonymous callers).
    api_version: ApiVersion = CURRENT_API_VERSION
    # The database guards of every read: the API's ClickHouse settings (max_result_rows,
    # max_execution_time) and its query cache (a result is kept query_cache_seconds after its
    # second run; 0 turns the cache off).
    max_result_rows: int = 100_000
    max_execution_seconds: float = 15.0
    query_cache_seconds: float = 60.0

    @property
    def current_api(self) -> bool:
        """True when the current API version is served (plan gate, anonymous limits, ...)."""
        return self.api_version == CURRENT_API_VERSION

    # The admin surface under /__emulator__/ (clock, faults, stats, object edits): it changes
    # what the API answers, so it is mounted only when asked for (tests, benchmarks).
    admin: bool = False

    def __post_init__(self) -> None:
        if not self.api_key.startswith("dbdy_") or not 10 <= len(self.api_key) <= 200:
            raise ValueError("api_key must start with 'dbdy_' and be 10-200 characters long")
        if self.now.tzinfo is None:
            object.__setattr__(self, "now", self.now.replace(tzinfo=UTC))
        if self.rate_limit < 1 or self.rate_window_seconds <= 0:
            raise ValueError("rate_limit must be >= 1 and rate_window_seconds > 0")
        if self.api_version not in API_VERSIONS:
            raise ValueError(f"api_version must be one of {', '.join(API_VERSIONS)}")
        if self.max_result_rows < 1 or self.max_execution_seconds <= 0:
            raise ValueError("max_result_rows must be >= 1 and max_execution_seconds > 0")
        if self.query_cache_seconds < 0:
            raise ValueError("query_cache_seconds must be >= 0 (0 turns the cache off)")
        if self.result_cache and not self.frozen:
            raise ValueError("result_cache needs a frozen clock (answers change as time runs)")
