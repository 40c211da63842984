"""Building blocks of the self-contained HTML reports: page, sections, tables, cards, links.

A report is one ``.html`` file: the CSS is inline, the charts are inline SVG
(:mod:`chipmix.present.svg`), nothing is fetched from the network and no JavaScript runs, so
it opens the same in any browser, offline, and prints to PDF (``@media print`` rules keep
sections and table rows whole, and repeat table headers on every page).

Every number in a table cell is written twice: as text for the reader and, exactly as in the
JSON, in the cell's ``data-value`` attribute (charts carry ``data-value`` on each bar and
point), so tests (and users' tools) can read the figures back from the page.

The reports themselves: :mod:`chipmix.present.plan_report` (one plan) and
:mod:`chipmix.present.study_report` (compare, sweep, frontier, hedge).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

CSS = """
:root { --ink: #1d1d1f; --muted: #5f6368; --rule: #d9d9de; --bad: #b3261e; --good: #1e7b34;
        --band: #f5f6f8; }
* { box-sizing: border-box; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans",
       "Noto Sans CJK SC", sans-serif; color: var(--ink); margin: 0 auto; max-width: 1040px;
       padding: 24px 28px 48px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 32px 0 8px; padding-top: 8px; border-top: 2px solid var(--ink); }
h3 { font-size: 15px; margin: 18px 0 6px; }
p, li { max-width: 80ch; }
.sub { color: var(--muted); margin: 0 0 16px; }
.status { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px;
          font-weight: 600; color: white; background: var(--good); vertical-align: middle; }
.status.bad { background: var(--bad); color: white; }  /* not .bad's red text */
.status.warn { background: #a05a00; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.card { border: 1px solid var(--rule); border-radius: 6px; padding: 8px 12px; min-width: 150px;
        flex: 1 1 150px; }
.card .k { color: var(--muted); font-size: 12px; }
.card .v { font-size: 20px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .n { color: var(--muted); font-size: 12px; }
.lead { font-size: 15px; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 12.5px; }
caption { text-align: left; color: var(--muted); font-size: 12px; padding-bottom: 4px;
          caption-side: top; }
th, td { padding: 3px 8px; border-bottom: 1px solid var(--rule); vertical-align: top; }
th { text-align: left; background: var(--band); font-weight: 600; }
th.group { text-align: center; border-bottom: 1px solid var(--muted); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.num { white-space: nowrap; }  /* a figure never breaks; its header wraps at spaces */
td.short { color: var(--bad); font-weight: 600; }
td.dim { color: var(--muted); }
td[data-key="window"], td[data-key="period"] { white-space: nowrap; }
td[data-key="top_skus"], td[data-key="why"] { min-width: 24ch; }
td[data-key="outcomes"] { min-width: 24ch; overflow-wrap: anywhere; }
tr.total td { font-weight: 600; border-top: 1px solid var(--ink); }
.note { color: var(--muted); font-size: 12px; }
.bad { color: var(--bad); }
figure { margin: 8px 0 16px; }
svg.chart { max-width: 100%; height: auto; }
.wide { overflow-x: auto; }
table.sticky { border-collapse: separate; border-spacing: 0; }  /* rules move with cells */
table.sticky th:first-child, table.sticky td:first-child { position: sticky; left: 0;
  background: white; border-bottom: 0; box-shadow: inset -1px -1px 0 var(--rule); }
  /* a table that scrolls sideways keeps its row labels in view (its rules drawn inside) */
table.sticky th:first-child { background: var(--band); }
a { color: #1a5fb4; word-break: break-all; }
code { font-size: 12px; background: var(--band); padding: 0 3px; }
ul.spans { margin: 0; padding-left: 14px; }
ul.spans li { margin: 0; }
div.source h4 { margin: 12px 0 2px; font-size: 13px; }
div.source p { margin: 2px 0; }
ol.src { margin: 2px 0 8px; font-size: 11.5px; }
ol.src a { overflow-wrap: anywhere; word-break: normal; }
pre.desc { white-space: pre-wrap; font: inherit; max-width: 80ch; margin: 4px 0; }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--rule);
         padding-top: 8px; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  h2, h3, h4 { break-after: avoid; page-break-after: avoid; }
  figure, .cards, tr, div.source h4 { break-inside: avoid; page-break-inside: avoid; }
  div.source h4 { break-after: avoid; }
  thead { display: table-header-group; }
  .wide { overflow: visible; }
  a { color: var(--ink); text-decoration: none; }
  table { font-size: 10px; }
  details::details-content { content-visibility: visible; height: auto; }  /* print it all */
  details > summary { list-style: none; font-weight: 600; }
}
"""


# --------------------------------------------------------------------------------------------
# Building blocks


@dataclass
class Col:
    """A table column.

    ``key`` in the row dicts, ``header`` (with its unit), ``fmt`` for the text, ``num``
    right-aligns and writes ``data-value``; ``title`` gives a cell its tooltip (e.g. the exact
    figure of a compact one).
    """

    key: str
    header: str
    fmt: Callable[[Any], str] = str
    num: bool = False
    cls: Callable[[dict[str, Any]], str] | None = None
    html: bool = False  # ``fmt`` returns markup (already escaped)
    title: Callable[[Any], str] | None = None
    group: str = ""  # a heading over consecutive columns (``Huawei`` over in use | idle)


def header_text(text: str) -> str:
    """A column heading as markup: escaped, breakable after each dot and underscore.

    A scenario key (``policy.<wbr>domestic_<wbr>share``) then wraps instead of widening its
    column.
    """
    return escape(text).replace(".", ".<wbr>").replace("_", "_<wbr>")


def _header(columns: Sequence[Col]) -> str:
    """The ``<thead>``: one row, or two when columns are grouped under a shared heading."""
    def th(c: Col, extra: str = "") -> str:
        return (f'<th class="num"{extra}>{header_text(c.header)}</th>' if c.num
                else f"<th{extra}>{header_text(c.header)}</th>")

    if not any(c.group for c in columns):
        return "<thead><tr>" + "".join(th(c) for c in columns) + "</tr></thead>"
    top, sub, i = [], [], 0
    while i < len(columns):
        c = columns[i]
        if not c.group:
            top.append(th(c, ' rowspan="2"'))
            i += 1
            continue
        run = 1
        while i + run < len(columns) and columns[i + run].group == c.group:
            run += 1
        top.append(f'<th class="group" colspan="{run}">{escape(c.group)}</th>')
        sub += [th(g) for g in columns[i:i + run]]
        i += run
    return f"<thead><tr>{''.join(top)}</tr><tr>{''.join(sub)}</tr></thead>"


def data_attr(value: Any) -> str:
    """The ``data-value`` text of a table cell ('' for none)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    return escape(str(value), quote=True)


def table(table_id: str, columns: Sequence[Col], rows: Iterable[Mapping[str, Any]], *,
          caption: str = "", total: Mapping[str, Any] | None = None) -> str:
    """An HTML table; numeric cells carry ``data-key`` and ``data-value``."""
    out = [f'<div class="wide"><table id="{escape(table_id)}">']
    if caption:
        out.append(f"<caption>{escape(caption)}</caption>")
    out.append(_header(columns))
    out.append("<tbody>")

    def row_html(row: Mapping[str, Any], klass: str = "") -> str:
        cells = [f'<tr class="{klass}">' if klass else "<tr>"]
        for c in columns:
            v = row.get(c.key)
            extra = c.cls(dict(row)) if c.cls else ""
            classes = " ".join(x for x in ("num" if c.num else "", extra) if x)
            cls = f' class="{classes}"' if classes else ""
            text = (c.fmt(v) if c.html else escape(c.fmt(v))) if v is not None or c.num else ""
            data = (f' data-key="{escape(c.key)}" data-value="{data_attr(v)}"' if c.num else
                    f' data-key="{escape(c.key)}"')
            if c.title is not None and v is not None:
                data += f' title="{escape(c.title(v), quote=True)}"'
            cells.append(f"<td{cls}{data}>{text}</td>")
        cells.append("</tr>")
        return "".join(cells)

    for row in rows:
        out.append(row_html(row))
    if total is not None:
        out.append(row_html(total, "total"))
    out.append("</tbody></table></div>")
    return "".join(out)


def section(section_id: str, title: str, *parts: str) -> str:
    """An ``<section>`` with its heading."""
    return f'<section id="{escape(section_id)}"><h2>{escape(title)}</h2>{"".join(parts)}</section>'


def para(text: str, klass: str = "") -> str:
    """A paragraph of escaped text."""
    cls = f' class="{klass}"' if klass else ""
    return f"<p{cls}>{escape(text)}</p>"


def figure(svg_text: str, caption: str = "") -> str:
    """An inline SVG chart with its caption."""
    cap = f'<figcaption class="note">{escape(caption)}</figcaption>' if caption else ""
    return f"<figure>{svg_text}{cap}</figure>"


def cards(items: Sequence[tuple[str, str, str, str]]) -> str:
    """Headline figures: (id, label, value text, note)."""
    out = ['<div class="cards">']
    for key, label, value, note in items:
        out.append(f'<div class="card" id="card-{escape(key)}"><div class="k">{escape(label)}'
                   f'</div><div class="v">{escape(value)}</div>'
                   + (f'<div class="n">{escape(note)}</div>' if note else "") + "</div>")
    out.append("</div>")
    return "".join(out)


def link(url: str, *, short: bool = False) -> str:
    """A link to a source; ``short`` shows ``host/…/document`` (the href keeps the URL)."""
    safe = url if url.startswith(("http://", "https://")) else ""
    if not safe:
        return escape(url)
    text = url
    if short:
        host, _, path = url.split("://", 1)[1].partition("/")
        last = path.rstrip("/").rsplit("/", 1)[-1]
        text = host if not last else (f"{host}/{last}" if path.count("/") == 0
                                      or path.rstrip("/") == last else f"{host}/…/{last}")
        text = text if len(text) <= 60 else text[:57] + "..."
    return f'<a href="{escape(safe, quote=True)}">{escape(text)}</a>'


def chipmix_version() -> str:
    """The installed chipmix's version (the package metadata; no import of the facade)."""
    from importlib.metadata import (  # lazy: read once, when a report is written
        PackageNotFoundError,
        version,
    )

    try:
        return version("chipmix")
    except PackageNotFoundError:  # pragma: no cover - run from a source tree
        return "(source)"


def page(title: str, body: Iterable[str], *, subtitle: str = "") -> str:
    """The whole document: one file, inline CSS, no scripts, no external resources."""
    __version__ = chipmix_version()

    sub = f'<p class="sub">{escape(subtitle)}</p>' if subtitle else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<meta name="generator" content="chipmix {escape(__version__)}">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1>{sub}</header><main>"
        + "".join(body)
        + f"</main><footer>Made by chipmix {escape(__version__)}. Prices are estimates "
        "(see the sources); costs are discounted to the horizon start unless marked "
        "nominal.</footer></body></html>\n"
    )


def status_badge(status: str) -> str:
    """The plan status as a coloured badge."""
    klass = "" if status == "optimal" else ("warn" if status == "feasible" else "bad")
    return f'<span class="status {klass}" id="status">{escape(status)}</span>'


__all__ = ["CSS", "Col", "cards", "data_attr", "figure", "header_text", "link", "page", "para",
           "section", "status_badge", "table"]
