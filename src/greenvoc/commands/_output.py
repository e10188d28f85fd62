"""Output conventions shared by every subcommand.

``--json`` prints one JSON document on stdout and nothing else there; tables, progress bars and
logs go to stderr so scripts can pipe stdout.
"""

from __future__ import annotations

import json
import math
import sys
from typing import Any

from rich.console import Console

#: Human output (tables, progress, warnings). Never stdout: stdout is reserved for --json.
#: Logs and CI capture stderr without a terminal: give tables room instead of rich's 80 columns.
console = Console(stderr=True, width=None if sys.stderr.isatty() else 140)


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def emit_json(document: Any) -> None:
    """Print ``document`` as one JSON object on stdout (NaN/inf become null)."""
    sys.stdout.write(json.dumps(_clean(document), indent=2, sort_keys=False, default=str) + "\n")
    sys.stdout.flush()


def add_json_flag(parser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout, nothing else"
    )


def add_db_flag(parser) -> None:
    parser.add_argument(
        "--db",
        metavar="URL",
        default=None,
        help="results database, an SQLAlchemy URL "
        "(default: sqlite:///greenvoc-results/greenvoc.db in the working directory; "
        "env GREENVOC_DB)",
    )
