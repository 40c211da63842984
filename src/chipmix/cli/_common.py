"""Shared CLI plumbing: consoles, JSON output, the --debug switch."""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console

#: rich console on stderr: logs, progress and solver chatter never touch stdout.
err = Console(stderr=True, emoji=False)
#: rich console on stdout: tables (not used under --json).
out = Console(emoji=False)

state: dict[str, Any] = {"debug": False}


def print_json(obj: Any) -> None:
    """Write ``obj`` as JSON to stdout (and nothing else)."""
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False))
    sys.stdout.write("\n")
    sys.stdout.flush()
