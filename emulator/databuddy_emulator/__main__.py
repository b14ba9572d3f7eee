"""Start the emulator (the installed command ``databuddy-emulator``):

databuddy-emulator --host 127.0.0.1 --port 8787 [--seed N] [--api-key KEY]
python -m databuddy_emulator ...   # the same
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime

from databuddy_source.contract import API_VERSIONS, CURRENT_API_VERSION

from .config import DEFAULT_API_KEY, DEFAULT_SEED, EmulatorConfig


def _timestamp(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(
            f"{value!r} is not an ISO date-time, e.g. 2026-03-15T12:00:00Z"
        ) from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _positive(kind: type[int] | type[float]):  # type: ignore[no-untyped-def]
    def parse(value: str) -> int | float:
        try:
            number = kind(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{value!r} is not a number") from exc
        if number <= 0:
            raise argparse.ArgumentTypeError(f"{value!r} must be greater than 0")
        return number

    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="databuddy-emulator",
        description="A local emulator of the Databuddy API (api.databuddy.cc), from the "
        "databuddy-emulator distribution (pip install 'databuddy-source[emulator]').",
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8787, help="port (default 8787)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="data seed (default 42)")
    p.add_argument(
        "--api-key",
        default=DEFAULT_API_KEY,
        help="global key of the demo organization (default: the demo key of docs/emulator.md)",
    )
    p.add_argument(
        "--profile",
        choices=("small", "default", "large"),
        default="default",
        help="data volume (large: a site with >10,000 distinct paths a day)",
    )
    p.add_argument(
        "--now",
        type=_timestamp,
        default=None,
        help="start of the virtual clock, ISO 8601 (default: the real time)",
    )
    p.add_argument(
        "--frozen",
        action="store_true",
        help="keep the virtual clock still until /__emulator__/clock moves it",
    )
    p.add_argument(
        "--history-days",
        type=_positive(int),
        default=None,
        help="days of history before --now (default by profile: 45/120/21)",
    )
    p.add_argument(
        "--extra-websites",
        type=int,
        default=0,
        help="add N small websites to the demo organization (load tests)",
    )
    p.add_argument(
        "--rate-limit",
        type=_positive(int),
        default=120,
        help="POST /v1/query requests per window per key (default 120)",
    )
    p.add_argument(
        "--rate-window",
        type=_positive(float),
        default=60.0,
        help="rate-limit window in seconds (default 60)",
    )
    p.add_argument(
        "--rate-limit-mode",
        choices=("code", "docs", "off"),
        default="code",
        help="429 behaviour: the API's code (default), the public docs, or off",
    )
    p.add_argument(
        "--result-cache",
        action="store_true",
        help="memoize query results (benchmarks; needs --frozen, answers stay identical)",
    )
    p.add_argument(
        "--api-version",
        choices=API_VERSIONS,
        default=CURRENT_API_VERSION,
        help="API version to serve (default the current one; 2026-04: the previous catalogue "
        "with llm_* and retention_*, no plan gate, no limit on anonymous callers)",
    )
    p.add_argument(
        "--query-cache-seconds",
        type=float,
        default=60.0,
        help="how long a repeated identical query may be answered from the cache (0: off)",
    )
    p.add_argument(
        "--admin",
        action="store_true",
        help="mount the admin routes under /__emulator__/ (clock, faults, stats, object edits; "
        "for tests and benchmarks): off by default, since they change what the API answers",
    )
    p.add_argument(
        "--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug")
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    import uvicorn  # here, not at the top: --help and bad arguments answer without loading it

    from .app import Emulator

    try:
        config = EmulatorConfig(
            seed=args.seed,
            profile=args.profile,
            api_key=args.api_key,
            now=args.now or datetime.now(UTC).replace(microsecond=0),
            frozen=args.frozen,
            history_days=args.history_days,
            extra_websites=max(args.extra_websites, 0),
            rate_limit=args.rate_limit,
            rate_window_seconds=args.rate_window,
            rate_limit_mode=args.rate_limit_mode,
            result_cache=args.result_cache,
            api_version=args.api_version,
            query_cache_seconds=args.query_cache_seconds,
            admin=args.admin,
        )
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    began = time.monotonic()
    emulator = Emulator(config)
    print(
        f"Databuddy emulator (API {config.api_version}): profile {config.profile}, "
        f"seed {config.seed}, virtual now "
        f"{config.now.isoformat()}{' (frozen)' if config.frozen else ''}, data built in "
        f"{time.monotonic() - began:.1f} s",
        flush=True,
    )
    print(
        f"Serving on http://{args.host}:{args.port}  (API key {config.api_key[:9]}…; "
        f"fixtures: GET /__emulator__/fixtures)",
        flush=True,
    )
    try:
        uvicorn.run(
            emulator.app,
            host=args.host,
            port=args.port,
            log_level=args.log_level,
            access_log=args.log_level in ("info", "debug"),
            lifespan="off",
        )
    except OSError as exc:
        print(f"error: cannot serve on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
