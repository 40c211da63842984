"""Charts of plans and studies (matplotlib, Agg: no display needed).

Every function writes one PNG or SVG file, chosen by the extension of ``path`` (another
extension is an InputError), atomically (a temp file beside it renamed into place):

- :func:`plan_chart` — fleet in service by period stacked by vendor, and capex by period;
- :func:`compare_chart` — cost by category, units bought by vendor and domestic share per
  period, one bar or line per scenario (the frame of :func:`chipmix.compare`);
- :func:`sweep_chart` — objective against one varied key, one line per value of the others;
- :func:`frontier_chart` — minimum cost and shortfall rent against required domestic share,
  with the highest share met without shortfall and the highest feasible share marked;
- :func:`stress_chart` — histograms of a stress test's cost and shortfall penalty.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from chipmix.errors import InputError, PlanError
from chipmix.inputs.catalog import bundled_names, load_catalogs
from chipmix.inputs.solver import Status
from chipmix.io import atomic_path
from chipmix.present.formatting import money_scale  # the one scale of money labels

FORMATS = {".png": "png", ".svg": "svg"}
#: Vendor colours (brand-like where a vendor has one, so charts read the same everywhere).
VENDOR_COLORS = {
    "Nvidia": "#76b900",
    "Huawei": "#c7000b",
    "Cambricon": "#1f77b4",
    "Hygon": "#9467bd",
    "Biren": "#ff7f0e",
    "MetaX": "#8c564b",
    "Moore Threads": "#e377c2",
    "Iluvatar": "#17becf",
    "Enflame": "#bcbd22",
    "Kunlunxin": "#7f7f7f",
    "AMD": "#ed1c24",
    "Intel": "#0071c5",
}
_FALLBACK = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860", "#da8bc3",
             "#8c8c8c", "#ccb974", "#64b5cd"]
COST_COLORS = {"capex": "#4c72b0", "energy": "#dd8452", "porting": "#8172b3",
               "shortfall": "#c44e52"}
DPI = 150


def chart_format(path: str | Path) -> str:
    """``png`` or ``svg`` from the extension; InputError otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise InputError("unsupported chart format", file=path, value=suffix or "(none)",
                         expected="a .png or .svg file name")
    return FORMATS[suffix]


def _figure(width: float, height: float):
    # a bare Figure renders through the Agg/SVG canvases without pyplot: no display, no
    # global backend switch in the caller's session
    from matplotlib.figure import Figure  # lazy: matplotlib costs start-up time

    return Figure(figsize=(width, height), dpi=DPI, layout="constrained")


def _save(fig, path: str | Path) -> Path:
    fmt = chart_format(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format=fmt, dpi=DPI)
    return Path(path)


def _colors(names: Sequence[str]) -> dict[str, str]:
    out, spare = {}, iter(_FALLBACK * 10)
    for name in names:
        out[name] = VENDOR_COLORS.get(name) or next(spare)
    return out




_LINESTYLES = ["-", "--", "-.", ":"]
_MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


# --------------------------------------------------------------------------------------------
# Plans


def sku_vendors(skus: Sequence[str], scenario: Any = None) -> dict[str, str]:
    """Vendor of each SKU: from the scenario's catalogs, else the bundled ones, else the id."""
    known: dict[str, str] = {}
    try:
        if scenario is not None:
            known = dict(scenario.load_catalog().frame["vendor"])
        else:

            known = dict(load_catalogs(bundled_names()).frame["vendor"])
    except Exception:  # a label is not worth failing a chart for
        known = {}
    return {sku: known.get(sku) or sku.split("-")[0].capitalize() for sku in skus}


def plan_chart(plan, path: str | Path, *, scenario: Any = None,
               vendors: Mapping[str, str] | None = None) -> Path:
    """Fleet in service by vendor, in use (solid) and idle (hatched), over capex by period.

    A third panel shows power against the cap when the scenario sets one; the capex panel
    shows the budget when there is one.

    ``vendors`` maps SKU ids to vendor names; by default they come from ``scenario``'s
    catalogs, or the bundled catalogs.
    """
    chart_format(path)
    if not plan.ok:
        raise PlanError(f"plan for '{plan.scenario}' has no decisions to chart "
                        f"(status {plan.status.value})")
    periods = list(plan.periods)
    skus = sorted(set(plan.fleet["sku"]) | set(plan.purchases["sku"]))
    vendor_of = dict(vendors) if vendors else sku_vendors(skus, scenario)
    for sku in skus:
        vendor_of.setdefault(sku, sku.split("-")[0].capitalize())

    def by_vendor(frame: pd.DataFrame, value: str) -> pd.DataFrame:
        if not len(frame):
            return pd.DataFrame(index=periods)
        grouped = frame.assign(vendor=frame["sku"].map(vendor_of)).pivot_table(
            index="period", columns="vendor", values=value, aggfunc="sum", fill_value=0.0)
        return grouped.reindex(periods, fill_value=0.0)

    fleet = by_vendor(plan.fleet, "units")
    used = (plan.allocation.groupby(["period", "sku"])["units"].sum() if len(plan.allocation)
            else pd.Series(dtype=float))
    in_use_rows = plan.fleet.assign(units=[
        min(float(u), float(used.get((p, k), 0.0)))
        for p, k, u in zip(plan.fleet["period"], plan.fleet["sku"], plan.fleet["units"],
                           strict=True)]) if len(plan.fleet) else plan.fleet
    in_use = by_vendor(in_use_rows, "units")
    idle = (fleet - in_use.reindex(columns=fleet.columns, fill_value=0.0)).clip(lower=0.0)
    spend = by_vendor(plan.purchases, "spend")
    divisor, money = money_scale(spend.sum(axis=1).tolist())
    spend = spend / divisor
    names = sorted(set(fleet.columns) | set(spend.columns),
                   key=lambda v: (-float(fleet.get(v, pd.Series(0.0)).sum()), v))
    colors = _colors(names)
    usage: pd.DataFrame = getattr(plan, "usage", None)
    if usage is None:
        usage = pd.DataFrame(columns=["power_mw", "power_cap_mw", "budget", "binding"])
    has_power = bool(len(usage)) and bool(usage["power_cap_mw"].notna().any())
    fig = _figure(10, 10 if has_power else 7.5)
    axes = fig.subplots(3 if has_power else 2, 1, sharex=True)
    top, bottom = axes[0], axes[1]
    x = range(len(periods))
    bottoms = _stacked_bars(top, x, in_use, names, colors)
    tops = _stacked_bars(top, x, idle, names, colors, bottom=bottoms, idle=True)
    top.set_ylim(0, 1.08 * max(max(tops, default=0.0), 1e-9))
    top.set_ylabel("cards in service (units)")
    top.set_title("Fleet in service by vendor: in use (solid) and idle (hatched)")
    _stacked_bars(bottom, x, spend, names, colors)
    bottom.set_ylabel(f"capex ({money}, nominal)")
    bottom.set_title("Purchases (capex) by period")
    if len(usage) and usage["budget"].notna().any():
        _cap_steps(bottom, (usage["budget"] / divisor).tolist(), "budget")
        bottom.set_ylim(0, 1.3 * max(float((usage["budget"] / divisor).max()),
                                     float(spend.sum(axis=1).max() if len(spend) else 0.0)))
        bottom.legend(loc="upper right", frameon=False, fontsize=9, ncols=4)
    last = bottom
    if has_power:
        last = axes[2]
        _power_panel(last, usage, periods)
    last.set_xticks(list(x), periods, rotation=45 if len(periods) > 8 else 0, ha="right"
                    if len(periods) > 8 else "center")
    last.set_xlabel("period")
    for ax in axes:
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    top.legend(title="vendor", loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False,
               fontsize=9)  # beside the bars: the idle hatching must stay visible
    total = plan.cost.get("total", math.nan)
    disc = plan.cost.get("discounted_total", math.nan)
    divisor, money = money_scale([total, disc])
    fig.suptitle(f"{plan.scenario}: {plan.status.value}, total cost {total / divisor:,.1f} "
                 f"{money} ({disc / divisor:,.1f} {money} discounted)", fontsize=12)
    return _save(fig, path)


def _power_panel(ax, usage: pd.DataFrame, periods: Sequence[str]) -> None:
    """Power of the cards in use against the cap; caps far above the use are named below."""
    x = list(range(len(usage)))
    used = [float(v) for v in usage["power_mw"]]
    caps = [None if v is None or math.isnan(float(v)) else float(v)
            for v in usage["power_cap_mw"]]
    shown, off = visible_caps(caps, used, periods)
    ax.bar(x, used, color="#dd8452", width=0.75, label="cards in use")
    _cap_steps(ax, [math.nan if v is None else v for v in shown], "power cap")
    for i, b in enumerate(usage["binding"]):
        if "power cap" in str(b):
            ax.annotate("binds", (i, used[i]), ha="center", va="bottom", fontsize=8,
                        color="#c44e52", xytext=(0, 2), textcoords="offset points")
    ax.set_ylim(0, 1.25 * max([v for v in shown if v is not None] + used + [1e-9]))
    ax.set_ylabel("power (MW, incl. PUE)")
    ax.set_title("Power drawn by the cards in use against the cap")
    if off:
        ax.text(0.99, 0.97, "off the scale: " + ", ".join(f"{p} cap {v:g} MW" for p, v in off),
                transform=ax.transAxes, ha="right", va="top", fontsize=8, color="#555555")
    ax.legend(loc="upper left", frameon=False, fontsize=9, ncols=2)


def _cap_steps(ax, values: Sequence[float], label: str) -> None:
    """A cap that holds over each whole period: a dashed step (gaps where there is none)."""
    for i, v in enumerate(values):
        if v is None or math.isnan(float(v)):
            continue
        ax.hlines(float(v), i - 0.5, i + 0.5, colors="#222222", linestyles="--",
                  linewidth=1.5, label=label if i == next(
                      j for j, w in enumerate(values) if w is not None and not
                      math.isnan(float(w))) else None)


def visible_caps(caps: Sequence[float | None], used: Sequence[float | None],
                  periods: Sequence[str], factor: float = 4.0
                  ) -> tuple[list[float | None], list[tuple[str, float]]]:
    """Caps to draw, and those left off because they would flatten the use to nothing.

    A cap is left off when it is more than ``factor`` times the highest use.
    """
    top = max((u for u in used if u), default=0.0)
    if top <= 0:
        return list(caps), []
    shown: list[float | None] = []
    off: list[tuple[str, float]] = []
    for p, c in zip(periods, caps, strict=True):
        if c is not None and c > factor * top:
            shown.append(None)
            off.append((p, c))
        else:
            shown.append(c)
    return shown, off


def _stacked_bars(ax, x, table: pd.DataFrame, names: Sequence[str],
                  colors: Mapping[str, str], *, bottom: list[float] | None = None,
                  idle: bool = False) -> list[float]:
    """Stack ``table``'s columns; ``idle`` draws them hatched and pale. Returns the tops."""
    bottom = list(bottom) if bottom is not None else [0.0] * len(table.index)
    for name in names:
        if name not in table.columns:
            continue
        values = table[name].astype(float).tolist()
        if not any(v > 1e-9 for v in values):
            continue
        style = ({"facecolor": "white", "edgecolor": colors[name], "hatch": "////",
                  "linewidth": 0.0, "label": f"{name} idle"} if idle
                 else {"color": colors[name], "label": name})
        ax.bar(list(x), values, bottom=bottom, width=0.75, **style)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    return bottom


# --------------------------------------------------------------------------------------------
# Compare


def compare_chart(frame: pd.DataFrame, path: str | Path) -> Path:
    """Three panels from :func:`chipmix.compare`'s frame.

    Cost by category (M USD), units bought by vendor, domestic share per period (%).
    """
    chart_format(path)
    names = [c for c in frame.columns if c != "unit" and " vs " not in c]
    if not names:
        raise InputError("nothing to chart", expected="a frame from chipmix.compare")

    def value(metric: str, name: str) -> float:
        try:
            v = frame.at[metric, name]
        except KeyError:
            return 0.0
        try:
            v = float(v)
        except (TypeError, ValueError):
            return math.nan
        return v

    fig = _figure(min(18.0, max(13.0, 4.0 + 1.8 * len(names))), 5.5)
    ax_cost, ax_units, ax_share = fig.subplots(1, 3, width_ratios=[1.2, 1.2, 1.4])
    x = list(range(len(names)))
    crowded = len(names) >= 4
    labels = list(names) if crowded else [_wrap(n, 11) for n in names]

    def name_ticks(ax) -> None:
        if crowded:  # long scenario names side by side: slant them instead of wrapping
            ax.set_xticks(x, labels, rotation=30, ha="right", rotation_mode="anchor")
        else:
            ax.set_xticks(x, labels)

    divisor, money = money_scale([value("cost.total", n) for n in names]
                                 + [value("cost.discounted_total", n) for n in names])
    bottom = [0.0] * len(names)
    for cat, color in COST_COLORS.items():
        values = [max(0.0, value(f"cost.{cat}", n)) / divisor for n in names]
        values = [0.0 if math.isnan(v) else v for v in values]
        if any(v > 0 for v in values):
            ax_cost.bar(x, values, bottom=bottom, color=color, label=cat, width=0.6)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    disc = [value("cost.discounted_total", n) / divisor for n in names]
    ax_cost.scatter(x, disc, marker="D", s=36, color="black", zorder=3,
                    label="discounted total")
    for i, n in enumerate(names):
        status = (frame.at["status", n] if "status" in frame.index
                  else (frame.attrs.get("status") or {}).get(n, ""))
        if status not in Status.with_plan():
            ax_cost.annotate(str(status), (i, 0), ha="center", va="bottom", color="#c44e52",
                             fontsize=9, rotation=90, xytext=(0, 4), textcoords="offset points")
    name_ticks(ax_cost)
    ax_cost.set_ylabel(f"cost over the horizon ({money}, nominal)")
    ax_cost.set_title("Cost by category")
    ax_cost.legend(frameon=False, fontsize=8, loc="best")

    vendor_rows = [m for m in frame.index if str(m).startswith("units.vendor.")]
    vendors = [m.split(".", 2)[2] for m in vendor_rows]
    colors = _colors(vendors)
    width = 0.8 / max(1, len(vendors))
    for j, (row, vendor) in enumerate(zip(vendor_rows, vendors, strict=True)):
        values = [value(row, n) for n in names]
        offsets = [i - 0.4 + width * (j + 0.5) for i in x]
        ax_units.bar(offsets, [0.0 if math.isnan(v) else v for v in values], width=width,
                     color=colors[vendor], label=vendor)
    name_ticks(ax_units)
    ax_units.set_ylabel("cards bought over the horizon (units)")
    ax_units.set_title("Units bought by vendor")
    if vendors:
        ax_units.legend(title="vendor", frameon=False, fontsize=8)

    share_rows = [m for m in frame.index if str(m).startswith("domestic_share.")]
    periods = [m.split(".", 1)[1] for m in share_rows]
    for i, n in enumerate(names):
        values = [value(m, n) * 100 for m in share_rows]
        ax_share.plot(range(len(periods)), values, color=_FALLBACK[i % len(_FALLBACK)],
                      marker=_MARKERS[i % len(_MARKERS)],
                      linestyle=_LINESTYLES[i % len(_LINESTYLES)], label=n)
    ax_share.set_xticks(range(len(periods)), periods, rotation=45 if len(periods) > 6 else 0,
                        ha="right" if len(periods) > 6 else "center")
    ax_share.set_ylim(0, 105)
    ax_share.set_ylabel("domestic share (%)")
    ax_share.set_xlabel("period")
    ax_share.set_title("Domestic share by period")
    ax_share.legend(frameon=False, fontsize=8)
    for ax in (ax_cost, ax_units, ax_share):
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
    fig.suptitle("Scenario comparison", fontsize=12)
    return _save(fig, path)


def _wrap(text: str, width: int = 16) -> str:
    return "\n".join(textwrap.wrap(text, width, break_on_hyphens=True)) or text


# --------------------------------------------------------------------------------------------
# Sweeps


def sweep_chart(frame: pd.DataFrame, path: str | Path, *, x: str | None = None,
                y: str = "objective", varied: Sequence[str] | None = None,
                title: str | None = None) -> Path:
    """``y`` (default.

    The discounted objective, M USD) against the varied key ``x``, one line per combination
    of the other varied keys; variants without a plan are left out.

    ``varied`` names the varied columns (default: the columns between ``variant`` and
    ``status``, as :func:`chipmix.sweep` lays them out); ``x`` defaults to the first numeric
    one with more than one value; ``title`` names the study (e.g. the base scenario).
    """
    chart_format(path)
    columns = list(frame.columns)
    if varied is None:
        try:
            varied = columns[columns.index("variant") + 1: columns.index("status")]
        except ValueError:
            raise InputError("not a sweep table", expected="a frame from chipmix.sweep") from None
    varied = list(varied)
    if x is None:
        numeric = [c for c in varied if pd.api.types.is_numeric_dtype(frame[c])
                   and frame[c].nunique() > 1]
        x = numeric[0] if numeric else (varied[0] if varied else "variant")
    if x not in frame.columns:
        raise InputError("unknown column", field="x", value=x,
                         expected="a varied key: " + ", ".join(varied))
    others = [c for c in varied if c != x]
    is_share = "share" in x
    money = y in ("objective", "premium") or y.startswith(("cost.", "spend."))
    divisor, money_unit = money_scale(frame[y].tolist()) if money else (1.0, "")
    fig = _figure(9, 5.5)
    ax = fig.subplots()
    groups = frame.groupby(others, sort=False, dropna=False) if others else [((), frame)]
    for i, (key, part) in enumerate(groups):
        key = key if isinstance(key, tuple) else (key,)
        if len(others) == 1:
            label = _short(key[0])
        else:
            label = ", ".join(f"{k.split('.')[-1]}={_short(v)}"
                              for k, v in zip(others, key, strict=True))
        part = part.sort_values(x) if pd.api.types.is_numeric_dtype(part[x]) else part
        xs = part[x] * 100 if is_share and pd.api.types.is_numeric_dtype(part[x]) else part[x]
        ys = part[y] / divisor
        # markers and dashes differ so that coinciding lines stay visible
        ax.plot(xs.tolist(), ys.tolist(), color=_FALLBACK[i % len(_FALLBACK)],
                marker=_MARKERS[i % len(_MARKERS)], linestyle=_LINESTYLES[i % len(_LINESTYLES)],
                markersize=8 if i == 0 else 5, label=label or y)
    failed = int((~frame["status"].isin(Status.with_plan())).sum()) if "status" in frame \
        else 0
    ax.set_xlabel(f"{x} (%)" if is_share else x)
    if y == "objective":
        ylabel = f"minimum cost ({money_unit}, discounted)"
    else:
        ylabel = f"{y} ({money_unit})" if money else y
    ax.set_ylabel(ylabel)
    title = f"{title or 'Sweep'}: {y} vs {x}"
    if failed:
        title += f"\n{failed} of {len(frame)} variants without a plan (not drawn)"
    ax.set_title(title, fontsize=11)
    if others:
        ax.legend(title=others[0] if len(others) == 1 else None, frameon=False, fontsize=8,
                  loc="best")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    text = str(value)
    return text if len(text) <= 24 else text[:21] + "..."


# --------------------------------------------------------------------------------------------
# Frontier


def frontier_chart(result, path: str | Path) -> Path:
    """Minimum cost (discounted) and shortfall rent against required domestic share (%).

    Marks the highest share met without shortfall and the highest feasible share; shades
    the shares that need rented shortfall and those with no plan.
    """
    chart_format(path)
    curve = result.curve
    fig = _figure(9, 5.5)
    ax = fig.subplots()
    values = curve["objective"].tolist() if len(curve) else []
    divisor, money = money_scale(values)
    if len(curve):
        ok = curve[curve["status"].isin(Status.with_plan())]
        x = (ok["required_share"] * 100).tolist()
        if "shortfall" in ok and (ok["shortfall"].fillna(0) > 0).any():
            ax.bar(x, (ok["shortfall"].fillna(0) / divisor).tolist(), width=1.6,
                   color="white", edgecolor="#c44e52", hatch="////", linewidth=0.8,
                   label="shortfall rent (nominal)")
        ax.plot(x, (ok["objective"] / divisor).tolist(), marker="o", color="#c7000b",
                label="minimum cost (discounted)")
        for _, row in ok.iterrows():
            if row["premium"] and not math.isnan(row["premium"]):
                ax.annotate(f"+{row['premium'] / divisor:,.3g}",
                            (row["required_share"] * 100, row["objective"] / divisor),
                            xytext=(0, 8), textcoords="offset points", ha="center",
                            fontsize=7, color="#444444",
                            bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                                  "alpha": 0.85})
    _frontier_marks(ax, result)
    ax.set_xlim(-2, 102)
    tops = [v for v in [*values, *(curve["shortfall"].tolist() if "shortfall" in curve else [])]
            if v == v]
    ax.set_ylim(0, 1.15 * max(tops, default=1.0) / divisor)
    ax.set_xlabel(f"required domestic share from {result.start} ({result.share_basis} basis, %)")
    ax.set_ylabel(f"{money}")
    title = f"{result.scenario}: the price of self-reliance (labels: premium over share 0, {money})"
    if result.max_share is None:
        title += " (no feasible share)"
    ax.set_title(title, fontsize=11)
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    return _save(fig, path)


def _frontier_marks(ax, result) -> None:
    """The two highest shares as vertical lines; shortfall-only and infeasible shares shaded."""
    top = result.max_share
    if top is None:
        return
    met = getattr(result, "max_share_met", top)
    if met is not None:
        ax.axvline(met * 100, color="#2a7d2a", linewidth=1.2,
                   label=f"highest share met without shortfall: {met * 100:.1f} %")
    if met is None or top > met + 1e-12:
        ax.axvline(top * 100, color="black", linestyle="--", linewidth=1,
                   label=f"highest feasible share (renting shortfall): {top * 100:.1f} %")
        ax.axvspan((met or 0.0) * 100, top * 100, color="#f4c7c3", alpha=0.35,
                   label="needs rented shortfall")
    if top < 1:
        ax.axvspan(top * 100, 102, color="#dddddd", alpha=0.6, label="no plan")


def stress_chart(result: Any, path: str | Path) -> Path:
    """Histograms of discounted cost and shortfall penalty over the draws (PNG or SVG).

    ``result`` is a :class:`chipmix.insight.stress.StressResult`.
    """
    chart_format(path)
    summary = result.summary
    fig = _figure(11, 4.2)
    axes = fig.subplots(1, 2)
    for ax, name, title in ((axes[0], "cost", "Discounted cost"),
                            (axes[1], "shortfall_cost", "Shortfall penalty (discounted)")):
        values = result.draws[name].dropna().to_numpy(dtype=float) / 1e6
        ax.hist(values, bins=min(40, max(5, len(values) // 10)), color="#4c72b0", alpha=0.8)
        stats = summary[name]
        for key, style, color in (("baseline", ":", "#333333"), ("mean", "-", "#dd8452"),
                                  ("p90", "--", "#55a868"), ("p99", "-.", "#c44e52"),
                                  ("cvar95", (0, (1, 1)), "#8172b3")):
            ax.axvline(stats[key] / 1e6, color=color, linestyle=style, linewidth=1.2,
                       label=f"{'plan as is' if key == 'baseline' else key} "
                             f"{stats[key] / 1e6:,.2f}")
        ax.set_title(title)
        ax.set_xlabel("million USD")
        ax.set_ylabel("draws")
        ax.legend(fontsize=8)
    fig.suptitle(f"{result.scenario}: {len(result.draws)} draws, seed {result.seed}")
    return _save(fig, path)
