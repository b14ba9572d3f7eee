"""databuddy-source: Databuddy analytics into your warehouse, with dlt.

``databuddy`` is the dlt source (a :class:`DatabuddySource`, whose ``report`` says what its run
did); ``Databuddy`` is the API client; the errors both raise are in
:mod:`databuddy_source.errors`.
"""

from __future__ import annotations

from .client import Databuddy
from .errors import (
    AccessDeniedError,
    APIError,
    AuthenticationError,
    ConfigurationError,
    DatabuddyError,
    FatalError,
    RateLimitedError,
    RetriableError,
    UnreachableError,
    ValidationError,
)
from .retry import RateLimiter, RetryPolicy
from .source import DatabuddySource, databuddy

__all__ = [
    "APIError",
    "AccessDeniedError",
    "AuthenticationError",
    "ConfigurationError",
    "Databuddy",
    "DatabuddyError",
    "DatabuddySource",
    "FatalError",
    "RateLimitedError",
    "RateLimiter",
    "RetriableError",
    "RetryPolicy",
    "UnreachableError",
    "ValidationError",
    "databuddy",
]
