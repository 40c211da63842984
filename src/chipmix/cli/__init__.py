"""The ``chipmix`` command line.

Sub-commands live in their own modules and register themselves on :data:`app`; heavy modules
(pandas, the solver stack) are imported inside the commands so ``chipmix --help`` stays fast.
User errors (:class:`chipmix.errors.ChipmixError`) print one line and exit 2; ``--debug``
shows the traceback.
"""

from __future__ import annotations

import sys

import typer
from rich.markup import escape

from chipmix.cli._common import err, state
from chipmix.errors import ChipmixError

try:  # typer >= 0.29 vendors click; older typer depends on it
    from typer._click.exceptions import ClickException
except ImportError:  # pragma: no cover
    from click.exceptions import ClickException  # type: ignore[assignment]

app = typer.Typer(
    name="chipmix",
    help="Plan accelerator purchases under export controls: which chips to buy, when, at what cost.",
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
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
    show_version: bool = typer.Option(False, "--version", callback=_print_version,
                                      is_eager=True, help="Print the version and exit."),
) -> None:
    state["debug"] = debug


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
        insight_cmd,
        plan_cmd,
        report_cmd,
        rules_cmd,
        study_cmd,
    )

    for module in (catalog_cmd, rules_cmd, plan_cmd, report_cmd, study_cmd, insight_cmd):
        module.register(app)


_registered = False


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    global _registered
    if not _registered:
        _register()
        _registered = True
    try:
        command = typer.main.get_command(app)
        readable_metavars(command)
        result = command(args=argv, standalone_mode=False)
    except ChipmixError as exc:
        if state.get("debug") or "--debug" in (argv if argv is not None else sys.argv):
            raise
        err.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
        return exc.exit_code
    except typer.Exit as exc:
        return int(getattr(exc, "exit_code", 0) or 0)
    except typer.Abort:
        err.print("aborted")
        return 130
    except ClickException as exc:
        exc.show()
        return exc.exit_code
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    return int(result) if isinstance(result, int) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
