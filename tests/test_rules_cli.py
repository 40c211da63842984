"""``chipmix classify``, ``chipmix timeline`` and ``chipmix rules list|show``."""

from __future__ import annotations

import json

import pytest
from test_rules_support import FIXTURE_CATALOG

from chipmix.rules import bundled_rulesets

cli = pytest.importorskip("chipmix.cli")
CAT = ["--catalog", str(FIXTURE_CATALOG)]


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_json(capsys, *args: str):
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_classify_json(capsys):
    rows = {r["sku"]: r for r in run_json(capsys, "classify", *CAT, "--at", "2024-01-01")}
    a100 = rows["nvidia-a100"]
    assert a100["status"] == "denied"
    assert a100["tpp"] == 4992
    assert a100["performance_density"] == pytest.approx(6.0436, abs=1e-4)
    assert a100["reasons"][0]["rule"] == "us-2023-10"
    assert a100["reasons"][0]["detail"] == "datacenter, tpp 4992 ≥ 4800"
    assert rows["nvidia-l2"]["performance_density"] is None  # NaN -> null
    assert rows["nvidia-rtx-4090d"]["margin"] == "tpp 4707.2: 1.9 % below 4800"
    assert rows["nvidia-h20"]["status"] == "allowed"


def test_classify_options(capsys, tmp_path):
    args = ["classify", *CAT, "--at", "2025-06-01", "--unknown", "lenient"]
    rows = {r["sku"]: r for r in run_json(capsys, *args)}
    assert rows["nvidia-rtx-pro-6000d"]["status"] == "allowed"  # 1398 GB/s < 1400
    rows = {
        r["sku"]: r for r in run_json(capsys, *args, "--param", "h20_class_memory_bw_gbps=1300")
    }
    assert rows["nvidia-rtx-pro-6000d"]["status"] == "license"
    rows = {
        r["sku"]: r
        for r in run_json(
            capsys,
            "classify",
            *CAT,
            "--at",
            "2026-02-01",
            "--buyer",
            "state_funded",
            "--rules",
            "cn-2025-11-state-funded-dc",
        )
    }
    assert rows["nvidia-l20"]["status"] == "denied"
    assert rows["huawei-ascend-910b"]["status"] == "allowed"


def test_classify_table(capsys):
    code, out, _ = run(capsys, "classify", *CAT, "--at", "2026-02-01")
    assert code == 0
    assert "nvidia-h200" in out and "license" in out and "+25 %" in out
    assert "rule sets in force" in out and "us-2026-01-case-by-case" in out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["classify", "--at", "2024-13-01"], "--at"),
        (["classify", "--param", "h20"], "name=number"),
        (["classify", "--unknown", "loose"], "strict | lenient"),
        (["classify", "--rules", "us-2023-1"], "did you mean 'us-2023-10'"),
        (["classify", "--buyer", "sate_funded"], "did you mean 'state_funded'"),
        (["classify", "--param", "h20_bw=5"], "unknown rule parameter"),
        (["timeline", "nvidia-h2000"], "did you mean"),
        (["timeline", "nvidia-h20", "--from", "2024-01-01", "--to", "2023-01-01"], "--to"),
        (["rules", "show", "us-2023-1"], "did you mean 'us-2023-10'"),
    ],
)
def test_user_errors_exit_2_with_one_line(capsys, args, needle):
    code, out, err = run(capsys, *args[:1], *CAT if args[0] != "rules" else [], *args[1:])
    assert code == 2
    assert out == ""
    assert needle in err
    assert len(err.strip().splitlines()) == 1


def test_timeline_json_and_table(capsys):
    result = run_json(
        capsys,
        "timeline",
        "nvidia-a100",
        "nvidia-h20",
        *CAT,
        "--from",
        "2022-01-01",
        "--to",
        "2025-12-31",
    )
    a100, h20 = result
    # runs split where the status or the deciding control changes
    assert [(s["from"], s["status"], s["rule"]) for s in a100["segments"]] == [
        ("2022-01-01", "allowed", None),
        ("2022-08-26", "license", "us-2022-08-letters"),
        ("2022-10-07", "denied", "us-2022-10"),
        ("2023-11-17", "denied", "us-2023-10"),
    ]
    assert a100["segments"][-1]["until"] == "2026-01-01"
    assert [(c["date"], c["to"], c["decision"]["issued"]) for c in h20["changes"]] == [
        ("2025-04-09", "license", False),  # a licence needed, none issued until Aug
        ("2025-08-08", "license", True),
        ("2025-09-17", "denied", True),
    ]
    assert h20["changes"][1]["decision"]["fee"] == pytest.approx(0.15)
    code, out, _ = run(capsys, "timeline", "nvidia-a800", *CAT, "--to", "2024-01-01")
    assert code == 0
    assert "2023-10-23" in out and "us-2023-10-accel" in out


def test_rules_list_and_show(capsys, tmp_path):
    listed = run_json(capsys, "rules", "list")
    assert {r["id"] for r in listed} == set(bundled_rulesets())
    assert listed[0]["effective"] <= listed[-1]["effective"]
    shown = run_json(capsys, "rules", "show", "us-2023-10")
    assert [c["id"] for c in shown["controls"]] == [
        "3A090.a datacenter",
        "3A090.a consumer (NAC)",
        "3A090.b datacenter (NAC)",
    ]
    assert shown["controls"][1]["condition"] == "not datacenter and tpp ≥ 4800"
    code, out, _ = run(capsys, "rules", "show", "us-2025-04-h20")
    assert code == 0
    assert "h20_class_memory_bw_gbps" in out and "1400" in out
    code, out, _ = run(capsys, "rules", "list")
    assert code == 0 and "us-2026-01-case-by-case" in out
    code, out, _ = run(capsys, "rules", "show", "us-2024-12-hbm")
    assert code == 0 and "no controls" in out


def test_new_rule_file_through_the_cli(capsys, tmp_path):
    path = tmp_path / "us-2027-01.yaml"
    path.write_text(
        "id: us-2027-01\ntitle: t\nauthority: US\neffective: 2027-01-01\napplies_to: [CN]\n"
        "confidence: press\nsources: [https://example.org]\ncontrols:\n"
        "  - {id: all-nvidia, status: denied, when: {vendor: [Nvidia]}}\n",
        encoding="utf-8",
    )
    rows = run_json(capsys, "classify", *CAT, "--at", "2027-06-01", "--rules", str(path))
    statuses = {r["sku"]: r["status"] for r in rows}
    assert statuses["nvidia-l2"] == "denied"
    assert statuses["huawei-ascend-910b"] == "allowed"


# -- issue 13: bounds, pre-release flags, announced dates, floors, licences not issued --------


def test_classify_shows_bounds_and_pre_release_statuses(capsys):
    rows = {r["sku"]: r for r in run_json(capsys, "classify", "--at", "2024-01-01")}
    pro = rows["nvidia-rtx-pro-6000d"]  # bundled catalog: TPP and PD known only as bounds
    assert pro["tpp"] is None
    assert pro["bounds"] == {"tpp": "< 4800", "performance_density": "< 5.92"}
    assert (pro["released"], pro["release"]) == (False, "2025-07")
    assert rows["nvidia-a100"]["released"] is True
    code, out, _ = run(capsys, "classify", "--at", "2024-01-01")
    assert code == 0 and "<4800" in out and "pre-release" in out
    assert "not on sale" in out


def test_classify_lists_the_floors_in_force(capsys):
    code, out, _ = run(capsys, "classify", "--at", "2025-09-01", "--buyer", "state_funded")
    assert code == 0
    assert "domestic-share floor: cn-2025-08-hub-domestic-share" in out
    assert "≥ 50 % of fleet (units) domestic" in out
    rows = run_json(capsys, "classify", "--at", "2025-05-01", "--catalog", "nvidia")
    h20 = next(r for r in rows if r["sku"] == "nvidia-h20")
    assert (h20["status"], h20["issued"]) == ("license", False)
    code, out, _ = run(capsys, "classify", "--at", "2025-05-01", "--catalog", "nvidia")
    assert "none issued" in out


def test_timeline_json_carries_the_buyers_floors(capsys):
    (plain,) = run_json(capsys, "timeline", "nvidia-h20", "--from", "2025-01-01", "--to",
                        "2025-12-31")
    assert plain["share_floors"] == []  # a buyer without floors
    (state,) = run_json(capsys, "timeline", "nvidia-h20", "--buyer", "state_funded", "--from",
                        "2025-01-01", "--to", "2025-12-31")
    assert [s["from"] for s in state["share_floors"]] == ["2025-01-01", "2025-08-17"]
    assert state["share_floors"][1]["floors"][0]["floor"] == 0.5
    assert state["sku"] == "nvidia-h20"


def test_timeline_splits_at_the_release(capsys):
    (item,) = run_json(capsys, "timeline", "nvidia-rtx-pro-6000d", "--from", "2025-01-01",
                       "--to", "2025-12-31")
    assert item["release"] == "2025-07-01"
    assert [(s["from"], s["released"]) for s in item["segments"]][:2] == [
        ("2025-01-01", False), ("2025-07-01", True)]
    code, out, _ = run(capsys, "timeline", "nvidia-rtx-pro-6000d", "--from", "2025-01-01")
    assert code == 0 and "pre-release" in out


def test_rules_show_and_list_the_announcement_and_floors(capsys):
    shown = run_json(capsys, "rules", "show", "us-2023-10")
    assert (shown["announced"], shown["effective"]) == ("2023-10-17", "2023-11-17")
    code, out, _ = run(capsys, "rules", "show", "us-2023-10")
    assert "announced 2023-10-17; effective 2023-11-17" in out
    code, out, _ = run(capsys, "rules", "show", "cn-2025-08-hub-domestic-share")
    assert code == 0 and "domestic-share floors" in out and "50 %" in out and "fleet" in out
    code, out, _ = run(capsys, "rules", "show", "us-2025-04-h20")
    assert "none issued" in out
    listed = {r["id"]: r for r in run_json(capsys, "rules", "list")}
    assert listed["us-2023-10"]["announced"] == "2023-10-17"
    assert listed["cn-2025-08-hub-domestic-share"]["domestic_share"] == 1
    code, out, _ = run(capsys, "rules", "list")
    assert "announced 2023-10-17" in out
