"""The installed commands: ``databuddy-sync`` (with ``databuddy-sync init``),
``databuddy-report`` and ``databuddy-emulator``.

Exit codes, shared by the commands (``databuddy-report`` uses 0, 2 and 4):

* 0 done
* 1 done, but some slices failed (listed on stderr and in ``sync_log``; the next run retries them)
* 2 bad input or configuration, found before any request (an option, the API key's shape, a
  DuckDB path in a folder that does not exist, a file that exists already for ``init``)
* 3 authentication or access refused by the API
* 4 the destination failed or refused (credentials, a file it cannot open or write, a load)
* 5 the API could not be reached (refused, unknown host) or kept failing
* 6 another sync of the same pipeline is running (``--wait`` queues behind it instead)
* 130 interrupted
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_PARTIAL = 1
EXIT_INPUT = 2
EXIT_AUTH = 3
EXIT_DESTINATION = 4
EXIT_API = 5
EXIT_BUSY = 6
EXIT_INTERRUPTED = 130

EXIT_CODES_TEXT = (
    "Exit codes: 0 done; 1 done, but some slices failed (see the sync_log table); 2 bad input or "
    "configuration; 3 authentication or access refused; 4 the destination failed; 5 the API could "
    "not be reached; 6 another sync of the same pipeline is running (see --wait); 130 interrupted."
)
