"""How ``databuddy-sync`` ends when a run fails: one exit code and one line naming the problem
and the fix (the exit codes are listed in :mod:`databuddy_source.cli`)."""

from __future__ import annotations

import argparse
import sys

from . import EXIT_API, EXIT_AUTH, EXIT_BUSY, EXIT_DESTINATION, EXIT_INPUT
from .destination import DestinationUnavailable


def explain(args: argparse.Namespace, exc: Exception) -> tuple[int, str]:
    """The exit code and the message of a failed run."""
    from dlt.pipeline.exceptions import PipelineStepFailed

    from ..errors import APIError, ConfigurationError

    cause: BaseException = exc
    if isinstance(exc, PipelineStepFailed):  # dlt wraps what a step raised: find our error
        cause = exc.__cause__ or exc
        while cause.__cause__ is not None and not isinstance(cause, APIError | ConfigurationError):
            cause = cause.__cause__
    found = _api_failure(cause) or _setup_failure(args, cause)
    if found is not None:
        return found
    if isinstance(exc, PipelineStepFailed):
        return EXIT_DESTINATION, (
            f"the {exc.step} step failed: {cause}. Check the destination (its credentials, "
            "e.g. DESTINATION__POSTGRES__CREDENTIALS, and that it is running and writable); "
            "what did not load is retried by the next run"
        )
    return EXIT_DESTINATION, f"{type(exc).__name__}: {exc}"


def _api_failure(cause: BaseException) -> tuple[int, str] | None:
    from ..errors import (
        AccessDeniedError,
        APIError,
        AuthenticationError,
        RetriableError,
        UnreachableError,
    )

    if isinstance(cause, AuthenticationError | AccessDeniedError):
        return EXIT_AUTH, (
            f"{cause}. Check the API key (SOURCES__DATABUDDY__API_KEY or api_key in "
            ".dlt/secrets.toml) and that it has read:data on these websites"
        )
    if isinstance(cause, UnreachableError):
        return EXIT_API, (
            f"the Databuddy API could not be reached: {cause.message}. Check base_url "
            "(--base-url, SOURCES__DATABUDDY__BASE_URL) and the network; nothing was written"
        )
    if isinstance(cause, RetriableError):
        return EXIT_API, f"the Databuddy API could not be reached: {cause}"
    if isinstance(cause, APIError):
        return EXIT_API, str(cause)
    return None


def _setup_failure(args: argparse.Namespace, cause: BaseException) -> tuple[int, str] | None:
    from dlt.common.configuration.exceptions import ConfigFieldMissingException
    from dlt.common.destination.exceptions import UnknownDestinationModule

    from ..errors import ConfigurationError
    from ..locking import PipelineBusy

    if isinstance(cause, PipelineBusy):
        return EXIT_BUSY, str(cause)
    if isinstance(cause, ConfigurationError):
        return EXIT_INPUT, str(cause)
    if isinstance(cause, DestinationUnavailable):
        return EXIT_DESTINATION, str(cause)
    if isinstance(cause, UnknownDestinationModule):
        return EXIT_INPUT, (
            f"unknown destination {args.destination!r}: use duckdb, postgres, or another dlt "
            "destination name (bigquery, snowflake, motherduck, clickhouse, filesystem, ...)"
        )
    if isinstance(cause, ConfigFieldMissingException):
        if "api_key" in cause.fields:
            return EXIT_INPUT, (
                "no API key: set SOURCES__DATABUDDY__API_KEY or api_key in .dlt/secrets.toml "
                "under [sources.databuddy] (databuddy-sync init writes that file; or try --demo)"
            )
        kind = args.destination or "duckdb"
        return EXIT_INPUT, (
            f"no {', '.join(cause.fields)} for the {kind} destination: set "
            f"DESTINATION__{kind.upper()}__CREDENTIALS or [destination.{kind}] credentials in "
            ".dlt/secrets.toml"
        )
    return None


def fail(debug: bool, code: int, message: str, exc: BaseException) -> int:
    """Print the message (and with ``debug`` the traceback); the exit code."""
    print(f"error: {message}", file=sys.stderr)
    if debug:
        import traceback

        traceback.print_exception(exc)
    else:
        print("(run with --debug for the traceback)", file=sys.stderr)
    return code
