r"""Shared CLI plumbing: the two consoles, escaping, JSON output, the --debug switch.

Every byte the CLI prints to a terminal goes through :data:`out` or :data:`err`, two
:class:`SafeConsole` objects that make text from inputs harmless:

- **no markup**: the consoles never interpret ``[bold]``/``[/x]`` in any string, so a scenario,
  workload, vendor or file name is printed as written (and cannot end in a ``MarkupError``).
  Our own styling uses :func:`styled` (``rich.text.Text`` parts with a style) or ``style=``;
- **no terminal control**: every control or invisible formatting character in printed text
  (ESC, BEL, CR, C1 controls such as CSI, bidi overrides, zero-width characters, lone
  surrogates from undecodable file names) is shown as a visible escape (``\x1b``,
  ``\u202e``) by :func:`clean`, applied to each rendered segment, so an input can neither
  retitle nor clear the terminal nor reorder what it shows. rich's own styling codes are not
  affected.

Use ``out.print(...)`` / ``err.print(...)`` (never ``print``, ``typer.echo`` or
``sys.stdout.write``), except :func:`print_json` and :func:`write_stdout` for machine output.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.segment import Segment
from rich.text import Text

#: Characters shown as escapes: C0 controls but tab and newline, DEL and C1 controls, and
#: invisible formatting characters (soft hyphen, Arabic letter mark, zero-width and bidi
#: controls, line/paragraph separators, BOM, interlinear annotations), lone surrogates.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u206f\ufeff\ufff9-\ufffb\ud800-\udfff]"
)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def clean(text: str) -> str:
    r"""Show control and invisible formatting characters as escapes.

    ``text`` with every control and invisible formatting character (but tab and newline)
    replaced by a visible escape: ``"a\x1b]0;t\x07"`` → ``"a\\x1b]0;t\\x07"``.
    """
    return _UNSAFE.sub(_escape, str(text))


def one_line(text: str) -> str:
    r""":func:`clean` and newlines shown as ``\n`` (for one-line messages)."""
    return clean(str(text)).replace("\n", "\\n").replace("\t", " ")


def styled(*parts: str | tuple[str, str]) -> Text:
    """A line from plain parts and ``(text, style)`` parts; no part is read as markup."""
    return Text.assemble(*parts)


class SafeConsole(Console):
    """A rich console that prints text from inputs harmlessly.

    A rich console that prints no markup and no control characters from text (module
    docstring).
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("markup", False)
        kwargs.setdefault("emoji", False)
        super().__init__(**kwargs)

    def _render_buffer(self, buffer: Iterable[Segment]) -> str:
        return super()._render_buffer(
            segment if segment.control else Segment(clean(segment.text), segment.style)
            for segment in buffer
        )


#: rich console on stderr: logs, progress and solver chatter never touch stdout.
err = SafeConsole(stderr=True)
#: rich console on stdout: tables (not used under --json).
out = SafeConsole()

state: dict[str, Any] = {"debug": False}


def write_stdout(text: str) -> None:
    """Machine output (JSON, CSV) to stdout as it is, flushed."""
    sys.stdout.write(text)
    sys.stdout.flush()


def read_json_file(path, missing: str = "file not found") -> Any:
    """Read a JSON input file.

    A JSON file's data by :func:`chipmix.io.read_json` (bounded, strict; every problem an
    InputError naming the file: exit 2). ``missing``: the message for a missing file.
    """
    from chipmix.errors import InputError
    from chipmix.io import input_exists, read_json

    if not input_exists(path):
        raise InputError(missing, file=path)
    return read_json(path)


def print_json(obj: Any) -> None:
    """Write ``obj`` as JSON to stdout (and nothing else)."""
    write_stdout(json.dumps(obj, indent=2, ensure_ascii=False, allow_nan=False) + "\n")


def output_path(value: str) -> Path:
    """Parse an output option's value.

    The parser of every output option (``-o``, ``--chart``, ``--write-lp``, ...): a path,
    but never an empty one (``Path("")`` would silently mean the current folder).
    """
    import typer

    if isinstance(value, Path):
        return value
    if value is None or not str(value).strip():
        raise typer.BadParameter("empty file name; name the file to write")
    if str(value).endswith(("/", os.sep)):  # Path() would drop the slash
        raise typer.BadParameter(f"{value}: names a folder (it ends with /); give a file name")
    return Path(value)


def wrote(path: Any) -> None:
    """The one "wrote FILE" message on stderr."""
    err.print(f"wrote {path}", highlight=False, soft_wrap=True)


__all__ = ["SafeConsole", "clean", "err", "one_line", "out", "output_path", "print_json",
           "state", "styled", "write_stdout", "wrote"]
