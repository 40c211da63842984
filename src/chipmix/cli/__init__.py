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


@app.callback()
def _root(
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks for errors."),
) -> None:
    state["debug"] = debug


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
        result = app(args=argv, standalone_mode=False)
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
