"""The ``chipmix`` command line.

Sub-commands live in their own modules and register themselves on :data:`app`; heavy modules
(pandas, the solver stack) are imported inside the commands so ``chipmix --help`` stays fast.

:func:`main` runs one command as one *run* (``chipmix.io.run_scope``: no output may replace
a file the run read) under the caps of ``--limit`` (``chipmix.limits``), and is the last line
of defence — whatever happens, the user sees one line and a documented exit code:

====  ======================================================================================
0     done (a plan: optimal, or feasible within its gap)
1     no plan (infeasible, no solution in time, ...), a violation found by ``verify``, or no
      variant of a ``sweep`` with a plan
2     bad input, a bad option value, an output chipmix will not write, a cap reached, an
      unusable solver: ``error: ...`` naming the file, key or option and what was expected
3     internal error (a bug): ``internal error: ...; rerun with --debug and report it``
130   interrupted (Ctrl-C); 143 terminated (SIGTERM). No partial output either way: a
      signal before an output is renamed into place leaves none (``...; nothing written``),
      one after it leaves it complete and the message names it (``... after writing X``)
====  ======================================================================================

``--debug`` and ``--limit NAME=N`` are global: accepted before or after the sub-command.
``--debug`` prints the traceback of an error (exit code unchanged).
"""

from __future__ import annotations

import contextlib
import signal
import sys
import threading
import traceback
from collections.abc import Iterator
from typing import Any

import typer

from chipmix.cli._common import err, one_line, state, styled
from chipmix.errors import ChipmixError

try:  # typer >= 0.29 vendors click; older typer depends on it
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException  # type: ignore[assignment]

#: Exit code of an unexpected exception (a bug).
INTERNAL_ERROR = 3
EXIT_CODES = """Exit codes: 0 done; 1 no plan (or a violation, or no sweep variant with a plan);
2 bad input, option, output target or a cap reached; 3 internal error (a bug: rerun with
--debug and report it); 130 interrupted; 143 terminated."""

app = typer.Typer(
    name="chipmix",
    help="Plan accelerator purchases under export controls: which chips to buy, when, at what "
         "cost.\n\n" + EXIT_CODES,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def version() -> str:
    """The installed chipmix's version (package metadata)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as _version

    try:
        return _version("chipmix")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "(source)"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"chipmix {version()}")
        raise typer.Exit(0)


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors "
                                                      "(also accepted after the command)."),
    limit: list[str] | None = typer.Option(
        None, "--limit", metavar="NAME=N",
        help="Raise or lower a cap for this run, e.g. --limit periods=2000 (repeatable; also "
             "accepted after the command). Caps: periods, variants, steps, draws, workers, "
             "set-chars, file-bytes; see docs/SECURITY.md."),
    show_version: bool = typer.Option(False, "--version", callback=_print_version,
                                      is_eager=True, help="Print the version and exit."),
) -> None:
    if debug:
        state["debug"] = True


#: Metavars by click type name, for options that name none ("<int>" reads like code).
METAVARS = {"int": "N", "float": "NUMBER", "str": "TEXT", "bool": ""}


def readable_metavars(command) -> None:
    """Give every parameter of ``command`` and its subcommands a readable metavar.

    None for flags, ``N`` / ``NUMBER`` / ``TEXT`` / ``PATH`` by type (or the choices), an
    argument's own name in upper case with its kind beside it.
    """
    for param in command.params:
        if getattr(param, "is_flag", False) and not getattr(param, "multiple", False):
            if param.metavar is None:
                param.metavar = ""
            continue
        kind = _kind(param)
        if param.param_type_name == "argument":
            if param.metavar is None:
                param.metavar = (param.name or "value").upper()
            # the help table's type column (typer shows '<list[Path]>' there otherwise)
            param.display_type_rich = lambda ctx, kind=kind: kind
        elif param.metavar is None:
            param.metavar = kind
    original = command.get_help_option

    def help_option(ctx, _original=original):  # --help is made on demand: no '<bool>' either
        option = _original(ctx)
        if option is not None and option.metavar is None:
            option.metavar = ""
        return option

    command.get_help_option = help_option
    for sub in getattr(command, "commands", {}).values():
        readable_metavars(sub)


def _kind(param) -> str:
    desc = param.type_descriptor
    if desc.is_choice:
        return "|".join(str(c) for c in desc.choices or ())
    if desc.is_path:
        return "PATH"
    bare = param.bare_type().removeprefix("list[").removesuffix("]")
    return METAVARS.get(bare, bare.upper())


def _register() -> None:
    from chipmix.cli import (
        catalog_cmd,
        hedge_cmd,
        insight_cmd,
        plan_cmd,
        report_cmd,
        rules_cmd,
        study_cmd,
    )

    for module in (catalog_cmd, rules_cmd, plan_cmd, report_cmd, study_cmd, insight_cmd,
                   hedge_cmd):
        module.register(app)


_registered = False


def _global_options(argv: list[str]) -> tuple[list[str], bool, list[str]]:
    """Split the global options off the command line.

    Take ``--debug`` and ``--limit NAME=N`` out of ``argv`` wherever they stand (before a
    ``--``); the rest goes to the command parser.
    """
    rest: list[str] = []
    limits: list[str] = []
    debug = False
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            rest.extend(argv[i:])
            break
        if token == "--debug":
            debug = True
        elif token == "--limit":
            if i + 1 >= len(argv):
                from chipmix.errors import InputError

                raise InputError("missing value", field="--limit", expected="NAME=N, e.g. "
                                                                           "--limit periods=2000")
            limits.append(argv[i + 1])
            i += 1
        elif token.startswith("--limit="):
            limits.append(token.split("=", 1)[1])
        else:
            rest.append(token)
        i += 1
    return rest, debug, limits


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    state["debug"] = False
    state["outputs"] = {}
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        return _run(args)
    except SystemExit:
        raise
    except BaseException as exc:  # the last line of defence: one line, a documented code
        return _exit_code(exc, bool(state.get("debug")) or "--debug" in args)


def _run(args: list[str]) -> int:
    """One command as one run: the global options applied, the inputs and outputs recorded."""
    global _registered
    if not _registered:
        _register()
        _registered = True
    args, debug, limit_texts = _global_options(args)
    state["debug"] = debug
    import chipmix.limits as limits
    from chipmix.io import run_scope

    values = dict(limits.parse_assignment(text) for text in limit_texts)
    with run_scope() as files, limits.using(values), _noting_interrupts() as interrupted:
        state["outputs"] = files.outputs  # read by _stopped when a signal ends the run
        command = typer.main.get_command(app)
        readable_metavars(command)
        result = command(args=args, standalone_mode=False)
    if interrupted:  # typer turned the KeyboardInterrupt into a return value of 130
        err.print(_stopped("interrupted"), highlight=False, soft_wrap=True)
        return 130
    return int(result) if isinstance(result, int) else 0


def _exit_code(exc: BaseException, debug: bool) -> int:
    """The message and exit code of an exception that left a command."""
    from chipmix.processes import Terminated

    if isinstance(exc, ChipmixError):
        return _fail(exc, "error", exc.exit_code, debug)
    if isinstance(exc, typer.Exit):
        return int(getattr(exc, "exit_code", 0) or 0)
    if isinstance(exc, ClickException):
        return _fail(exc, "error", exc.exit_code or 2, debug, usage=True)
    if isinstance(exc, (KeyboardInterrupt, typer.Abort, Terminated)):
        err.print(_stopped("terminated" if isinstance(exc, Terminated) else "interrupted"),
                  highlight=False, soft_wrap=True)
        return exc.exit_code if isinstance(exc, Terminated) else 130
    if isinstance(exc, BrokenPipeError):
        _quiet_stdout()
        return 141  # like a shell pipeline whose reader left (128 + SIGPIPE)
    if isinstance(exc, MemoryError):
        text = "out of memory (a --limit set too high?); rerun with --debug and report it"
    else:
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        text = f"{last}; rerun with --debug and report it"
    return _fail(exc, "internal error", INTERNAL_ERROR, debug, text=text)


def _stopped(word: str) -> str:
    """The one line for a run a signal ended: what it wrote before (complete), or nothing."""
    written = list((state.get("outputs") or {}).values())
    if not written:
        return f"{word}; nothing written"
    names = ", ".join(written)
    return f"{word} after writing {names} (complete); nothing else written"


@contextlib.contextmanager
def _noting_interrupts() -> Iterator[list[int]]:
    """Ctrl-C still raises KeyboardInterrupt, and is noted (typer swallows it)."""
    noted: list[int] = []
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield noted
        return

    def handler(signum: int, frame: Any) -> None:
        noted.append(signum)
        signal.default_int_handler(signum, frame)

    signal.signal(signal.SIGINT, handler)
    try:
        yield noted
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _fail(exc: BaseException | None, label: str, code: int, debug: bool, *,
          text: str | None = None, usage: bool = False) -> int:
    if debug and not usage:
        err.print(traceback.format_exc().rstrip(), highlight=False, soft_wrap=True)
    if text is None:
        text = exc.format_message() if usage else str(exc)  # type: ignore[union-attr]
        if usage:
            command = " ".join(["chipmix", *_subcommands(getattr(exc, "ctx", None))])
            text = f"{text} (see {command} --help)"
    err.print(styled((f"{label}:", "bold red"), " ", one_line(text)), highlight=False,
              soft_wrap=True)
    return code


def _subcommands(ctx: Any) -> list[str]:
    """The subcommand names of a click context (not the root's: argv[0] may be ``-m pytest``)."""
    names: list[str] = []
    while ctx is not None and getattr(ctx, "parent", None) is not None:
        names.append(str(ctx.info_name))
        ctx = ctx.parent
    return names[::-1]


def _quiet_stdout() -> None:
    """Stdout's reader is gone: point fd 1 at /dev/null so the exit flush does not fail."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
