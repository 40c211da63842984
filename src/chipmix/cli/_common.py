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


def read_json_file(path, missing: str = "file not found") -> Any:
    """A JSON file's data; every problem is an InputError naming the file (exit 2)."""
    from chipmix.errors import InputError

    if not path.is_file():
        raise InputError(missing, file=path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"not valid JSON ({exc})", file=path) from None
    except RecursionError:
        raise InputError("JSON nested too deeply", file=path, expected="a plan JSON") from None


def print_json(obj: Any) -> None:
    """Write ``obj`` as JSON to stdout (and nothing else)."""
    sys.stdout.write(json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False))
    sys.stdout.write("\n")
    sys.stdout.flush()
