"""Constants and defaults of databuddy-source, in one place."""

from __future__ import annotations

DEFAULT_BASE_URL = "https://api.databuddy.cc"
API_KEY_PREFIX = "dbdy_"
API_KEY_MIN_LENGTH = 10
API_KEY_MAX_LENGTH = 200
SESSION_COOKIE_NAME = "__Secure-databuddy.session_token"
USER_AGENT = "databuddy-source/0.1 (+https://github.com/databuddy-source)"

# Timeouts (seconds). Analytics queries can take long: httpx's 5 s default is far too short.
CONNECT_TIMEOUT = 10.0
READ_TIMEOUT = 120.0
WRITE_TIMEOUT = 30.0
POOL_TIMEOUT = 60.0

# The first day the orchestrators' schedules cover when sources.databuddy.start_date is unset:
# Dagster's first daily partition, the Airflow DAG's first data interval.
FIRST_SCHEDULED_DAY = "2026-01-01"

# POST /v1/query: 120 requests per sliding 60 s per key (docs/api-notes.md).
QUERY_RATE_LIMIT = 120
QUERY_RATE_WINDOW_SECONDS = 60.0

# Retries: attempts per request, and the most a request may spend sleeping between them.
MAX_ATTEMPTS = 8
MAX_RETRY_DELAY_SECONDS = 900.0
BACKOFF_INITIAL_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 60.0
BACKOFF_JITTER_SECONDS = 1.0
# A packed request that keeps failing is split after this many attempts.
SPLIT_AFTER_ATTEMPTS = 3
# A parent (website, link, monitor) that keeps failing is given up for the run (the others go
# on; the run exits 1) after this many failed requests in a row, or once its failures have
# cost this many seconds: the waits between retries (429 waits excepted) and, once it is
# failing, the failed attempts themselves (their read timeout is then cut to what is left).
PARENT_FAILURES_IN_ROW = 3
PARENT_RETRY_SECONDS = 25.0
# The most seconds failures may cost a whole run, however many parents fail.
RUN_RETRY_SECONDS = 180.0
# Extra requests a parent may spend finding the culprit of a refused request (a plan-gated or
# unknown type: one each; an unexplained refusal: bisection) before its slices count as failed.
TRIAGE_REQUESTS_PER_PARENT = 6

# Parameter objects packed into one POST /v1/query (no limit is documented; keep bodies sane).
MAX_PARAMETERS_PER_REQUEST = 100
MAX_LIMIT = 10_000
# Rows one answer may carry (it is decoded whole: ~300-700 bytes a row until it becomes Arrow).
ROWS_PER_REQUEST = 100_000
# Parents (websites, links, monitors) read side by side: hides request latency under the rate
# limit. Memory grows with it: about (CONCURRENCY + 2) answers at once.
CONCURRENCY = 4
# Rows one run reads at most before it stops at a request boundary (a backfill then takes
# several runs, each one load package): bounds the destination's merge memory.
MAX_ROWS_PER_RUN = 1_000_000

# POST /v1/query/custom: its own budget of 60 requests per sliding 60 s per key, apart from
# /v1/query's and shared by every custom report of the key; at most 10,000 groups an answer.
CUSTOM_RATE_LIMIT = 60  # in the same window as QUERY_RATE_LIMIT
CUSTOM_MAX_LIMIT = 10_000
