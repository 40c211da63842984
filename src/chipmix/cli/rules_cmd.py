"""``chipmix classify``, ``chipmix timeline`` and ``chipmix rules list|show``.

pandas and the rules engine are imported inside the commands so ``chipmix --help`` stays fast.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from chipmix.cli._common import out, print_json, styled
from chipmix.errors import InputError

STATUS_STYLE = {"allowed": "green", "notify": "cyan", "license": "yellow", "denied": "bold red"}

_CATALOG_HELP = "Bundled catalog name or CSV path (repeatable; default: every bundled catalog)."
_RULES_HELP = (
    "Rule-set id, YAML file or folder, or 'bundled' for every bundled set (repeatable; "
    "default: every bundled rule set)."
)
_PARAM_HELP = "Override a rule parameter, e.g. h20_class_memory_bw_gbps=1700 (repeatable)."


def _date(text: str | None, option: str) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(field=option, value=text, expected="a date YYYY-MM-DD") from None


def _params(items: list[str] | None) -> dict[str, float]:
    params: dict[str, float] = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        try:
            if not sep or not name.strip():
                raise ValueError
            params[name.strip()] = float(value)
        except ValueError:
            raise InputError(field="--param", value=item, expected="name=number") from None
    return params


def _jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars unwrapped, NaN -> None, containers recursed."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        try:
            value = value.item()
        except (TypeError, ValueError):
            pass
    if isinstance(value, float) and math.isnan(value):
        return None
    if value is not None and not isinstance(value, (str, int, float, bool)):
        try:
            import pandas as pd

            if pd.isna(value):
                return None
        except (TypeError, ValueError):
            pass
        return str(value)
    return value


def _num(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "?"
    return f"{float(value):,.{digits}f}"


def _status(name: str) -> Text:
    return Text(name, style=STATUS_STYLE.get(name, ""))


def _terms(fee: float, cap: float | None, issued: bool = True) -> str:
    parts = []
    if not issued:
        parts.append("none issued")
    if fee:
        parts.append(f"+{fee * 100:g} %")
    if cap is not None:
        parts.append(f"cap {cap:,.0f}/q")
    return ", ".join(parts)


def _figure(rec: dict[str, Any], metric: str, digits: int = 0) -> str:
    """A metric for a table: the number, its bound (``<4800``) or ``?``."""
    bound = (rec.get("bounds") or {}).get(metric)
    if rec.get(metric) is None and bound:
        return bound.replace(" ", "")
    return _num(rec.get(metric), digits)


def _release_note(released: bool | None, release: str | None) -> str | None:
    if released is False:
        return f"not on sale until {release}: a status of a part that does not exist yet"
    return None


def classify_cmd(
    catalog: Annotated[
        list[str] | None, typer.Option("--catalog", "-c", help=_CATALOG_HELP)
    ] = None,
    rules: Annotated[list[str] | None, typer.Option("--rules", "-r", help=_RULES_HELP)] = None,
    at: Annotated[
        str | None, typer.Option("--at", help="Day to classify on, YYYY-MM-DD (default: today).")
    ] = None,
    home: Annotated[str, typer.Option("--home", help="The buyer's market (ISO code).")] = "CN",
    buyer: Annotated[
        str, typer.Option("--buyer", help="Buyer type: private, state_funded, soe, ...")
    ] = "private",
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help=_PARAM_HELP)] = None,
    unknown: Annotated[
        str,
        typer.Option(
            "--unknown", help="How a control on an empty catalog cell counts: strict | lenient."
        ),
    ] = "strict",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (a list of SKUs) instead of a table.")
    ] = False,
) -> None:
    """Export-control status of every SKU on one day, with the rule and threshold behind it."""
    from chipmix.rules.classify import classify, records

    day = _date(at, "--at") or dt.date.today()
    frame = classify(
        catalogs=catalog or None,
        rules=rules or None,
        at=day,
        home=home,
        buyer=buyer,
        params=_params(param),
        unknown_policy=unknown,  # type: ignore[arg-type]
    )
    if as_json:
        print_json(_jsonable(records(frame)))
        return
    attrs = frame.attrs
    wide = out.width >= 140  # I/O and memory-bandwidth columns only when there is room
    table = Table(
        title=f"Export-control status on {attrs['at']} — market {attrs['home']}, buyer "
        f"{attrs['buyer']}, unknown {attrs['unknown_policy']}",
        title_justify="left",
    )
    table.add_column("SKU", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for name in ("TPP", "PD", *(("I/O GB/s", "mem GB/s") if wide else ())):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("why (deciding control; nearest threshold)", ratio=1)
    for rec in records(frame):
        decisive = next(
            (
                r
                for r in reversed(rec["reasons"])
                if r["rule"] == rec["rule"] and r["control"] == rec["control"]
            ),
            None,
        )
        status = _status(rec["status"])
        terms = _terms(rec["fee"] or 0.0, rec["cap"], rec.get("issued", True))
        if terms:
            status.append(f" {terms}")
        lines = []
        note = _release_note(rec.get("released"), rec.get("release"))
        if note:
            status.append("\npre-release", style="dim")
            lines.append(note)
        if decisive:
            lines.append(f"{rec['rule']} / {rec['control']}: {decisive['detail']}")
        if rec["unknown"]:
            lines.append("unknown: " + ", ".join(rec["unknown"]))
        if rec["margin"]:
            lines.append(f"nearest: {rec['margin']}")
        numbers = [_figure(rec, "tpp"), _figure(rec, "performance_density", 2)]
        if wide:
            numbers += [_figure(rec, "io_gbps"), _figure(rec, "memory_bw_gbps")]
        table.add_row(str(rec["sku"]), status, *numbers, "\n".join(lines))
    out.print(table)
    in_force = ", ".join(attrs["rules_in_force"]) or "none"
    out.print(f"rule sets in force: {in_force}", highlight=False)
    from chipmix.rules.ruleset import floor_text

    for f in attrs.get("share_floors") or []:
        text = f"{f['rule']} / {f['id']}: {floor_text(f['floor'], f['of'], f['basis'])}"
        out.print(f"domestic-share floor: {text}", highlight=False)
    if attrs["params"]:
        shown = ", ".join(f"{k}={v:g}" for k, v in sorted(attrs["params"].items()))
        out.print(f"parameters: {shown}", highlight=False)


def timeline_cmd(
    skus: Annotated[list[str], typer.Argument(help="SKU ids from the catalogs.")],
    start: Annotated[
        str | None, typer.Option("--from", help="First day, YYYY-MM-DD (default 2022-01-01).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="Last day, YYYY-MM-DD, inclusive (default: today).")
    ] = None,
    catalog: Annotated[
        list[str] | None, typer.Option("--catalog", "-c", help=_CATALOG_HELP)
    ] = None,
    rules: Annotated[list[str] | None, typer.Option("--rules", "-r", help=_RULES_HELP)] = None,
    home: Annotated[str, typer.Option("--home", help="The buyer's market (ISO code).")] = "CN",
    buyer: Annotated[
        str, typer.Option("--buyer", help="Buyer type: private, state_funded, soe, ...")
    ] = "private",
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help=_PARAM_HELP)] = None,
    unknown: Annotated[str, typer.Option("--unknown", help="strict | lenient")] = "strict",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """How each SKU's status changed over time, and why."""
    from chipmix.rules.classify import load_frame
    from chipmix.rules.ruleset import load_rulesets
    from chipmix.rules.timeline import Timeline

    first = _date(start, "--from") or dt.date(2022, 1, 1)
    last = _date(end, "--to") or dt.date.today()
    if last < first:
        raise InputError(
            field="--to",
            value=last.isoformat(),
            expected=f"a date on or after --from {first.isoformat()}",
        )
    timeline = Timeline(
        load_rulesets(rules or None),
        load_frame(catalog or None),
        home=home,
        buyer=buyer,
        unknown_policy=unknown,  # type: ignore[arg-type]
        params=_params(param),
    )
    stop = last + dt.timedelta(days=1)
    result = [_timeline_item(timeline, sku, first, stop) for sku in skus]
    floors = [
        {"from": a.isoformat(), "until": b.isoformat(), "floors": [f.to_dict() for f in fl]}
        for a, b, fl in timeline.floor_segments(first, stop)
    ]
    if as_json:
        # the buyer's floors are not per SKU, but each item carries them so the list stays a list
        for item in result:
            item["share_floors"] = floors if any(seg["floors"] for seg in floors) else []
        print_json(_jsonable(result))
        return
    for item in result:
        _print_timeline(item, timeline)
    if any(seg["floors"] for seg in floors):
        _print_floors(floors, timeline)


def _timeline_item(timeline: Any, sku: str, first: dt.date, stop: dt.date) -> dict[str, Any]:
    """One SKU's segments (split at its release) and dated changes, as plain data."""
    segments = _split_at_release(
        timeline.segments(sku, first, stop, by_reason=True), timeline.release(sku)
    )
    release = timeline.release(sku)
    return {
        "sku": sku,
        "release": release.isoformat() if release else None,
        "segments": [
            {
                "from": a.isoformat(),
                "until": b.isoformat(),
                "released": None if release is None else a >= release,
                **d.to_dict(),
            }
            for a, b, d in segments
        ],
        "changes": [c.to_dict() for c in timeline.changes(sku, first, stop)],
    }


def _print_timeline(item: dict[str, Any], timeline: Any) -> None:
    """One SKU's segments as a table: from, until, status with terms, why."""
    table = Table(
        title=f"{item['sku']} — market {timeline.home}, buyer {timeline.buyer}",
        title_justify="left",
    )
    table.add_column("from", no_wrap=True)
    table.add_column("until", no_wrap=True)
    table.add_column("status")
    table.add_column("why")
    for seg in item["segments"]:
        status = _status(seg["status"])
        terms = _terms(seg["fee"] or 0.0, seg["cap"], seg.get("issued", True))
        if terms:
            status.append(f" ({terms})")
        if seg.get("released") is False:
            status.append("\npre-release", style="dim")
        until = (dt.date.fromisoformat(seg["until"]) - dt.timedelta(days=1)).isoformat()
        table.add_row(seg["from"], until, status, _why(seg, item) or "no control applies")
    out.print(table)


def _why(seg: dict[str, Any], item: dict[str, Any]) -> Text:
    """The deciding reason, then the other controls that applied (dimmed)."""
    lines = [
        f"{r['rule']} / {r['control']}: {r['detail']}"
        for r in seg["reasons"]
        if (r["rule"], r["control"]) == (seg["rule"], seg["control"])
    ][-1:]
    if seg.get("released") is False:
        lines.insert(0, f"before its release ({item['release']}): not yet on sale")
    why = Text("\n".join(lines))
    for r in seg["reasons"]:
        if (r["rule"], r["control"]) != (seg["rule"], seg["control"]):
            why.append("\n" if why else "")
            why.append(f"also {r['rule']} / {r['control']} ({r['status']}): {r['detail']}",
                       style="dim")
    return why


def _print_floors(floors: list[dict[str, Any]], timeline: Any) -> None:
    """The buyer's domestic-share floors over time."""
    from chipmix.rules.ruleset import floor_text

    table = Table(
        title=f"domestic-share floors — market {timeline.home}, buyer {timeline.buyer}",
        title_justify="left",
    )
    table.add_column("from", no_wrap=True)
    table.add_column("until", no_wrap=True)
    table.add_column("floors (rule / floor: share of what, basis)")
    for seg in floors:
        until = (dt.date.fromisoformat(seg["until"]) - dt.timedelta(days=1)).isoformat()
        text = "\n".join(
            f"{f['rule']} / {f['id']}: {floor_text(f['floor'], f['of'], f['basis'])}"
            for f in seg["floors"]
        )
        table.add_row(seg["from"], until, text or "none")
    out.print(table)


def _split_at_release(segments: list, release: dt.date | None) -> list:
    """Split the segment that contains the release date, so pre-release runs stand apart."""
    if release is None:
        return segments
    out = []
    for a, b, d in segments:
        if a < release < b:
            out.extend([(a, release, d), (release, b, d)])
        else:
            out.append((a, b, d))
    return out


def list_cmd(
    rules: Annotated[list[str] | None, typer.Option("--rules", "-r", help=_RULES_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """List rule sets (bundled by default) with their dates, markets and confidence."""
    from chipmix.rules.ruleset import load_rulesets

    sets = sorted(load_rulesets(rules or None), key=lambda rs: (rs.effective, rs.id))
    rows: list[dict[str, Any]] = [
        {
            "id": rs.id,
            "title": rs.title,
            "authority": rs.authority,
            "announced": rs.announced.isoformat() if rs.announced else None,
            "effective": rs.effective.isoformat(),
            "until": rs.until.isoformat() if rs.until else None,
            "replaces": list(rs.replaces),
            "applies_to": list(rs.applies_to),
            "confidence": rs.confidence,
            "controls": len(rs.controls),
            "domestic_share": len(rs.domestic_share),
            "params": sorted(rs.params),
            "path": str(rs.path) if rs.path else None,
        }
        for rs in sets
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title="Rule sets", title_justify="left")
    table.add_column("id / title", ratio=1, overflow="fold")
    table.add_column("effective", no_wrap=True)
    table.add_column("by", no_wrap=True)
    table.add_column("markets", no_wrap=True)
    table.add_column("confidence", no_wrap=True)
    for r in rows:
        announced = r["announced"] and r["announced"] != r["effective"]
        table.add_row(
            styled((r["id"], "bold"), "\n", (r["title"], "dim")),
            styled(r["effective"],
                   (f"\nannounced {r['announced']}" if announced else "", "dim"),
                   f"\nuntil {r['until']}" if r["until"] else ""),
            r["authority"],
            ",".join(r["applies_to"]),
            r["confidence"],
        )
    out.print(table)


def show_cmd(
    rule: Annotated[
        str, typer.Argument(metavar="ID", help="A bundled rule-set id or a YAML path.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")] = False,
) -> None:
    """Show one rule set: dates, markets, parameters, controls and sources."""
    from chipmix.rules.ruleset import load_rulesets

    (rs,) = load_rulesets([rule])
    data = rs.to_dict()
    if as_json:
        print_json(_jsonable(data))
        return
    out.print(styled((rs.id, "bold"), f" — {rs.title}"))
    until = f" until {rs.until.isoformat()}" if rs.until else ""
    announced = f"announced {rs.announced.isoformat()}; " if rs.announced else ""
    out.print(
        f"authority {rs.authority}; {announced}effective {rs.effective.isoformat()}{until}; "
        f"markets {', '.join(rs.applies_to)}; confidence {rs.confidence}",
        highlight=False,
    )
    if rs.replaces:
        out.print(f"replaces: {', '.join(rs.replaces)}", highlight=False)
    if rs.items is not None:
        out.print(f"governs SKUs where: {rs.items.text()}", highlight=False)
    if rs.notes:
        out.print(rs.notes, highlight=False)
    if rs.params:
        table = Table(title="parameters", title_justify="left")
        table.add_column("name", no_wrap=True)
        for col in ("default", "unit", "confidence"):
            table.add_column(col, no_wrap=True)
        table.add_column("description", ratio=1, overflow="fold")
        for p in rs.params.values():
            table.add_row(
                p.name,
                f"{p.default:g}",
                p.unit or "",
                p.confidence or "",
                p.description or "",
            )
        out.print(table)
    table = Table(title="controls", title_justify="left")
    table.add_column("id", overflow="fold")
    for col in ("status", "mode", "terms"):
        table.add_column(col, no_wrap=True)
    table.add_column("buyers", overflow="fold")
    table.add_column("condition", ratio=1, overflow="fold")
    for c in rs.controls:
        table.add_row(
            c.id,
            _status(c.status.name),
            c.mode,
            _terms(c.fee or 0.0, c.cap, c.issued),
            ", ".join(c.buyers) if c.buyers else "all",
            c.when.text(),
        )
    if rs.controls:
        out.print(table)
    elif not rs.domestic_share:
        out.print("no controls (see notes)")
    if rs.domestic_share:
        table = Table(title="domestic-share floors", title_justify="left")
        table.add_column("id", overflow="fold")
        for col in ("floor", "of", "basis"):
            table.add_column(col, no_wrap=True)
        table.add_column("buyers", overflow="fold")
        table.add_column("notes", ratio=1, overflow="fold")
        for f in rs.domestic_share:
            table.add_row(
                f.id,
                f"{f.floor * 100:g} %",
                f.of,
                f.basis,
                ", ".join(f.buyers) if f.buyers else "all",
                f.notes or "",
            )
        out.print(table)
    out.print("sources:")
    for s in rs.sources:
        out.print(f"  {s}", highlight=False, soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``classify``, ``timeline`` and the ``rules`` sub-app to the chipmix app."""
    app.command("classify")(classify_cmd)
    app.command("timeline")(timeline_cmd)
    rules_app = typer.Typer(
        name="rules", help="Export-control rule sets: list and show.", no_args_is_help=True
    )
    rules_app.command("list")(list_cmd)
    rules_app.command("show")(show_cmd)
    app.add_typer(rules_app, name="rules")
