"""The HTML report in a real browser: headless Chromium (Debian's ``chromium``).

One plan report (``tests/data/report_case.yaml``), three browser runs: ``--dump-dom`` (the
page loads with no console message and no network request; the numbers in the rendered DOM
equal the plan JSON), ``--print-to-pdf`` (a PDF of a few A4 pages) and ``--screenshot`` (a
PNG with the charts drawn in colour). The reports of compare, sweep, frontier and hedge load
clean the same way, show a figure of their study in the rendered DOM and print to PDF.
Every kind of report (the plan's, of every bundled example, with and without its scenario,
with sensitivities, without a plan; compare, sweep, frontier, hedge) fits a 1200 px and an
800 px window without a horizontal scroll bar (a layout probe added to a copy of the page).

Without a ``chromium`` on the PATH these tests skip, unless ``CHIPMIX_BROWSER_TESTS=require``
(``.ci/run`` sets it after installing chromium): then a missing browser fails.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from helpers import two_stage_hedge_scenario
from html_tables import parse, tables

import chipmix
from chipmix.present.plan_report import plan_report, scenario_context

pytestmark = pytest.mark.slow  # property tests / every example / a browser

CASE = Path(__file__).parent / "data" / "report_case.yaml"
BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
#: Hosts Chromium itself calls (time sync, account checks) despite the flags; never the page.
BROWSER_OWN = ("google.com", "googleapis.com", "gvt1.com")

if BROWSER is None:
    if os.environ.get("CHIPMIX_BROWSER_TESTS") == "require":
        raise RuntimeError("CHIPMIX_BROWSER_TESTS=require but no chromium on the PATH")
    pytest.skip("no chromium on the PATH (apt-get install chromium)", allow_module_level=True)


def chromium(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    """Run headless Chromium with a fresh profile and no background traffic."""
    with tempfile.TemporaryDirectory(prefix="chipmix-chromium-") as profile:
        return subprocess.run(
            [BROWSER, "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--no-first-run", "--disable-quic", f"--user-data-dir={profile}",
             "--enable-logging=stderr", "--v=0", *args],
            capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    scenario = chipmix.load_scenario(CASE)
    plan = chipmix.plan(scenario)
    data = json.loads(plan.to_json())
    path = folder / "report.html"
    path.write_text(plan_report(plan, scenario_context(scenario)), encoding="utf-8")
    return path, data


def test_dom_loads_clean_and_its_numbers_equal_the_plan_json(report, tmp_path):
    path, data = report
    netlog = tmp_path / "net.json"
    run = chromium(f"--log-net-log={netlog}", "--dump-dom", path.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    # no console output at all (no script runs; a failing resource would log here too)
    assert "CONSOLE" not in run.stderr, run.stderr[-2000:]
    requested = set(re.findall(r'"url":"([^"]+)"', netlog.read_text(encoding="utf-8")))
    page_requests = {u for u in requested if not any(h in u for h in BROWSER_OWN)}
    assert page_requests == set()
    dom = run.stdout
    parsed = parse(dom)
    for section in ("headline", "purchases", "fleet", "delivery", "shares", "caps", "skus",
                    "assumptions", "chart-fleet", "chart-power"):
        assert section in parsed.ids, section
    t = tables(dom)
    rows = t["purchases"][:-1]
    assert [(r["period"][0], r["sku"][0], r["units"][1], r["spend"][1]) for r in rows] == [
        (p["period"], p["sku"], p["units"], p["spend"]) for p in data["purchases"]]
    cost = {r["item"][0]: r["nominal"][1] for r in t["cost"]}
    assert cost["total"] == pytest.approx(data["cost"]["total"])
    shares = {r["period"][0]: r["domestic"][1] for r in t["shares"]}
    assert shares == {s["period"]: pytest.approx(s["domestic"]) for s in data["shares"]}
    short = t["shortfalls"][0]
    assert short["shortfall"][1] == pytest.approx(data["delivered"][1]["shortfall"])
    # the charts draw the same figures: every fleet bar is a vendor's in-use or idle cards
    bars = re.findall(r'<rect[^>]*data-series="([^"]+)" data-category="([^"]+)" '
                      r'data-value="([^"]+)"', dom)
    fleet = [(s, c, float(v)) for s, c, v in bars if s.endswith((" in use", " idle"))]
    for period in data["periods"]:
        drawn = sum(v for _, c, v in fleet if c == period)
        assert drawn == pytest.approx(sum(f["units"] for f in data["fleet"]
                                          if f["period"] == period))


def test_prints_to_a_few_a4_pages(report, tmp_path):
    path, _ = report
    pdf = tmp_path / "report.pdf"
    run = chromium(f"--print-to-pdf={pdf}", "--no-pdf-header-footer", path.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    content = pdf.read_bytes()
    assert content.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", content))
    assert 2 <= pages <= 8, pages
    # A4 portrait media boxes (595 x 842 pt)
    assert re.search(rb"/MediaBox\s*\[\s*0 0 59[45](\.\d+)? 84[12]", content)


def test_screenshot_shows_the_charts_in_colour(report, tmp_path):
    from PIL import Image

    path, _ = report
    png = tmp_path / "report.png"
    run = chromium(f"--screenshot={png}", "--window-size=1100,2400", "--hide-scrollbars",
                   path.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    image = Image.open(png).convert("RGB")
    assert image.size == (1100, 2400)
    colours = image.getcolors(maxcolors=1 << 20) or []
    # Nvidia-style green is not used here; the vendor fallback blue and the domestic red are
    strong = [c for n, c in colours if max(c) - min(c) > 80 and n > 200]
    assert len(strong) >= 3  # bars in several vendor colours, not a blank page


# -- the study reports: compare, sweep, frontier, hedge ----------------------------------------


@pytest.fixture(scope="module")
def study_reports(tmp_path_factory):
    """Each study's report beside a figure it must show: (path, table id, column, value)."""
    from chipmix.present.study_report import (
        compare_report,
        frontier_report,
        hedge_report,
        sweep_report,
    )

    folder = tmp_path_factory.mktemp("studies")
    out = {}
    frame = chipmix.compare([CASE, CASE], labels=["a", "b"])
    out["compare"] = (compare_report(frame), "compare", "a",
                      float(frame.at["cost.total", "a"]))
    sweep = chipmix.sweep(CASE, {"policy.domestic_share": [0.0, 0.5]}, workers=1)
    out["sweep"] = (sweep_report(sweep, {"policy.domestic_share": [0.0, 0.5]}), "sweep",
                    "objective", float(sweep["objective"].iloc[0]))
    curve = chipmix.frontier(CASE, steps=3, workers=1)
    out["frontier"] = (frontier_report(curve), "frontier", "objective",
                       float(curve.curve["objective"].iloc[0]))
    scenario = two_stage_hedge_scenario(folder)  # 20,000 in the scenario without a ban
    out["hedge"] = (hedge_report(chipmix.hedge(scenario, gap=0.0)), "scenarios", "cost",
                    20000.0)
    paths = {}
    for name, (html, *rest) in out.items():
        path = folder / f"{name}.html"
        path.write_text(html, encoding="utf-8")
        paths[name] = (path, *rest)
    return paths


@pytest.mark.parametrize("name", ["compare", "sweep", "frontier", "hedge"])
def test_study_reports_load_clean_in_the_browser(study_reports, name, tmp_path):
    path, table_id, column, value = study_reports[name]
    netlog = tmp_path / "net.json"
    run = chromium(f"--log-net-log={netlog}", "--dump-dom", path.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    assert "CONSOLE" not in run.stderr, run.stderr[-2000:]
    requested = set(re.findall(r'"url":"([^"]+)"', netlog.read_text(encoding="utf-8")))
    assert {u for u in requested if not any(h in u for h in BROWSER_OWN)} == set()
    dom = run.stdout
    assert parse(dom).scripts == 0 and "<svg" in dom
    if table_id is not None:  # a figure of the study, read back from the rendered page
        cells = [r[column][1] for r in tables(dom)[table_id] if column in r]
        assert any(c == pytest.approx(value) for c in cells if isinstance(c, float)), cells
    pdf = tmp_path / f"{name}.pdf"
    run = chromium(f"--print-to-pdf={pdf}", "--no-pdf-header-footer", path.as_uri())
    assert run.returncode == 0 and pdf.read_bytes().startswith(b"%PDF")


def test_hedge_report_with_long_scenario_names_stays_on_the_page(tmp_path):
    """Scenario names of several events (``e1=o1,e2=o2,...``, no space to break at) neither
    widen the scenarios table nor run off the chart: the chart and later tables number the
    scenarios (S1, S2, ...; the whole name is the tooltip), the table lists each outcome on a
    line of its own, and an x label too long for the chart is shortened with its tooltip."""
    from chipmix.present import svg
    from chipmix.present.study_report import hedge_report

    d = chipmix.hedge(two_stage_hedge_scenario(tmp_path), gap=0.0).to_dict()
    names = [",".join(f"licence-event-{k}=outcome-{i}-{k}" for k in range(3))
             for i in range(len(d["scenarios"]))]
    for s, name in zip(d["scenarios"], names, strict=True):
        s["name"] = name
        s["outcomes"] = dict(part.split("=") for part in name.split(","))
    path = tmp_path / "hedge.html"
    path.write_text(hedge_report(d), encoding="utf-8")
    run = chromium("--dump-dom", path.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    dom = run.stdout
    cells = [re.sub(r"<[^>]+>", " ", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", dom, re.S)]
    longest = max((w for c in cells for w in c.split()), key=len)
    assert len(longest) <= 40, longest  # every cell can wrap
    for name in names:  # each long name is still on the page, as a tooltip
        assert f'title="{name}"' in dom
    chart = re.search(r'<svg id="chart-hedge".*?</svg>', dom, re.S).group(0)
    ticks = re.findall(r'<text x="[\d.]+" y="[\d.]+" text-anchor="middle" fill="#444444">'
                       r"(?:<title>.*?</title>)?([^<]*)</text>", chart)  # the x axis
    assert ticks == [f"S{i + 1}" for i in range(len(names))]
    # a chart of the long names themselves: shortened labels, the whole name as tooltip,
    # and a rotated label never starts left of the picture
    wide = svg.chart("c", names * 4, [svg.Series("cost", [1.0] * len(names) * 4, "#4c72b0")],
                     title="t", y_label="y")
    shown = re.findall(r"<title>([^<]*)</title>([^<]*)</text>", wide)
    assert shown and all(full in names and len(label) <= svg.MAX_LABEL
                         and label.endswith("…") for full, label in shown)
    first = re.search(r'translate\(([\d.]+) [\d.]+\) rotate\(-40\)', wide)
    assert first is not None
    assert float(first.group(1)) >= svg.MAX_LABEL * svg.CHAR_W * svg.COS_LABEL
    png = tmp_path / "hedge.png"
    run = chromium(f"--screenshot={png}", "--window-size=1100,1600", "--hide-scrollbars",
                   path.as_uri())
    assert run.returncode == 0 and png.read_bytes().startswith(b"\x89PNG")


# -- the layout: every report fits the page at a desktop and a narrow width ------------------

GOLDEN = Path(__file__).parent / "golden" / "plans"
EXAMPLES = sorted(p.stem for p in GOLDEN.glob("*.json"))  # = the bundled examples
#: The two widths a report must fit without a horizontal scroll bar (CSS px).
WIDTHS = (1200, 800)

#: Measures the laid-out page from inside (the report has no script of its own; this one is
#: added to a copy): the document's width against the window's, and each table's against
#: its container's (every table sits in a ``div.wide``, which would scroll it silently —
#: only one marked ``data-scroll``, announced just above it, outside the box, may).
LAYOUT_PROBE = """<script>(function () {
  var root = document.documentElement;
  var out = {scrollWidth: root.scrollWidth, innerWidth: window.innerWidth, tables: []};
  document.querySelectorAll("table").forEach(function (t) {
    var box = t.parentElement;
    var before = box.previousElementSibling;  // where a scrolling box is announced
    out.tables.push({id: t.id, width: Math.ceil(t.getBoundingClientRect().width),
                     container: box.clientWidth, scroll: box.hasAttribute("data-scroll"),
                     note: before ? before.textContent : ""});
  });
  var badge = document.getElementById("status");  // its text must show on its colour
  out.badge = badge ? [getComputedStyle(badge).color, getComputedStyle(badge).backgroundColor]
                    : null;
  var pre = document.createElement("pre");
  pre.id = "layout-probe";
  pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
})();</script>"""


def layout(path: Path, width: int, folder: Path) -> dict:
    """The page at ``path`` laid out in a ``width`` px window: the probe's figures, and the
    console lines Chromium logged while loading it (``console``)."""
    import html as html_lib

    probe = folder / f"{path.stem}-{width}-probe.html"
    probe.write_text(path.read_text(encoding="utf-8").replace("</body>", LAYOUT_PROBE
                                                              + "</body>"), encoding="utf-8")
    run = chromium(f"--window-size={width},2000", "--hide-scrollbars", "--dump-dom",
                   probe.as_uri())
    assert run.returncode == 0, run.stderr[-2000:]
    found = re.search(r'<pre id="layout-probe">(.*?)</pre>', run.stdout, re.S)
    assert found is not None, run.stdout[-2000:]
    measured = json.loads(html_lib.unescape(found.group(1)))
    measured["console"] = [line for line in run.stderr.splitlines() if "CONSOLE" in line]
    return measured


@pytest.fixture(scope="module")
def every_report(report, study_reports, tmp_path_factory):
    """Every kind of HTML report chipmix writes, as files: the plan report (with and without
    its scenario, with sensitivities, of every bundled example, without a plan) and the reports
    of compare (five and eight scenarios), sweep (one and two keys), frontier and hedge (the bundled two-stage example's
    hedge JSON, and names too long for a cell)."""
    from chipmix.present.study_report import compare_report, hedge_report, sweep_report
    from chipmix.resources import examples_dir

    folder = tmp_path_factory.mktemp("layout")
    pages = {"plan": report[0], **{k: v[0] for k, v in study_reports.items()}}

    def write(name: str, text: str) -> None:
        pages[name] = folder / f"{name}.html"
        pages[name].write_text(text, encoding="utf-8")

    scenario = chipmix.load_scenario(CASE)
    write("plan-explained", plan_report(chipmix.plan(scenario, sensitivity=True),
                                        scenario_context(scenario)))
    write("plan-json-only", plan_report(json.loads(chipmix.plan(scenario).to_json())))
    for example in EXAMPLES:  # every bundled example's plan: its golden JSON
        data = json.loads((GOLDEN / f"{example}.json").read_text(encoding="utf-8"))
        loaded = chipmix.load_scenario(examples_dir() / f"{example}.yaml")
        write(f"plan-{example}", plan_report(data, scenario_context(loaded)))
        if example == "rush-before-ban":  # and with the tables of --explain (minutes to
            # compute: a stored sensitivity block of the default, for the layout only)
            data["sensitivity"] = json.loads((CASE.parent / "default_sensitivity.json")
                                             .read_text(encoding="utf-8"))
            write("plan-explained-default", plan_report(data, scenario_context(loaded)))
    infeasible = chipmix.load_scenario(CASE.parent / "planner_infeasible.yaml")
    write("plan-infeasible", plan_report(chipmix.plan(infeasible),
                                         scenario_context(infeasible)))
    labels = ["rush-before-ban", "rush-before-ban-risks", "h200-duty-2026",
              "state-funded-dc", "h20-licence-fee-2025"]
    write("compare-five", compare_report(chipmix.compare([CASE] * 5, labels=labels)))
    write("compare-eight", compare_report(chipmix.compare(
        [CASE] * 8, labels=[*labels, "h20-2024q4=no-licence", "planner-small", "base"])))
    grid = {"policy.domestic_share": [0.0, 0.5], "policy.vendor_cap": [0.6, 1.0]}
    sweep = chipmix.sweep(CASE, grid, workers=1)
    for column in ("objective", "cost.shortfall"):  # figures of the bundled default's size
        sweep[column] = sweep[column] * 1700.0
    write("sweep-two-keys", sweep_report(sweep, list(grid)))
    h20 = json.loads((CASE.parent / "hedge_h20_2024.json").read_text(encoding="utf-8"))
    write("hedge-h20", hedge_report(h20))
    return pages


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", ["plan", "plan-explained", "plan-explained-default",
                                  "plan-json-only",
                                  *(f"plan-{e}" for e in EXAMPLES), "plan-infeasible",
                                  "compare", "compare-five", "compare-eight", "sweep", "sweep-two-keys",
                                  "frontier", "hedge", "hedge-h20"])
def test_every_report_fits_the_page_without_scrolling_sideways(every_report, name, width,
                                                               tmp_path):
    """No horizontal scroll bar at 1200 px or 800 px: the page is no wider than the window,
    no table is wider than its container (unless in an announced scrolling box), the page
    logs nothing to the console, and the status badge's text is not in its own colour (an
    'infeasible' badge was red on red)."""
    measured = layout(every_report[name], width, tmp_path)
    assert measured["innerWidth"] == width
    assert measured["console"] == []
    assert measured["scrollWidth"] <= measured["innerWidth"], measured
    wide = [t for t in measured["tables"] if t["width"] > t["container"] + 1]
    assert [t for t in wide if not t["scroll"]] == [], wide
    assert all("scrolls sideways" in t["note"] for t in wide), wide
    assert measured["tables"] or name == "plan-infeasible"
    assert measured["badge"] is None or measured["badge"][0] != measured["badge"][1]
