"""Malformed inputs through the command line: exit 2, one line on stderr, nothing on stdout.

The corpus is ``tests/malformed/`` (see ``expected.yaml`` there): catalogs (``catalog
validate``), rule sets (``rules show``), scenarios (``scenario validate``), scenarios whose
problem shows only when planning (``plan --json``) and plan files (``verify``). Each message must name the file and
contain every expected substring (location, field, value, expectation, did-you-mean hint).
Workbooks (binary) are generated here. A few cases also run in a real subprocess
(``python -m chipmix``) to check the entry point itself, not only ``chipmix.cli.main``.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from chipmix.cli import main

CORPUS = Path(__file__).parent / "malformed"
SRC = Path(__file__).resolve().parent.parent / "src"
EXPECTED: dict[str, dict] = yaml.safe_load((CORPUS / "expected.yaml").read_text(encoding="utf-8"))
COMMANDS = {
    "catalogs": ["catalog", "validate"],
    "rules": ["rules", "show"],
    "scenarios": ["scenario", "validate"],
    "plans": ["plan"],
    "verify": ["verify"],
}


def command(case: str) -> list[str]:
    """The CLI arguments that load the corpus file ``case``."""
    folder = case.split("/")[0]
    args = [*COMMANDS[folder], str(CORPUS / case)]
    if folder == "plans":
        return [*args, "--json"]
    if folder == "verify":
        return [*args, str(CORPUS / "support" / "base.yaml")]
    return args


def run_cli(args: list[str], capfd) -> tuple[int, str, str]:
    """``chipmix ARGS`` in this process: exit code, stdout, stderr (file-descriptor level, so
    a solver library writing to fd 1 or 2 is caught too)."""
    capfd.readouterr()
    code = main(args)
    out, err = capfd.readouterr()
    return code, out, err


def assert_one_line_error(code: int, out: str, err: str, expect: list[str]) -> str:
    """Exit 2, nothing on stdout, exactly one line on stderr holding every ``expect``."""
    assert "Traceback" not in err, err
    assert code == 2, f"exit {code}; stderr: {err}"
    assert out == "", f"stdout not empty: {out[:300]!r}"
    lines = err.splitlines()
    assert len(lines) == 1, f"stderr is not one line: {err!r}"
    line = lines[0]
    assert line.startswith("error: "), line
    missing = [text for text in expect if text not in line]
    assert not missing, f"{missing} not in: {line}"
    return line


def _case_params():
    params = []
    for case, spec in sorted(EXPECTED.items()):
        marks = []
        if spec.get("known_bug"):
            marks.append(pytest.mark.xfail(reason=spec["known_bug"], strict=True))
        params.append(pytest.param(case, spec, id=case, marks=marks))
    return params


# -- the corpus --------------------------------------------------------------------------------


def test_corpus_has_40_cases_and_each_file_is_listed():
    files = {
        str(path.relative_to(CORPUS))
        for folder in COMMANDS
        for path in (CORPUS / folder).iterdir()
        if path.is_file()
    }
    assert files == set(EXPECTED), (
        f"not in expected.yaml: {sorted(files - set(EXPECTED))}; "
        f"listed but missing: {sorted(set(EXPECTED) - files)}"
    )
    assert len(EXPECTED) >= 40
    for folder in COMMANDS:
        assert any(case.startswith(f"{folder}/") for case in EXPECTED), folder


@pytest.mark.parametrize(("case", "spec"), _case_params())
def test_malformed_input(case, spec, capfd):
    line = assert_one_line_error(*run_cli(command(case), capfd), spec["expect"])
    names = spec.get("names", Path(case).name)
    if names is not None:
        assert names in line, f"the message does not name the file {names}: {line}"


# -- workbooks (generated: binary files) --------------------------------------------------------

XLSX_HEADER = ["id", "vendor", "name", "origin", "datacenter", "release", "bf16_dense_tflops",
               "memory_gb", "memory_bw_tbps", "interconnect_gbps", "sources"]
XLSX_ROW = ["acme-a", "Acme", "A", "US", True, 2023, 1000, 80, 2.0, 400, "https://example.com/a"]


def _row(**cells):
    row = list(XLSX_ROW)
    for name, value in cells.items():
        row[XLSX_HEADER.index(name)] = value
    return row


XLSX_CASES = {
    "empty": ([], ["the first sheet is empty", "expected a header row"]),
    "header_only": ([XLSX_HEADER], ["no SKU rows below the header"]),
    "text_for_number": ([XLSX_HEADER, _row(memory_gb="eighty")],
                        ["row 2", "column 'memory_gb'", "got 'eighty'", "expected a number >= 0"]),
    "negative": ([XLSX_HEADER, _row(memory_bw_tbps=-2.0)],
                 ["row 2", "column 'memory_bw_tbps'", "got '-2'", "expected a number >= 0"]),
    "huge": ([XLSX_HEADER, _row(bf16_dense_tflops=1e300)],
             ["row 2", "column 'bf16_dense_tflops'", "got '1e+300'", "<= 1e+15"]),
    "unknown_column": ([[*XLSX_HEADER[:-1], "source"], XLSX_ROW],
                       ["row 1 (header)", "column 'source'", "did you mean 'sources'?"]),
    "duplicate_id": ([XLSX_HEADER, XLSX_ROW, XLSX_ROW],
                     ["row 3", "duplicate id", "first in row 2"]),
    "date_for_release": ([XLSX_HEADER, _row(release=dt.datetime(2023, 3, 1))],
                         ["row 2", "column 'release'", "got '2023-03-01'", "YYYY-MM"]),
    "error_cell": ([XLSX_HEADER, _row(memory_gb="#DIV/0!")],
                   ["row 2", "cell H2", "spreadsheet error in a cell", "got '#DIV/0!'"]),
    "formula_without_value": ([XLSX_HEADER, _row(memory_gb="=40*2")],
                              ["row 2", "cell H2", "formula without a saved value", "got '=40*2'"]),
    "bool_text": ([XLSX_HEADER, _row(datacenter="sometimes")],
                  ["row 2", "column 'datacenter'", "got 'sometimes'"]),
}


def _write_workbook(path: Path, rows: list[list], first_sheet_empty: bool = False) -> None:
    openpyxl = pytest.importorskip("openpyxl")
    book = openpyxl.Workbook()
    sheet = book.active
    if first_sheet_empty:
        sheet.title = "notes"
        sheet = book.create_sheet("catalog")
    for row in rows:
        sheet.append(row)
    book.save(path)


@pytest.mark.parametrize("name", sorted(XLSX_CASES))
def test_malformed_workbook(name, tmp_path, capfd):
    rows, expect = XLSX_CASES[name]
    path = tmp_path / f"{name}.xlsx"
    _write_workbook(path, rows)
    line = assert_one_line_error(*run_cli(["catalog", "validate", str(path)], capfd), expect)
    assert path.name in line


def test_workbook_reads_only_the_first_sheet(tmp_path, capfd):
    path = tmp_path / "second.xlsx"
    _write_workbook(path, [XLSX_HEADER, XLSX_ROW], first_sheet_empty=True)
    assert_one_line_error(*run_cli(["catalog", "validate", str(path)], capfd),
                          ["second.xlsx", "the first sheet is empty"])


def test_valid_workbook_passes(tmp_path, capfd):
    path = tmp_path / "good.xlsx"
    _write_workbook(path, [XLSX_HEADER, XLSX_ROW])
    code, out, err = run_cli(["catalog", "validate", str(path)], capfd)
    assert code == 0 and "(1 SKUs)" in out, err


def test_workbook_that_unpacks_past_the_size_limit(tmp_path, capfd):
    """A zip bomb: a few hundred kB on disk, more than 64 MiB unpacked."""
    import zipfile

    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"0" * (65 * 2**20))
    assert path.stat().st_size < 2**20
    assert_one_line_error(*run_cli(["catalog", "validate", str(path)], capfd),
                          ["bomb.xlsx", "bytes unpacked", "at most 67,108,864",
                           "--limit file-bytes="])


def test_extends_chain_too_long(tmp_path, capfd):
    """Each ``extends`` level recurses: a chain of 100 files stops at 32, cleanly."""
    for i in range(100):
        (tmp_path / f"s{i}.yaml").write_text(f"extends: s{i + 1}.yaml\n", encoding="utf-8")
    (tmp_path / "s100.yaml").write_text("name: end\n", encoding="utf-8")
    assert_one_line_error(*run_cli(["scenario", "validate", str(tmp_path / "s0.yaml")], capfd),
                          ["s31.yaml: extends", "more than 32 files in an extends chain"])


# -- arguments rather than files ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["catalog", "validate", "nvidai"],
         ["unknown catalog", "got 'nvidai'", "did you mean 'nvidia'?"]),
        (["catalog", "validate", "no/such/catalog.csv"], ["catalog.csv", "catalog file not found"]),
        (["scenario", "validate", "no-such-scenario.yaml"],
         ["no-such-scenario.yaml", "file not found"]),
        (["rules", "show", "us-2099-01"], ["unknown rule set", "got 'us-2099-01'", "did you mean"]),
        (["plan", "{base}", "--json", "--time-limit", "-1"],
         ["--time-limit", "got -1.0", "a number of seconds > 0"]),
        (["plan", "{base}", "--json", "--gap", "nan"], ["--gap", "got nan", "a number >= 0"]),
        (["plan", "{base}", "--json", "--threads", "0"], ["--threads", "got 0", "from 1 to 256"]),
        (["plan", "{base}", "--json", "--threads", "100000"], ["--threads", "got 100000"]),
        (["plan", "{base}", "--json", "--solver", "gurobi"],
         ["solver", "got 'gurobi'", "one of highs, cbc, highs-pulp"]),
    ],
    ids=lambda value: " ".join(value).replace("{base} --json ", "") if value[0] in (
        "catalog", "scenario", "rules", "plan") else "expect",
)
def test_malformed_arguments(args, expect, capfd):
    args = [a.replace("{base}", str(CORPUS / "support" / "base.yaml")) for a in args]
    assert_one_line_error(*run_cli(args, capfd), expect)


# -- decisions: inputs that look odd but are accepted ------------------------------------------


def test_bom_is_accepted(capfd):
    """Excel's "CSV UTF-8" starts with a byte-order mark; it is dropped, not an error."""
    code, out, err = run_cli(["catalog", "validate", str(CORPUS / "support" / "bom_ok.csv")], capfd)
    assert code == 0 and "(2 SKUs)" in out, err


def test_rule_naming_a_sku_absent_from_the_catalogs_is_accepted(tmp_path, capfd):
    """A rule set is shared across scenarios whose catalogs differ (the bundled H20 rule names
    ``amd-mi308x``, which no bundled catalog lists): naming a SKU that the loaded catalogs do not
    hold is not an error; the control simply never fires. See docs/SECURITY.md."""
    rule = CORPUS / "support" / "rule_unknown_sku.yaml"
    code, out, err = run_cli(["rules", "show", str(rule)], capfd)
    assert code == 0, err
    scenario = tmp_path / "s.yaml"
    text = (CORPUS / "support" / "base.yaml").read_text(encoding="utf-8")
    text = text.replace("good.csv", str(CORPUS / "support" / "good.csv"))
    scenario.write_text(text.replace("rules: []", f"rules: [{rule}]"), encoding="utf-8")
    code, out, err = run_cli(["plan", str(scenario), "--json"], capfd)
    assert code == 0 and '"status": "optimal"' in out, err


def test_yaml_tags_never_run_code(tmp_path, capfd):
    """A ``!!python/...`` tag is refused before anything is built: the directory the payload
    would create does not appear."""
    target = tmp_path / "created-by-yaml"
    evil = tmp_path / "evil.yaml"
    evil.write_text(f"name: !!python/object/apply:os.mkdir ['{target}']\n", encoding="utf-8")
    for args in (["scenario", "validate", str(evil)], ["rules", "show", str(evil)]):
        assert_one_line_error(*run_cli(args, capfd), ["unsupported YAML tag"])
    assert not target.exists()


# -- the real entry point ------------------------------------------------------------------------


@pytest.mark.parametrize("case", ["catalogs/latin1.csv", "scenarios/key_typo.yaml",
                                  "rules/alias_bomb.yaml"])
def test_subprocess_prints_one_line(case):
    path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run([sys.executable, "-m", "chipmix", *command(case)], capture_output=True,
                          text=True, env=env, timeout=120)
    assert_one_line_error(done.returncode, done.stdout, done.stderr, EXPECTED[case]["expect"])
