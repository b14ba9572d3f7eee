"""The daily Databuddy sync, from a checkout: the same command as the installed
``databuddy-sync`` (databuddy_source/cli/sync.py), with ``init`` for the .dlt/ files.

  python pipelines/daily_sync.py --help
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # runnable as a script from a checkout
    sys.path.insert(0, str(ROOT))

from databuddy_source.cli.sync import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
