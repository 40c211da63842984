"""``chipmix hedge`` and ``chipmix replay`` through ``chipmix.cli.main``: JSON on a clean
stdout, the planner's words, ``--verify``, and bad ``uncertainty:`` input exiting 2 with a
named error and no output file."""

from __future__ import annotations

import copy
import json

import pytest
import yaml
from helpers import planner_rule, planner_scenario_dict, planner_sku, train, write_planner_catalog

from chipmix.cli import main

EVENTS = [{"name": "ban", "known_from": "2024Q2", "outcomes": [
    {"name": "no", "probability": 0.5},
    {"name": "yes", "probability": 0.5, "set": {"supply.ca.2024Q2": 0}}]}]


def two_stage_data(folder, **keys):
    """The two-stage case of test_hedge.py as scenario data (hedge: 20 ``ca`` now)."""
    catalog = write_planner_catalog(folder, [planner_sku("ca", vendor="A"),
                                             planner_sku("cb", vendor="B")])
    data = planner_scenario_dict(
        catalog, [train({"2024Q1": 10, "2024Q2": 20})],
        horizon={"start": "2024Q1", "end": "2024Q2"}, supply={"ca": 100},
        prices={"ca": {"2024Q1": 1000, "2024Q2": 800}, "cb": 1500},
        uncertainty={"events": copy.deepcopy(EVENTS)}, solver={"gap": 0.0})
    data.update(keys)
    return data


def write(folder, data, name="scenario.yaml"):
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_hedge_json_on_stdout(tmp_path, capsys):
    path = write(tmp_path, two_stage_data(tmp_path))
    code, out, err = run(capsys, "hedge", path, "--json", "--verify", "-o", tmp_path / "h.json")
    assert code == 0, err
    d = json.loads(out)  # nothing but the JSON on stdout
    assert d["here_and_now"] == [{"period": "2024Q1", "sku": "ca", "servers": 20, "units": 20}]
    assert d["evpi"] == 1000.0 and d["value_of_hedging"] == 1500.0
    assert (tmp_path / "h.json").read_text(encoding="utf-8") == out
    assert "every scenario's plan passes" in err


def test_hedge_terminal_view(tmp_path, capsys):
    path = write(tmp_path, two_stage_data(tmp_path))
    code, out, _ = run(capsys, "hedge", path, "--weight", "0.5", "--alpha", "0.8")
    assert code == 0
    assert "Buy now, before 2024Q2" in out and "risk weight 0.5" in out
    assert "EVPI" in out and "value of hedging" in out


def test_hedge_cbc(tmp_path, capsys):
    path = write(tmp_path, two_stage_data(tmp_path))
    code, out, _ = run(capsys, "hedge", path, "--solver", "cbc", "--json")
    assert code == 0 and json.loads(out)["expected_cost"] == 20000.0


BAD = [
    (lambda u: u["events"][0]["outcomes"][0].update(probability=0.4),
     "uncertainty\\.events\\[0\\]\\.outcomes: .*probabilities summing to 1 \\(they sum to 0.9\\)"),
    (lambda u: u["events"][0].update(known_from="2025Q1"),
     "uncertainty\\.events\\[0\\]\\.known_from: got '2025Q1'; expected a period of the horizon"),
    (lambda u: u["events"].append(copy.deepcopy(u["events"][0])),
     "uncertainty.events: .*event names unique \\('ban' twice\\)"),
    (lambda u: u["events"][0]["outcomes"][1].update(name="no"),
     "outcome names unique in the event \\('no' twice\\)"),
    (lambda u: u["events"][0]["outcomes"][1].update(set={"supply.cc.2024Q2": 0}),
     "uncertainty.events\\[0\\].outcomes\\[1\\]: supply.cc: unknown SKU"),
    (lambda u: u["events"][0]["outcomes"][1].update(set={"suply.ca": 0}),
     "uncertainty.events\\[0\\].outcomes\\[1\\].set: suply: unknown key \\(did you mean 'supply'\\?\\)"),
    (lambda u: u["events"][0]["outcomes"][1].update(set={"supply.ca": -1}),
     "uncertainty.events\\[0\\].outcomes\\[1\\]: supply.ca.*expected a number >= 0"),
    (lambda u: u["events"][0]["outcomes"][1].update(set={"horizon.end": "2024Q4"}),
     "expected keys other than horizon, uncertainty, extends"),
    (lambda u: u["events"][0]["outcomes"][1].update(rules=["us-2025-04-h2"]),
     "outcomes\\[1\\].rules\\[0\\]: unknown rule set.*did you mean 'us-2025-04-h20'"),
    (lambda u: u["events"][0]["outcomes"][1].update(rules=["missing/rule.yaml"]),
     "outcomes\\[1\\].rules\\[0\\]: rule set not found"),
    (lambda u: u.update(risk={"alpha": 1.0}), "uncertainty.risk.alpha: got 1.0; expected a number < 1"),
    (lambda u: u.update(risk={"wieght": 0.2}), "uncertainty.risk.wieght: unknown key"),
    (lambda u: u["events"][0].update(name="ban,2"), "a name without '=' or ','"),
    (lambda u: u.update(events=[]), "uncertainty.events: got \\[\\]; expected at least 1 item"),
]


@pytest.mark.parametrize("corrupt, message", BAD)
def test_bad_uncertainty_exits_2_with_a_named_error(tmp_path, capsys, corrupt, message):
    import re

    data = two_stage_data(tmp_path)
    corrupt(data["uncertainty"])
    path = write(tmp_path, data)
    target = tmp_path / "out.json"
    code, out, err = run(capsys, "hedge", path, "--json", "-o", target)
    assert code == 2
    assert out == "" and not target.exists()
    assert "Traceback" not in err
    assert re.search(message, " ".join(err.split())), err


def test_bad_options_exit_2(tmp_path, capsys):
    path = write(tmp_path, two_stage_data(tmp_path))
    for args in (["--weight", "1.5"], ["--alpha", "1"], ["--draws", "4"]):
        code, _, err = run(capsys, "hedge", path, *args)
        assert code == 2, (args, err)
    data = two_stage_data(tmp_path)
    del data["uncertainty"]
    code, _, err = run(capsys, "hedge", write(tmp_path, data, "plain.yaml"))
    assert code == 2 and "no uncertainty: block" in err


def test_replay_cli(tmp_path, capsys):
    rules = tmp_path / "ban.yaml"
    rules.write_text(planner_rule("ban-a", "2024-02-15",
                                  "  - id: a out\n    status: denied\n    when: {sku: [ca]}\n"),
                     encoding="utf-8")
    data = two_stage_data(tmp_path, rules=[str(rules)])
    del data["uncertainty"]
    data["workloads"] = [train({"2024Q1": 10, "2024Q2": 30})]
    data["prices"] = {"ca": {"2024Q1": 1000, "2024Q2": 900},
                      "cb": {"2024Q1": 1500, "2024Q2": 1400}}
    path = write(tmp_path, data)
    code, out, err = run(capsys, "replay", path, "--json", "--announced", "ban-a=2024-01-20")
    assert code == 0, err
    d = json.loads(out)
    assert d["foresight"] == "myopic" and d["regret"] == 0.0
    assert d["windows"][0]["value"] == 8000.0
    code, out, _ = run(capsys, "replay", path)
    assert code == 0 and "regret $8,000" in out
    code, _, err = run(capsys, "replay", path, "--announced", "ban-a")
    assert code == 2 and "RULE=YYYY-MM-DD" in err
    code, _, err = run(capsys, "replay", path, "--foresight", "psychic")
    assert code == 2 and "myopic or perfect" in err


def test_no_hedge_exits_1_and_still_writes_its_json(tmp_path, capsys):
    """Hard demand that one outcome leaves unserved (no card to buy at all): no hedge."""
    data = two_stage_data(tmp_path)
    data["uncertainty"]["events"][0]["outcomes"][1]["set"] = {"supply.ca": 0, "supply.cb": 0}
    target = tmp_path / "h.json"
    code, out, err = run(capsys, "hedge", write(tmp_path, data), "--json", "-o", target)
    assert code == 1, err
    d = json.loads(out)
    assert d["status"] != "optimal" and d["here_and_now"] == []
    assert target.read_text(encoding="utf-8") == out
    code, out, _ = run(capsys, "hedge", write(tmp_path, data))
    assert code == 1 and "No plan holds in every scenario" in out


def test_hedge_report_file(tmp_path, capsys):
    """--report writes the HTML report of the same hedge; a bad name exits 2 before solving."""
    path = write(tmp_path, two_stage_data(tmp_path))
    page = tmp_path / "hedge.html"
    code, out, err = run(capsys, "hedge", path, "--json", "--report", page)
    assert code == 0, err
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
    assert "ban=yes" in html and json.loads(out)["scenario"] in html
    code, out, err = run(capsys, "hedge", path, "--report", tmp_path / "hedge.pdf")
    assert code == 2 and "a .json (hedge JSON) or .html (report) file name" in " ".join(err.split())
    assert not (tmp_path / "hedge.pdf").exists()


def test_draws_n_colon_m_sets_the_out_of_sample_size(tmp_path, capsys):
    """``--draws N:M``: N draws in the hedge, M fresh draws out of sample; bad forms exit 2."""
    data = two_stage_data(tmp_path)
    del data["uncertainty"]
    data["risks"] = {"revoke": {"ca": {"probability": 0.5, "from": "2024Q2"}}}
    path = write(tmp_path, data, "risky.yaml")
    code, out, err = run(capsys, "hedge", path, "--draws", "6:7", "--seed", "3", "--json")
    assert code == 0, err
    sampled = json.loads(out)["sampled"]
    assert sampled["draws"] == 6 and sampled["test_draws"] == 7
    for bad in ("6:0", "x", "6:", ":7", "0", "6:7:8"):
        code, _, err = run(capsys, "hedge", path, "--draws", bad)
        assert code == 2 and "--draws" in err, (bad, err)
    code, _, err = run(capsys, "--limit", "draws=5", "hedge", path, "--draws", "4:6")
    assert code == 2 and "draws" in err, err
