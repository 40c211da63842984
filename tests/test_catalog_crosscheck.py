"""``chipmix catalog check --against FILE`` (Epoch AI's ML hardware layout) and
``chipmix catalog volumes`` (vendor-level market volumes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chipmix.errors import InputError
from chipmix.inputs.catalog import load_catalogs
from chipmix.inputs.crosscheck import crosscheck, model_tokens, read_epoch_csv
from chipmix.inputs.volumes import load_volumes

DATA = Path(__file__).parent / "data"
EPOCH = DATA / "epoch_ml_hardware_sample.csv"
cli = pytest.importorskip("chipmix.cli")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def h800_only(folder: Path) -> tuple[Path, Path]:
    """A one-row catalog (the H800) and the fixture's H800 row alone: nothing differs."""
    catalog = folder / "one.csv"
    catalog.write_text(
        "id,vendor,name,origin,datacenter,release,bf16_dense_tflops,int8_dense_tops,die_area_mm2,"
        "memory_gb,memory_bw_tbps,interconnect_gbps,tdp_w,sources\n"
        "nvidia-h800,Nvidia,H800 SXM5,US,true,2023,989.4,1979,814,80,3.35,400,700,"
        "https://example.com/h800\n", encoding="utf-8")
    epoch = folder / "epoch.csv"
    lines = EPOCH.read_text(encoding="utf-8").splitlines()
    rows = [line for line in lines if line.startswith("NVIDIA H800")]
    epoch.write_text("\n".join([lines[0], *rows]) + "\n", encoding="utf-8")
    return catalog, epoch


@pytest.fixture(scope="module")
def bundled():
    return load_catalogs(["nvidia", "amd", "china"])


def test_model_tokens():
    assert model_tokens("nvidia-rtx-4090d") == {"4090d"}
    assert model_tokens("nvidia-rtx-5090d-v2") == {"5090d", "v2"}
    assert model_tokens("huawei-ascend-910c") == {"910c"}
    assert model_tokens("amd-mi325x") == {"mi325x"}


def test_crosscheck_finds_each_difference_and_each_missing_part(bundled):
    result = crosscheck(bundled, EPOCH)
    assert result.matches == {
        "nvidia-h100": "NVIDIA H100 SXM5 80GB",
        "nvidia-h800": "NVIDIA H800 SXM5",
        "nvidia-rtx-pro-6000d": "NVIDIA RTX Pro 6000D",
        "amd-mi325x": "AMD Instinct MI325X",
        "metax-c500": "MetaX MXC500 (OAM)",  # matched through the vendor-prefixed token
    }
    figures = {(d.sku, d.field): d for d in result.differences if d.kind in ("figure", "release")}
    assert set(figures) == {("metax-c500", "memory_bw_tbps"), ("nvidia-h100", "price_usd"),
                            ("nvidia-h100", "release"), ("nvidia-rtx-pro-6000d", "tpp")}
    assert (figures["metax-c500", "memory_bw_tbps"].catalog,
            figures["metax-c500", "memory_bw_tbps"].file) == (1.8, 18.0)  # Epoch's known error
    assert "bound <4800 excludes the file's 6000" in figures["nvidia-rtx-pro-6000d", "tpp"].detail
    missing_here = [d.hardware for d in result.differences if d.kind == "missing_in_catalog"]
    assert missing_here == ["Huawei Ascend 920"]  # Google's TPU is another manufacturer
    assert result.ignored_rows == 1
    missing_there = {d.sku for d in result.differences if d.kind == "missing_in_file"}
    assert "nvidia-h200" in missing_there and "nvidia-h100" not in missing_there
    assert not result.ok


def test_tolerance_and_aliases(bundled):
    loose = crosscheck(bundled, EPOCH, tolerance=0.2)
    assert ("nvidia-h100", "price_usd") not in {(d.sku, d.field) for d in loose.differences}
    pinned = crosscheck(bundled, EPOCH, aliases={"nvidia-h200": "NVIDIA H800 SXM5"})
    assert pinned.matches["nvidia-h200"] == "NVIDIA H800 SXM5"
    with pytest.raises(InputError, match="no such hardware name"):
        crosscheck(bundled, EPOCH, aliases={"nvidia-h200": "NVIDIA H900"})
    with pytest.raises(InputError, match="--tolerance"):
        crosscheck(bundled, EPOCH, tolerance=1.5)


def test_a_clean_match_finds_nothing(tmp_path):
    catalog, epoch = h800_only(tmp_path)
    result = crosscheck(load_catalogs([catalog]), epoch)
    assert result.ok and result.matches == {"nvidia-h800": "NVIDIA H800 SXM5"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Name,Maker\nx,y\n", "missing columns; .*'Hardware name', 'Manufacturer'"),
        ("Hardware name,Manufacturer,TDP (W)\nx,NVIDIA,lots\n", "row 2: column 'TDP \\(W\\)': got 'lots'"),
        ("Hardware name,Manufacturer,Release date\nx,NVIDIA,soon\n", "column 'Release date': got 'soon'"),
    ],
)
def test_bad_epoch_files(tmp_path, text, expected):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InputError, match=expected):
        read_epoch_csv(path)


def test_cli_check_exits_1_on_differences_0_when_clean_2_on_bad_input(capsys, tmp_path):
    code, out, _ = run(capsys, "catalog", "check", "--against", str(EPOCH))
    assert code == 1
    assert "metax-c500 ~ 'MetaX MXC500 (OAM)': memory_bw_tbps: catalog 1.8, file 18" in out
    assert "'Huawei Ascend 920': not in the catalogs" in out
    code, out, _ = run(capsys, "catalog", "check", "--against", str(EPOCH), "--json")
    assert code == 1 and json.loads(out)["ok"] is False
    one, clean = h800_only(tmp_path)
    code, out, _ = run(capsys, "catalog", "check", "--against", str(clean), "--catalog", str(one))
    assert code == 0 and "0 figures differ, 0 SKUs missing" in out
    code, _, err = run(capsys, "catalog", "check", "--against", str(tmp_path / "nope.csv"))
    assert code == 2 and "file not found" in err
    code, _, err = run(capsys, "catalog", "check", "--against", str(EPOCH), "--alias", "h100")
    assert code == 2 and "SKU=Hardware name" in err


# -- volumes ---------------------------------------------------------------------------------


def test_bundled_volumes_are_sourced_and_convert_to_quarters():
    volumes = load_volumes()
    assert {v.vendor for v in volumes} >= {"Huawei", "Cambricon", "Kunlunxin", "T-Head", "Enflame",
                                          "MetaX", "Iluvatar"}
    for v in volumes:
        assert v.source.startswith("http") and v.confidence in ("high", "medium", "low")
    t_head = next(v for v in volumes if v.vendor == "T-Head")
    assert (t_head.units, t_head.months) == (265000, 12)
    assert t_head.per_quarter(0.04) == pytest.approx(265000 * 0.04 / 4)
    metax = next(v for v in volumes if v.vendor == "MetaX")
    assert metax.months == 27


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        ("X,2025-01,2025-12,abc,output,p,b,high,https://e.com,", "column 'units': got 'abc'"),
        ("X,2025-01,2024-12,1,output,p,b,high,https://e.com,", "on or after from 2025-01"),
        ("X,2025-13,2025-12,1,output,p,b,high,https://e.com,", "a month YYYY-MM"),
        ("X,2025-01,2025-12,1,guess,p,b,high,https://e.com,", "output \\| plan"),
        ("X,2025-01,2025-12,1,output,p,b,sure,https://e.com,", "high \\| medium \\| low"),
        ("X,2025-01,2025-12,1,output,p,b,high,somewhere,", "an http\\(s\\) URL"),
    ],
)
def test_bad_volumes(tmp_path, row, expected):
    path = tmp_path / "v.csv"
    path.write_text("vendor,from,to,units,measure,products,basis,confidence,source,notes\n"
                    + row + "\n", encoding="utf-8")
    with pytest.raises(InputError, match=f"row 2: .*{expected}"):
        load_volumes(path)


def test_cli_volumes(capsys):
    code, out, _ = run(capsys, "catalog", "volumes", "--vendor", "cambricon", "--json")
    rows = json.loads(out)
    assert code == 0 and {r["vendor"] for r in rows} == {"Cambricon"}
    assert {r["units"] for r in rows} >= {142000, 500000}
    code, _, err = run(capsys, "catalog", "volumes", "--vendor", "Huawai")
    assert code == 2 and "did you mean 'Huawei'" in err
