"""Rule-set files: the bundled sets, loading by id / path / folder, validation errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from chipmix.errors import InputError
from chipmix.rules import Status, bundled_rulesets, load_ruleset, load_rulesets, parse_ruleset

MINIMAL = """\
id: test-2027
title: a test rule
authority: US
effective: 2027-01-01
applies_to: [CN]
confidence: press
sources: [https://example.org/rule]
controls:
  - id: big
    status: denied
    when: {tpp: ">= 10000"}
"""


def write(tmp_path: Path, text: str, name: str = "rule.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_bundled_rule_sets_load_with_sources_confidence_and_id_equal_to_file_name():
    bundled = bundled_rulesets()
    assert len(bundled) >= 10
    for rid, path in bundled.items():
        rs = load_ruleset(path)
        assert rs.id == rid == path.stem
        assert rs.sources, rid
        assert rs.confidence in ("codified", "official", "press")
        assert rs.notes, f"{rid}: every bundled set explains what it encodes"
        assert (rs.authority == "CN") == (rs.confidence == "press" and rid.startswith("cn-"))


def test_bundled_sets_cover_every_item_of_the_spec():
    sets = {rs.id: rs for rs in load_rulesets()}
    expected = {
        "us-2022-10": ("US", "codified", "2022-10-07"),
        "us-2023-10-accel": ("US", "official", "2023-10-23"),
        "us-2023-10": ("US", "codified", "2023-11-17"),
        "us-2024-12-hbm": ("US", "codified", "2024-12-02"),
        "us-2025-04-h20": ("US", "official", "2025-04-09"),
        "us-2025-08-h20-licences": ("US", "press", "2025-08-08"),
        "us-2026-01-case-by-case": ("US", "codified", "2026-01-15"),
        "cn-2025-09-rtx-pro-6000d": ("CN", "press", "2025-09-17"),
        "cn-2025-08-h20-guidance": ("CN", "press", "2025-08-12"),
        "cn-2025-11-state-funded-dc": ("CN", "press", "2025-11-05"),
        "cn-2026-01-h200-customs": ("CN", "press", "2026-01-13"),
    }
    for rid, (authority, confidence, effective) in expected.items():
        rs = sets[rid]
        assert (rs.authority, rs.confidence, rs.effective.isoformat()) == (
            authority,
            confidence,
            effective,
        )
    assert set(sets["us-2023-10"].replaces) == {
        "us-2022-10",
        "us-2023-01-macau",
        "us-2023-10-accel",
    }
    assert "h20_class_memory_bw_gbps" in sets["us-2025-04-h20"].params
    assert sets["us-2025-04-h20"].params["h20_class_memory_bw_gbps"].default == 1400
    relax = sets["us-2026-01-case-by-case"].controls[0]
    assert (relax.mode, relax.status, relax.fee) == ("relax", Status.license, 0.25)
    h20 = sets["us-2025-08-h20-licences"].controls[0]
    assert (h20.mode, h20.fee) == ("relax", 0.15)


def test_thresholds_come_from_the_rule_text_not_chip_names():
    # only the letters, licences and Chinese measures that name parts may name SKUs
    may_name = {
        "us-2022-08-letters",
        "us-2025-04-h20",
        "us-2025-08-h20-licences",
        "cn-2025-08-h20-guidance",
        "cn-2025-09-rtx-pro-6000d",
        "cn-2026-01-h200-customs",
        "cn-2026-01-h200-conditional",
    }
    for rs in load_rulesets():
        names_sku = any("sku" in c.when.metrics() for c in rs.controls)
        assert not names_sku or rs.id in may_name, rs.id


def test_status_order():
    assert Status.allowed < Status.notify < Status.license < Status.denied
    assert Status.parse("Denied") is Status.denied
    assert (str(Status.license), f"{Status.notify:>7}") == ("license", " notify")
    with pytest.raises(ValueError, match="did you mean 'license'"):
        Status.parse("licence")


def test_load_by_id_path_and_folder(tmp_path):
    path = write(tmp_path, MINIMAL)
    assert [rs.id for rs in load_rulesets(["us-2023-10"])] == ["us-2023-10"]
    assert [rs.id for rs in load_rulesets([path])] == ["test-2027"]
    assert [rs.id for rs in load_rulesets([tmp_path])] == ["test-2027"]
    assert [rs.id for rs in load_rulesets(["rule.yaml"], base_dir=tmp_path)] == ["test-2027"]
    both = load_rulesets([*bundled_rulesets(), tmp_path])
    assert len(both) == len(bundled_rulesets()) + 1


def test_unknown_bundled_id_suggests_the_closest():
    with pytest.raises(InputError, match="did you mean 'us-2023-10'"):
        load_rulesets(["us-2023-1O"])


def test_duplicate_ids_name_both_files(tmp_path):
    a = write(tmp_path, MINIMAL, "a.yaml")
    b = write(tmp_path, MINIMAL, "b.yaml")
    with pytest.raises(InputError, match="defined twice") as info:
        load_rulesets([a, b])
    assert "a.yaml" in str(info.value) and "b.yaml" in str(info.value)


def test_replaces_must_name_a_known_rule_set(tmp_path):
    path = write(tmp_path, MINIMAL.replace("applies_to", "replaces: [us-2023-1]\napplies_to"))
    with pytest.raises(InputError, match=r"replaces\[0\].*did you mean"):
        load_rulesets([path])


@pytest.mark.parametrize(
    ("old", "new", "needle"),
    [
        ("effective: 2027", "efective: 2027", "efective: unknown key (did you mean 'effective'?)"),
        (
            "    status: denied",
            "    stauts: denied",
            "controls[0].stauts: unknown key (did you mean 'status'?)",
        ),
        ("    status: denied", "    status: banned", "controls[0].status: got 'banned'"),
        ("    status: denied", "    status: denied\n    mode: relx", "did you mean 'relax'"),
        ("effective: 2027-01-01", "effective: 2027-13-01", "expected dates as YYYY-MM-DD"),
        (
            "effective: 2027-01-01",
            "effective: 1 Jan 2027",
            "effective: got '1 Jan 2027'; expected a date",
        ),
        ("confidence: press", "confidence: rumour", "expected codified | official | press"),
        ("applies_to: [CN]", "applies_to: [China]", "applies_to[0]"),
        ("sources: [https://example.org/rule]\n", "", "sources: missing key"),
        (
            '{tpp: ">= 10000"}',
            '{all: [{datacenter: true}, {tpp: "10000"}]}',
            "controls[0].when.all[1].tpp",
        ),
        ('{tpp: ">= 10000"}', '{tpp: ">= ${bw}"}', "unknown parameter 'bw'"),
        ("    status: denied", "    status: denied\n    fee: -1", "controls[0].fee"),
        ("effective: 2027-01-01", "effective: 2027-01-01\nuntil: 2026-01-01", "until"),
    ],
)
def test_validation_errors(tmp_path, old, new, needle):
    assert old in MINIMAL
    path = write(tmp_path, MINIMAL.replace(old, new))
    with pytest.raises(InputError) as info:
        load_ruleset(path)
    message = str(info.value)
    assert str(path) in message
    assert needle in message


def test_params_scalar_or_mapping_and_control_extras():
    rs = parse_ruleset(
        {
            "id": "p",
            "title": "t",
            "authority": "us",
            "effective": "2025-01-01",
            "applies_to": "cn",
            "confidence": "official",
            "sources": ["s"],
            "params": {"a": 1400, "b": {"default": 900, "unit": "GB/s", "confidence": "press"}},
            "controls": [
                {
                    "id": "c",
                    "status": "license",
                    "mode": "relax",
                    "fee": 0.25,
                    "cap": 100,
                    "buyers": ["soe"],
                    "when": {"memory_bw_gbps": ">= ${a}"},
                }
            ],
        }
    )
    assert rs.authority == "US" and rs.applies_to == ("CN",)
    assert rs.param_defaults() == {"a": 1400.0, "b": 900.0}
    assert rs.params["b"].unit == "GB/s"
    c = rs.controls[0]
    assert (c.fee, c.cap, c.buyers) == (0.25, 100.0, ("soe",))
    assert rs.to_dict()["controls"][0]["condition"] == "memory_bw_gbps ≥ ${a}"
