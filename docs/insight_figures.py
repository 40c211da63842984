"""The figures of docs/insight.md's worked example (section 5), made by the code.

    python docs/insight_figures.py            # print the generated blocks
    python docs/insight_figures.py --write    # rewrite them in docs/insight.md
    python docs/insight_figures.py --check    # exit 1 when docs/insight.md is out of date

The worked example quotes no hand-typed number: every figure of it sits in a block between
``<!-- figures:NAME -->`` and ``<!-- /figures:NAME -->`` that this script renders from what
chipmix computes on the bundled default, ``examples/rush-before-ban.yaml``:

- ``plan``: the plan (``chipmix plan``);
- ``explain``: its sensitivity with whole steps re-planned (``chipmix plan --explain``);
- ``substitute``: ``chipmix substitute nvidia-h800``;
- ``alternatives``: ``chipmix alternatives --slack 0.03 --maximize domestic_share``;
- ``stress``: ``chipmix stress`` of the plan under ``examples/rush-before-ban-risks.yaml``
  (500 draws, seed 1): minutes of MILP re-solves, so only with ``--stress``.

``tests/test_insight_doc.py`` re-renders the blocks other than ``stress`` (marked slow: the
whole steps are about thirty MILP re-solves) and fails when the page differs, so a change of
catalog, rules or model that moves a figure also moves the page (``--write``) — deliberately.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "insight.md"
DEFAULT = ROOT / "examples" / "rush-before-ban.yaml"
RISKS = ROOT / "examples" / "rush-before-ban-risks.yaml"
BLOCK = re.compile(r"(<!-- figures:(?P<name>[a-z]+) -->\n)(?P<body>.*?)(<!-- /figures:(?P=name) -->)",
                   re.S)


# -- number formats ----------------------------------------------------------------------------


def usd(v: float | None) -> str:
    """Whole USD with thousands separators; ``—`` for none."""
    return "—" if v is None else f"{v:,.0f}"


def musd(v: float) -> str:
    """Millions of USD, two decimals."""
    return f"{v / 1e6:,.2f} M"


def amount(v: float | None) -> str:
    """A quantity with 3 significant digits (``0.0812``, ``12.3``, ``1,234``)."""
    if v is None:
        return "—"
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.3g}"


def pct(v: float | None, digits: int = 1) -> str:
    """A fraction as a signed percentage."""
    return "—" if v is None else f"{100 * v:+.{digits}f} %"


def holds_for(row: dict[str, Any]) -> str:
    """How far up the marginal figure holds (in the input's units)."""
    if row.get("value") is None:
        return "—"
    if row.get("range_high") is None:
        return "+∞"
    return "+" + amount(row["range_high"] - row["value"])


def step_usd(row: dict[str, Any], sign: float = 1.0) -> str:
    """The whole step's cost, or why there is none."""
    if row.get("step_usd") is None:
        return "not re-solved" if row.get("step") else "—"
    return usd(sign * row["step_usd"])


def ratio(row: dict[str, Any], field: str) -> str:
    """Whole step ÷ (marginal × step size): how far the marginal figure is off."""
    marginal, step, size = row.get(field), row.get("step_usd"), row.get("step")
    if not marginal or step is None or not size or abs(marginal * size) < 1e-9:
        return "—"
    return f"{step / (marginal * size):,.3g}×"


def table(head: list[str], rows: list[list[str]]) -> str:
    """A markdown table (numbers right-aligned by the caller's choice of columns)."""
    out = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    out += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(out) + "\n"


# -- the blocks ---------------------------------------------------------------------------------


def plan_block(plan: dict[str, Any]) -> str:
    """What the default plan buys, what it costs and where the share stands."""
    cost = plan["cost"]
    per_sku: dict[str, list[str]] = {}
    for r in plan["purchases"]:
        days = "" if r.get("from", "")[5:] in ("", "01-01", "04-01", "07-01", "10-01") and \
            r.get("until", "")[5:] in ("", "03-31", "06-30", "09-30", "12-31") else \
            f" ({r['from']} to {r['until']})"
        per_sku.setdefault(r["sku"], []).append(f"{r['units']:,} in {r['period']}{days}")
    ported = ", ".join(f"{p['workload']} to {p['vendor']}" for p in plan["ported"]) or "none"
    lines = [
        f"Status **{plan['status']}**: **{musd(plan['objective'])} USD** discounted "
        f"({musd(cost['total'])} nominal: capex {musd(cost['capex'])}, energy "
        f"{musd(cost['energy'])}, porting {musd(cost['porting'])}, shortfall penalty "
        f"{musd(cost['shortfall'])}). Porting: {ported}.",
        "",
        table(["SKU", "cards bought"], [[k, "; ".join(v)] for k, v in sorted(per_sku.items())]),
        "Domestic share per period (" + ", ".join(
            f"{r['period']} {100 * r['domestic']:.1f} %" for r in plan["shares"]) + ").",
    ]
    return "\n".join(lines) + "\n"


def _sliver_count(rows: list[dict[str, Any]]) -> int:
    return sum(1 for r in rows if "sliver" in (r.get("note") or ""))


def explain_block(plan: dict[str, Any]) -> str:
    """Demand, share, supply and break-even figures, each marginal beside its whole step."""
    s = plan["sensitivity"]
    out: list[str] = []
    demand = [r for r in s["demand"] if r["usd_per_unit"] or r.get("step_usd")]
    out.append(f"**Demand** ({len(s['demand'])} rows, {_sliver_count(s['demand'])} of them "
               "marked *sliver*; USD per metric unit, discounted):\n\n")
    out.append(table(
        ["period", "workload", "marginal", "holds for", "+1 unit re-planned", "step ÷ marginal"],
        [[r["period"], r["workload"], usd(r["usd_per_unit"]), holds_for(r), step_usd(r),
          ratio(r, "usd_per_unit")] for r in demand]))
    share = s["domestic_share"]
    out.append(f"\n**Domestic share** ({len(share)} rows, {_sliver_count(share)} *sliver*; USD "
               "per percentage point):\n\n")
    out.append(table(
        ["period", "required", "marginal", "holds for (points)", "+1 point re-planned",
         "step ÷ marginal"],
        [[r["period"], f"{amount(r['value'])} %", usd(r["usd_per_point"]), holds_for(r),
          step_usd(r), ratio(r, "usd_per_point")] for r in share]))
    supply = [r for r in s["supply"] if r["usd_per_unit"] or r.get("step_usd")]
    out.append(f"\n**Supply**: {len(supply)} of {len(s['supply'])} purchase tranches where more "
               "supply is worth something (USD saved):\n\n")
    out.append(table(
        ["period", "SKU", "days", "per card", "holds for (cards)", "+1 server re-planned"],
        [[r["period"], r["sku"], f"{r['from']} to {r['until']}", usd(-r["usd_per_unit"]),
          holds_for(r), step_usd(r, -1.0)] for r in supply]))
    out.append("\n**Break-even prices** (USD per card):\n\n")
    out.append(table(
        ["SKU", "bought", "period", "price", "break-even", "change", "note"],
        [[r["sku"], "yes" if r["bought"] else "no", r["period"], f"{r['unit_price']:,.2f}",
          "null" if r["break_even_price"] is None else f"{r['break_even_price']:,.2f}",
          pct(r["change"]), r.get("note") or ""] for r in s["break_even"]]))
    return "".join(out)


def substitute_block(sub: dict[str, Any]) -> str:
    """What replaces the H800 on the first day it cannot be bought."""
    rows = [*sub["replaced"], *(r for r in sub["substitutes"] if r["buyable"])]
    others: dict[str, list[str]] = {}
    for r in sub["substitutes"]:
        if not r["buyable"]:
            others.setdefault(r["workload"], []).append(f"{r['sku']} ({r['status']})")
    rest = "".join(f"- not buyable then for {w}: {', '.join(v)}\n" for w, v in others.items())
    return (f"On {sub['date']} ({sub['period']}): {sub['date_note']}.\n\n" + table(
        ["workload", "SKU", "cards per H800", "USD per card", "USD per metric unit",
         "W per metric unit", "status", "supply"],
        [[r["workload"], r["sku"], amount(r["units_per_unit"]), usd(r["unit_price"]),
          usd(r["usd_per_metric_unit"]), usd(r["watts_per_metric_unit"]), str(r["status"]),
          amount(r["supply"])] for r in rows]) + "\n" + rest)


def alternatives_block(alt: dict[str, Any], plan: dict[str, Any]) -> str:
    """The most domestic plan within 3 % of the optimum, beside the optimum."""
    other = alt["plan"]
    base = {r["period"]: r["domestic"] for r in plan["shares"]}
    shares = [[r["period"], f"{100 * base.get(r['period'], 0.0):.1f} %",
               f"{100 * r['domestic']:.1f} %"] for r in other["shares"]]
    buys: dict[str, list[str]] = {}
    for r in other["purchases"]:
        buys.setdefault(r["sku"], []).append(f"{r['units']:,} in {r['period']}")
    goals = "".join(
        f"- {g['sense']} {g['target']} ({g['measure']}): {amount(g['optimal'])} in the optimum, "
        f"{amount(g['alternative'])} here ({pct(g['alternative'] / g['optimal'] - 1.0, 0)})\n"
        for g in alt["objectives"] if g.get("optimal"))
    head = (f"Cost **{musd(alt['cost'])} USD** discounted ({pct(alt['cost_increase'], 2)}; "
            f"optimum {musd(alt['optimum'])}, limit {musd(alt['limit'])}).\n\n{goals}\n")
    return (head + table(["SKU", "cards bought"], [[k, "; ".join(v)]
                                                   for k, v in sorted(buys.items())])
            + "\n" + table(["period", "domestic share, optimum", "most domestic within 3 %"],
                           shares))


def stress_block(st: dict[str, Any]) -> str:
    """The stress test's summary table, as ``chipmix stress --json`` gives it."""
    summary = {k: v for k, v in st.items() if k not in ("draws", "per_draw")}
    return "```json\n" + json.dumps(summary, indent=1, ensure_ascii=False) + "\n```\n"


# -- computing them -----------------------------------------------------------------------------


def compute(names: list[str], workers: int = 2, draws: int = 500) -> dict[str, str]:
    """Render the named blocks from fresh runs of chipmix on the bundled default."""
    from chipmix.inputs.scenario import load_scenario
    from chipmix.planner import plan as make_plan

    scenario = load_scenario(DEFAULT)
    explained = make_plan(scenario, sensitivity="explain" in names, workers=workers)
    plan = json.loads(explained.to_json())
    out: dict[str, str] = {}
    if "plan" in names:
        out["plan"] = plan_block(plan)
    if "explain" in names:
        out["explain"] = explain_block(plan)
    if "substitute" in names:
        out["substitute"] = substitute_block(_cli("substitute", "nvidia-h800", str(DEFAULT)))
    if "alternatives" in names:
        alt = _cli("alternatives", str(DEFAULT), "--slack", "0.03", "--maximize",
                   "domestic_share")
        out["alternatives"] = alternatives_block(alt, plan)
    if "stress" in names:
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "plan.json"
            path.write_text(json.dumps({k: v for k, v in plan.items() if k != "sensitivity"}),
                            encoding="utf-8")
            out["stress"] = stress_block(_cli("stress", str(path), str(RISKS), "--draws",
                                              str(draws), "--seed", "1", "--workers",
                                              str(workers)))
    return out


def _cli(*args: str) -> dict[str, Any]:
    """``chipmix ARGS --json`` in this interpreter, parsed."""
    import subprocess

    done = subprocess.run([sys.executable, "-m", "chipmix", *args, "--json"], check=True,
                          capture_output=True, text=True, cwd=ROOT)
    return json.loads(done.stdout)


def blocks(text: str) -> dict[str, str]:
    """The generated blocks of a page, by name."""
    return {m["name"]: m["body"] for m in BLOCK.finditer(text)}


def replace(text: str, new: dict[str, str]) -> str:
    """``text`` with the named blocks' bodies replaced."""
    def sub(m: re.Match[str]) -> str:
        name = m["name"]
        return m.group(1) + new.get(name, m["body"]) + m.group(4)
    return BLOCK.sub(sub, text)


def main(argv: list[str] | None = None, *, run: Callable[..., dict[str, str]] = compute) -> int:
    """The command line (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite docs/insight.md")
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    parser.add_argument("--stress", action="store_true", help="also the stress block (slow)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--draws", type=int, default=500)
    args = parser.parse_args(argv)
    names = ["plan", "explain", "substitute", "alternatives"] + (["stress"] if args.stress else [])
    new = run(names, workers=args.workers, draws=args.draws)
    text = DOC.read_text(encoding="utf-8")
    if args.write:
        DOC.write_text(replace(text, new), encoding="utf-8")
        return 0
    if args.check:
        old = blocks(text)
        stale = [n for n in names if old.get(n) != new[n]]
        for n in stale:
            print(f"docs/insight.md: block {n} is out of date", file=sys.stderr)
        return 1 if stale else 0
    for name, body in new.items():
        print(f"<!-- figures:{name} -->\n{body}<!-- /figures:{name} -->\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
