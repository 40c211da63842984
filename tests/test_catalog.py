"""Catalog schema, loading (CSV/XLSX), error messages and overrides."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pydantic
import pytest

from chipmix.errors import InputError
from chipmix.inputs import catalog as catalog_mod
from chipmix.inputs.catalog import (
    FIELDS,
    RECORD_EXTRAS,
    THROUGHPUT_FIELDS,
    Accelerator,
    bundled_catalogs,
    load_catalog,
    load_catalogs,
)
from chipmix.io import run_scope
from chipmix.resources import catalogs_dir

DATA = Path(__file__).parent / "data"
SMALL = DATA / "catalog_small.csv"

HEADER = ("id", "vendor", "name", "origin", "datacenter", "bf16_dense_tflops", "memory_gb",
          "memory_bw_tbps", "interconnect_gbps", "efficiency_training", "sources")
GOOD = {"id": "acme-a1", "vendor": "Acme", "name": "A1", "origin": "US", "datacenter": "true",
        "bf16_dense_tflops": "312", "memory_gb": "80", "memory_bw_tbps": "2.0",
        "interconnect_gbps": "600", "efficiency_training": "0.4",
        "sources": "https://example.com/a1"}


def csv_text(*rows: dict[str, str], header: tuple[str, ...] = HEADER) -> str:
    lines = [",".join(header)]
    lines += [",".join(row.get(col, "") for col in header) for row in rows]
    return "\n".join(lines) + "\n"


def second(**changes: str) -> dict[str, str]:
    """A valid second row (row 3) with ``changes``."""
    return {**GOOD, "id": "acme-a2", "name": "A2", **changes}


@pytest.fixture
def write(tmp_path: Path):
    def _write(text: str | bytes, name: str = "cat.csv") -> Path:
        path = tmp_path / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path.resolve()

    return _write


def error_of(path: Path) -> str:
    with pytest.raises(InputError) as info:
        load_catalog(path)
    return str(info.value)


# -- schema ------------------------------------------------------------------------------------


def test_fields_are_the_schema_of_accelerator():
    assert [f for f in Accelerator.model_fields if f not in RECORD_EXTRAS] == list(FIELDS)
    for name, spec in FIELDS.items():
        assert spec.kind in ("str", "float", "bool")
        assert spec.description
        assert spec.description in Accelerator.model_fields[name].description
        if spec.kind == "float":
            assert spec.unit, name


def test_schema_matches_the_bundled_column_order():
    assert list(FIELDS) == (
        "id,vendor,name,origin,datacenter,release,fp4_dense_tflops,fp8_dense_tflops,"
        "fp16_dense_tflops,bf16_dense_tflops,tf32_dense_tflops,fp32_tflops,int8_dense_tops,"
        "int4_dense_tops,tpp,performance_density,die_area_mm2,memory_gb,memory_bw_tbps,"
        "interconnect_gbps,pcie_gbps,tdp_w,price_usd,server_size,supply_per_quarter,"
        "lead_quarters,efficiency_training,efficiency_inference,us_available,sources,notes"
    ).split(",")
    assert "bf16_dense_tflops" in THROUGHPUT_FIELDS and "memory_gb" not in THROUGHPUT_FIELDS


def test_accelerator_is_frozen_and_strict():
    record = load_catalog(SMALL).get("acme-a100")
    with pytest.raises(pydantic.ValidationError):
        record.tdp_w = 1.0  # type: ignore[misc]
    with pytest.raises(pydantic.ValidationError):
        Accelerator.model_validate({**record.model_dump(), "colour": "green"})
    with pytest.raises(pydantic.ValidationError):
        Accelerator.model_validate({**record.model_dump(), "efficiency_training": 1.5})


# -- loading -----------------------------------------------------------------------------------


def test_load_small_catalog_records_and_frame():
    catalog = load_catalog(SMALL)
    assert catalog.ids == ["acme-a100", "acme-h800", "dragon-910b", "dragon-x1"]
    a100 = catalog.get("acme-a100")
    assert a100.datacenter is True and a100.origin == "US" and a100.release == "2020"
    assert a100.sources == ("https://example.com/a100", "https://example.org/a100-review")
    assert a100.fp8_dense_tflops is None  # empty = unknown, never 0
    assert a100.server_size == 8.0 and a100.efficiency_training == 0.45
    x1 = catalog.get("dragon-x1")
    assert all(getattr(x1, name) is None for name in THROUGHPUT_FIELDS)  # unknown compute is ok
    assert x1.datacenter is False and x1.interconnect_gbps == 0.0

    frame = catalog.frame
    assert frame.index.name == "id" and list(frame.index) == catalog.ids
    assert list(frame.columns) == [*list(FIELDS)[1:], "catalog", "bounds"]
    assert frame["tdp_w"].dtype == "float64" and frame["datacenter"].dtype == bool
    assert math.isnan(frame.at["acme-a100", "fp8_dense_tflops"])
    # documented defaults filled in the frame, records keep what the file says
    assert frame.at["acme-h800", "server_size"] == 8.0
    assert frame.at["dragon-910b", "pcie_gbps"] == 0.0
    assert frame.at["dragon-x1", "lead_quarters"] == 0.0
    assert frame.at["acme-h800", "efficiency_training"] == 0.4
    assert frame.at["acme-a100", "efficiency_training"] == 0.45
    assert frame.at["acme-a100", "efficiency_inference"] == 0.5
    assert math.isnan(frame.at["acme-a100", "supply_per_quarter"])  # unlimited
    assert catalog.get("dragon-910b").pcie_gbps is None
    assert set(frame["catalog"]) == {str(SMALL.resolve())}
    assert catalog.where("dragon-910b") == f"{SMALL.resolve()} row 4"


def test_rows_count_like_a_spreadsheet(write):
    # header = row 1, first SKU = row 2; a blank line still counts as a row
    path = write(csv_text(GOOD) + "\n" + csv_text(second(memory_gb="lots")).split("\n", 1)[1])
    assert error_of(path) == (
        f"{path}: row 4: column 'memory_gb': got 'lots'; expected a number >= 0"
    )


def test_utf8_bom_is_accepted(write):
    path = write(b"\xef\xbb\xbf" + csv_text(GOOD).encode())
    assert load_catalog(path).ids == ["acme-a1"]


def test_quoted_cells_with_commas_and_newlines(write):
    notes_header = (*HEADER, "notes")
    path = write(csv_text({**GOOD, "notes": '"a, b\nc"'}, header=notes_header))
    assert load_catalog(path).get("acme-a1").notes == "a, b\nc"


# -- bad input, one test per class -------------------------------------------------------------


def test_missing_required_column(write):
    header = tuple(c for c in HEADER if c != "memory_bw_tbps")
    path = write(csv_text(GOOD, header=header))
    assert error_of(path) == (
        f"{path}: row 1 (header): 'memory_bw_tbps': missing required column; expected columns "
        "id, vendor, name, origin, datacenter, memory_gb, memory_bw_tbps, interconnect_gbps, "
        "sources"
    )


def test_unknown_column_names_the_closest(write):
    header = tuple("tdp_watts" if c == "efficiency_training" else c for c in HEADER)
    path = write(csv_text({**GOOD, "tdp_watts": "700"}, header=header))
    assert error_of(path) == (
        f"{path}: row 1 (header): column 'tdp_watts': unknown column; expected a catalog "
        "column (see formats.md) (did you mean 'tdp_w'?)"
    )


def test_duplicate_column(write):
    path = write(csv_text(GOOD, header=(*HEADER, "memory_gb")))
    assert error_of(path) == (
        f"{path}: row 1 (header): column 'memory_gb': duplicate column; expected each column once"
    )


@pytest.mark.parametrize(
    ("column", "text", "expected"),
    [
        ("memory_gb", "80GB", "a number >= 0"),
        ("memory_gb", "-1", "a number >= 0"),
        ("memory_gb", "nan", "a number >= 0"),
        ("memory_gb", "NaN", "a number >= 0"),
        ("memory_bw_tbps", "inf", "a number >= 0"),
        ("bf16_dense_tflops", "1 000", "a number >= 0"),
        ("efficiency_training", "0", "a fraction in (0, 1]"),
        ("efficiency_training", "1.2", "a fraction in (0, 1]"),
        ("datacenter", "maybe", "true/false, yes/no or 1/0"),
        ("id", "Acme_A2", "a slug of lowercase letters, digits and hyphens (e.g. nvidia-h100)"),
        ("origin", "usa", "a two-letter upper-case country code (ISO 3166 alpha-2, e.g. US, CN)"),
        ("origin", "us", "a two-letter upper-case country code (ISO 3166 alpha-2, e.g. US, CN)"),
        ("sources", "see datasheet", "one or more http(s) URLs separated by spaces"),
        ("sources", "https://a.com/x; https://b.com/y",
         "one or more http(s) URLs separated by spaces"),
    ],
)
def test_bad_cell(write, column, text, expected):
    path = write(csv_text(GOOD, second(**{column: text})))
    shown = repr(text)
    assert error_of(path) == f"{path}: row 3: column '{column}': got {shown}; expected {expected}"


@pytest.mark.parametrize("column", ["sources", "vendor", "id", "datacenter"])
def test_required_text_cell_empty(write, column):
    path = write(csv_text(GOOD, second(**{column: ""})))
    message = error_of(path)
    assert message.startswith(f"{path}: row 3: column '{column}': got ''; expected ")
    assert message.endswith("(the column is required)")


def test_empty_numeric_cell_is_unknown(write):
    path = write(csv_text(second(memory_gb="", bf16_dense_tflops="")))
    record = load_catalog(path).get("acme-a2")
    assert record.memory_gb is None and record.bf16_dense_tflops is None


@pytest.mark.parametrize(
    ("header", "value", "expected"),
    [
        ("server_size", "0", "a whole number >= 1"),
        ("server_size", "2.5", "a whole number >= 1"),
        ("lead_quarters", "-1", "a whole number >= 0"),
        ("release", "March 2023", "a year YYYY or a month YYYY-MM"),
        ("release", "2023-13", "a year YYYY or a month YYYY-MM"),
    ],
)
def test_bad_optional_cell(write, header, value, expected):
    path = write(csv_text({**GOOD, header: value}, header=(*HEADER, header)))
    assert error_of(path) == (
        f"{path}: row 2: column '{header}': got {value!r}; expected {expected}"
    )


@pytest.mark.parametrize("word", ["TRUE", "Yes", "1", "false", "NO", "0"])
def test_bool_words(write, word):
    path = write(csv_text({**GOOD, "datacenter": word}))
    assert load_catalog(path).get("acme-a1").datacenter is (word.lower() in ("true", "yes", "1"))


def test_duplicate_id_in_one_file(write):
    path = write(csv_text(GOOD, second(), second()))
    assert error_of(path) == (
        f"{path}: row 4: column 'id': duplicate id; got 'acme-a2'; "
        "expected ids unique in a file (first in row 3)"
    )


def test_duplicate_id_across_catalogs_names_both_files():
    with pytest.raises(InputError) as info:
        load_catalogs([SMALL, DATA / "catalog_other.csv"])
    other = (DATA / "catalog_other.csv").resolve()
    assert str(info.value) == (
        f"{other}: row 3: column 'id': duplicate id: also in {SMALL.resolve()} row 2; "
        "got 'acme-a100'; expected ids unique across a scenario's catalogs"
    )


def test_same_catalog_twice_is_loaded_once():
    assert load_catalogs([SMALL, str(SMALL)]).ids == load_catalog(SMALL).ids


@pytest.mark.parametrize("text", ["", "\n\n", "   \n"])
def test_empty_file(write, text):
    path = write(text)
    assert error_of(path).startswith(f"{path}: file is empty; expected a header row (id, vendor")


def test_header_only(write):
    path = write(",".join(HEADER) + "\n")
    assert error_of(path) == (
        f"{path}: no SKU rows below the header; expected at least one data row"
    )


def test_non_utf8_bytes(write):
    path = write(csv_text(GOOD).replace("Acme", "Acmé").encode("latin-1"))
    text = csv_text(GOOD)
    line = text[: text.index("Acme")].count("\n") + 1
    column = text.index("Acme") - (text[: text.index("Acme")].rfind("\n") + 1) + 4
    assert error_of(path) == (
        f"{path}: line {line}, column {column}: not UTF-8: byte 0xe9; "
        "expected UTF-8 CSV (re-save the file with UTF-8 encoding)"
    )


def test_semicolon_separated(write):
    path = write(csv_text(GOOD).replace(",", ";"))
    message = error_of(path)
    assert message.startswith(f"{path}: row 1 (header): the file looks ';'-separated; got 'id;")
    assert "expected comma-separated values (export as CSV with ',' as the delimiter)" in message


def test_more_cells_than_header(write):
    path = write(csv_text(GOOD).replace("\n", ",extra\n", 2).replace(",extra\n", "\n", 1))
    assert error_of(path) == f"{path}: row 2: more cells than header columns; got 'extra'; " \
        "expected at most 11 cells"


def test_unsupported_extension(write):
    path = write(csv_text(GOOD), name="cat.txt")
    assert error_of(path) == f"{path}: unsupported file type; got '.txt'; expected a .csv or " \
        ".xlsx file"


def test_missing_file(tmp_path):
    path = tmp_path / "nope.csv"
    assert error_of(path) == f"{path.resolve()}: catalog file not found"


# -- XLSX --------------------------------------------------------------------------------------


def test_xlsx_round_trip(tmp_path):
    table = pd.read_csv(SMALL, dtype=str, keep_default_na=False)
    path = tmp_path / "small.xlsx"
    table.to_excel(path, index=False)
    from_xlsx = load_catalog(path)
    from_csv = load_catalog(SMALL)
    assert from_xlsx.records == from_csv.records
    assert set(from_xlsx.frame["catalog"]) == {str(path.resolve())}


def test_xlsx_with_typed_cells(tmp_path):
    # numbers and booleans typed as such in the spreadsheet, not as text
    row = {**GOOD, "datacenter": True, "bf16_dense_tflops": 312, "memory_gb": 80.0,
           "memory_bw_tbps": 2.039, "interconnect_gbps": 0, "efficiency_training": None}
    path = tmp_path / "typed.xlsx"
    pd.DataFrame([row], columns=list(HEADER)).to_excel(path, index=False)
    record = load_catalog(path).get("acme-a1")
    assert record.datacenter is True and record.bf16_dense_tflops == 312.0
    assert record.memory_bw_tbps == 2.039 and record.efficiency_training is None


def test_xlsx_errors_count_rows_like_csv(tmp_path):
    rows = [GOOD, second(tdp_w="hot")]
    path = (tmp_path / "bad.xlsx").resolve()
    pd.DataFrame(rows, columns=[*HEADER, "tdp_w"]).to_excel(path, index=False)
    assert error_of(path) == f"{path}: row 3: column 'tdp_w': got 'hot'; expected a number >= 0"


def test_not_a_workbook(write):
    path = write("not a zip", name="fake.xlsx")
    assert error_of(path).startswith(f"{path}: cannot read as an Excel workbook")


# -- bundled -----------------------------------------------------------------------------------


def test_unknown_bundled_name_lists_the_bundled_ones():
    with pytest.raises(InputError) as info:
        load_catalog("nvidai")
    message = str(info.value)
    assert message.startswith("unknown catalog; got 'nvidai'; expected a bundled catalog name or "
                              "a path to a .csv/.xlsx file (")
    assert "bundled: " in message and "domestic" in message
    if "nvidia" in bundled_catalogs():
        assert "did you mean 'nvidia'?" in message


needs_bundled = pytest.mark.skipif(
    not {"nvidia", "china"} <= set(bundled_catalogs()), reason="bundled catalogs not written yet"
)


@needs_bundled
def test_bundled_catalogs_load_and_alias():
    nvidia, china = load_catalog("nvidia"), load_catalog("china")
    assert len(nvidia) > 0 and len(china) > 0
    assert set(nvidia.frame["catalog"]) == {"nvidia"}
    assert load_catalog("domestic").records == china.records
    assert set(load_catalog("domestic").frame["catalog"]) == {"china"}
    both = load_catalogs(["nvidia", "domestic"])
    assert len(both) == len(nvidia) + len(china)
    assert set(china.frame["origin"]) == {"CN"}


# -- overrides ---------------------------------------------------------------------------------


def test_with_overrides_returns_a_new_catalog():
    catalog = load_catalog(SMALL)
    changed = catalog.with_overrides(
        {"dragon-910b": {"tdp_w": 350, "price_usd": "24000", "efficiency_training": 0.35,
                         "datacenter": False, "sources": ["https://example.cn/a"]}}
    )
    record = changed.get("dragon-910b")
    assert (record.tdp_w, record.price_usd, record.efficiency_training) == (350.0, 24000.0, 0.35)
    assert record.datacenter is False and record.sources == ("https://example.cn/a",)
    assert changed.frame.at["dragon-910b", "tdp_w"] == 350.0
    assert catalog.get("dragon-910b").tdp_w is None  # the original is untouched
    assert changed.ids == catalog.ids and changed.labels == catalog.labels


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"dragon-91b": {"tdp_w": 1}},
         "s.yaml: overrides.dragon-91b: unknown SKU; got 'dragon-91b'; expected a SKU of the "
         "scenario's catalogs (did you mean 'dragon-910b'?)"),
        ({"dragon-910b": {"tdp": 1}},
         "s.yaml: overrides.dragon-910b.tdp: unknown catalog field; got 'tdp' "
         "(did you mean 'tdp_w'?)"),
        ({"dragon-910b": {"tdp_w": -1}},
         "s.yaml: overrides.dragon-910b.tdp_w: got -1; expected a number >= 0"),
        ({"dragon-910b": {"tdp_w": True}},
         "s.yaml: overrides.dragon-910b.tdp_w: got True; expected a number >= 0"),
        ({"dragon-910b": {"efficiency_inference": 2}},
         "s.yaml: overrides.dragon-910b.efficiency_inference: got 2; expected a fraction in "
         "(0, 1]"),
        ({"dragon-910b": {"id": "x"}},
         "s.yaml: overrides.dragon-910b.id: the id cannot be overridden"),
    ],
)
def test_bad_overrides(overrides, expected):
    with pytest.raises(InputError) as info:
        load_catalog(SMALL).with_overrides(overrides, file="s.yaml")
    assert str(info.value) == expected


def test_get_unknown_sku():
    with pytest.raises(InputError, match=r"unknown SKU; got 'acme-h80' \(did you mean 'acme-h800'"):
        load_catalog(SMALL).get("acme-h80")
    assert "acme-h800" in load_catalog(SMALL) and len(load_catalog(SMALL)) == 4


def test_a_file_is_parsed_once_per_content_and_read_every_time(tmp_path):
    """The parse cache never serves stale rows, and every load still records the file."""
    path = tmp_path / "c.csv"
    text = (Path(catalogs_dir()) / "nvidia.csv").read_text(encoding="utf-8")
    path.write_text(text, encoding="utf-8")
    first = load_catalog(path)
    with run_scope() as files:
        again = load_catalog(path)
    assert str(path.resolve()) in {str(Path(p).resolve()) for p in files.contents}
    assert again == first and again is not first
    # same size, other content: parsed afresh
    changed = text.replace(",Nvidia,", ",NVIDIA,", 1)
    assert len(changed) == len(text)
    path.write_text(changed, encoding="utf-8")
    assert load_catalog(path).records[0].vendor == "NVIDIA"
    path.write_text("id,vendor\n", encoding="utf-8")
    with pytest.raises(InputError):
        load_catalog(path)
    assert len(catalog_mod._PARSED) <= catalog_mod.PARSED_FILES
