"""A sweep variant that takes an earlier variant's plan is exact (``chipmix.solve.session``).

Within a chunk of variants a worker solves in order, a MILP may take the plan of an earlier
one when the earlier model contains it at no lower cost, the plan is feasible for it and
within the gap of the earlier proven bound (``carried``). Proved here: the same statuses
and objectives (within the gap) as solving every variant, the checker accepts carried
plans, results do not depend on the number of workers, and ``contains`` refuses every
change that could loosen the model or lower a cost.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from helpers import assert_verified, three_sku_scenario

import chipmix
import chipmix.studies.execute as execute
from chipmix.inputs.overrides import apply_overrides
from chipmix.inputs.scenario import Scenario
from chipmix.model.build import build
from chipmix.model.data import prepare
from chipmix.pipeline.reuse import reusing
from chipmix.solve import SolverOptions, solve
from chipmix.solve.session import contains
from chipmix.studies.common import make_job
from chipmix.studies.execute import chunks_of, run_variants
from chipmix.studies.sweep import grid, parse_vary, results_frame

#: a higher share and less supply only tighten: later variants may take earlier plans
VARY = ["policy.domestic_share=0:0.5:0.1", "supply.acme-a=12,9,6,3"]


def variant(scenario, overrides):
    job = make_job(scenario)
    data = apply_overrides(job.data, overrides, schema=Scenario, label="v")
    return Scenario.from_dict(data, base_dir=job.base_dir, source_name="v")


def sweep(scenario, *, carry: bool, workers: int = 1, gap: float = 1e-9, lines: bool = False):
    job = dataclasses.replace(make_job(scenario, diagnose=False, gap=gap), carry=carry)
    axes = parse_vary(job.data, VARY)
    variants = grid(axes)
    line = len(variants.values[-1]) if lines else None
    outcomes, _ = run_variants(job, variants, workers=workers, line=line)
    return results_frame(outcomes, variants, axes, [str(p) for p in scenario.periods])


def test_chunks_depend_on_the_count_alone():
    assert [len(c) for c in chunks_of(7)] == [1] * 7  # a frontier's few probes: one per task
    assert [len(c) for c in chunks_of(24)] == [3] * 8
    sizes = [len(c) for c in chunks_of(205)]
    assert sizes == [10] * 20 + [5] and sum(sizes) == 205


def test_chunks_follow_a_grids_lines():
    # 20 lines of 10: one chunk per line; lines of 25 cut into 3 near-equal chunks
    assert chunks_of(200, 10) == [range(i, i + 10) for i in range(0, 200, 10)]
    cut = chunks_of(100, 25)
    assert [len(c) for c in cut] == [8, 9, 8] * 4
    assert all(c.start // 25 == (c.stop - 1) // 25 for c in cut)  # never across a line
    assert [i for c in cut for i in c] == list(range(100))
    # too short to tell a direction, a single axis, or not a grid: the count's own chunks
    for count, line in ((40, 2), (40, 40), (41, 10)):
        assert chunks_of(count, line) == chunks_of(count)


def test_a_sweep_by_lines_has_the_optima_of_one_without_carrying(tmp_path):
    from chipmix.pipeline import reuse

    scenario = three_sku_scenario(tmp_path)
    carried = sweep(scenario, carry=True, lines=True)
    session = reuse._WORKER["session"]
    assert session is not None and session.stats["carried"] > 0, session.stats
    solved = sweep(scenario, carry=False, lines=True)
    assert list(carried["status"]) == list(solved["status"])
    assert carried["objective"].to_numpy() == pytest.approx(solved["objective"].to_numpy(),
                                                            rel=1e-7)
    assert carried.equals(sweep(scenario, carry=True, workers=2, lines=True))


def test_a_sweep_with_carried_plans_has_the_optima_of_one_without(tmp_path, monkeypatch):
    monkeypatch.setattr(execute, "MIN_CHUNKS", 1)  # one chunk of 10 after another
    from chipmix.pipeline import reuse

    scenario = three_sku_scenario(tmp_path)
    carried = sweep(scenario, carry=True)
    session = reuse._WORKER["session"]
    assert session is not None and session.stats["carried"] > 0, session.stats
    solved = sweep(scenario, carry=False)
    assert list(carried["status"]) == list(solved["status"])
    assert carried["objective"].to_numpy() == pytest.approx(solved["objective"].to_numpy(),
                                                            rel=1e-7)
    assert carried.equals(sweep(scenario, carry=True, workers=2))


def test_a_carried_plan_passes_the_checker(tmp_path):
    base = three_sku_scenario(tmp_path)
    tighter = variant(base, {"supply.acme-a": 3, "policy.domestic_share.2024Q2": 0.35})
    with reusing() as session:
        session.carry = True
        chipmix.plan(base, gap=1e-6)
        plan = chipmix.plan(tighter, gap=1e-6)
        session.carry = False
    assert session.stats["carried"] == 1, session.stats
    assert plan.ok and "earlier variant" in plan.message
    assert_verified(plan, tighter)
    fresh = chipmix.plan(tighter, gap=1e-6)
    assert plan.objective == pytest.approx(fresh.objective, rel=1e-6)


def test_a_looser_variant_is_solved(tmp_path):
    base = three_sku_scenario(tmp_path)
    looser = variant(base, {"policy.domestic_share.2024Q2": 0.2})  # base: 0.3
    with reusing() as session:
        session.carry = True
        chipmix.plan(base, gap=1e-6)
        plan = chipmix.plan(looser, gap=1e-6)
    assert session.stats["carried"] == 0
    assert plan.objective == pytest.approx(chipmix.plan(looser, gap=1e-6).objective, rel=1e-6)


def model_of(scenario):
    model, _ = build(prepare(scenario))
    model.arrays()
    return model


def changed(model, **arrays):
    a = {k: v.copy() for k, v in model.arrays().items()}
    for name, edit in arrays.items():
        edit(a[name])
    out = model.with_arrays(**{k: a[k] for k in ("col_lower", "col_upper", "cost",
                                                   "row_lower", "row_upper")})
    out._frozen = {**out.arrays(), "csc_value": a["csc_value"]}  # contains() reads CSC only
    return out


def test_contains_refuses_what_could_loosen_or_cheapen(tmp_path):
    model = model_of(three_sku_scenario(tmp_path))
    a = {k: v.copy() for k, v in model.arrays().items()}
    assert contains(model, a, model.objective_offset)
    finite_up = int(np.flatnonzero(np.isfinite(a["col_upper"]))[0])
    finite_row = int(np.flatnonzero(np.isfinite(a["row_upper"]) | np.isfinite(a["row_lower"]))[0])

    def bump(i, by):
        return lambda v: v.__setitem__(i, v[i] + by)

    assert contains(changed(model, col_upper=bump(finite_up, -1)), a, model.objective_offset)
    assert not contains(changed(model, col_upper=bump(finite_up, 1)), a,
                        model.objective_offset)
    assert not contains(changed(model, cost=bump(int(np.argmax(a["cost"])), -1.0)), a,
                        model.objective_offset)
    assert contains(changed(model, cost=bump(int(np.argmax(a["cost"])), 1.0)), a,
                    model.objective_offset)
    side = "row_upper" if np.isfinite(a["row_upper"][finite_row]) else "row_lower"
    loosen = 1.0 if side == "row_upper" else -1.0
    assert not contains(changed(model, **{side: bump(finite_row, loosen)}), a,
                        model.objective_offset)
    assert contains(changed(model, **{side: bump(finite_row, -loosen)}), a,
                    model.objective_offset)
    assert not contains(model, a, model.objective_offset + 1.0)


def test_coefficients_may_only_tighten_their_row(tmp_path):
    model = model_of(three_sku_scenario(tmp_path))
    a = {k: v.copy() for k, v in model.arrays().items()}
    rows = a["csc_index"]
    one_sided_upper = np.isfinite(a["row_upper"][rows]) & ~np.isfinite(a["row_lower"][rows])
    cols = np.repeat(np.arange(model.num_cols), np.diff(a["csc_start"]))
    k = int(np.flatnonzero(one_sided_upper & (a["col_lower"][cols] >= 0))[0])

    def bump(by):
        return lambda v: v.__setitem__(k, v[k] + by)

    # a . x <= u: a larger coefficient on a column >= 0 tightens, a smaller one loosens
    assert contains(changed(model, csc_value=bump(0.5)), a, model.objective_offset)
    assert not contains(changed(model, csc_value=bump(-0.5)), a, model.objective_offset)


def test_a_carried_result_is_what_a_solve_may_return(tmp_path):
    """The same model: the carried plan is the plan, within the gap of the bound."""
    model = model_of(variant(three_sku_scenario(tmp_path), {"supply.acme-a": 6}))
    options = SolverOptions(gap=1e-9, threads=1)
    with reusing() as session:
        session.carry = True
        first = solve(model, options)
        again = solve(model, options)
    assert session.stats["carried"] == 1
    assert again.extra.get("cumulative") and again.objective == pytest.approx(first.objective)
    assert np.allclose(again.x, first.x)


def test_a_chunk_is_solved_loosest_first(tmp_path):
    job = make_job(three_sku_scenario(tmp_path))
    rising = [(i, {"supply.acme-a": s}) for i, s in enumerate((3, 6, 9))]
    assert execute._loosest_first(job, rising)[0] == rising[::-1]
    falling = rising[::-1]
    assert execute._loosest_first(job, falling)[0] == falling
    mixed = [(0, {"supply.acme-a": 3}), (1, {"policy.domestic_share.2024Q2": 0.1}),
             (2, {"supply.acme-a": 9, "policy.domestic_share.2024Q2": 0.5})]
    assert execute._loosest_first(job, mixed)[0] == mixed  # neither end contains the other


def test_an_end_of_another_shape_asks_its_neighbour(tmp_path):
    # no supply of a SKU builds no purchase columns for it: that end's model has another
    # shape and cannot be compared; the variant next to it says which way the chunk runs
    job = make_job(three_sku_scenario(tmp_path))
    rising = [(i, {"supply.acme-a": s}) for i, s in enumerate((0, 3, 6, 9))]
    built = {i: execute.variant_run(job, i, o).model for i, o in rising}
    assert execute.shape_key(built[0]) != execute.shape_key(built[3])
    assert execute.shape_key(built[1]) == execute.shape_key(built[3])
    ordered, runs = execute._loosest_first(job, rising)
    assert ordered == rising[::-1] and {0, 3} <= set(runs) <= {0, 1, 2, 3}
    assert execute._loosest_first(job, rising[::-1])[0] == rising[::-1]


def test_a_chunk_ends_built_run_plans_as_a_fresh_variant(tmp_path):
    # the two ends are built once, to order the chunk, and planned from that build: the
    # row must be the one a variant planned from scratch gets (same model, same solve)
    job = make_job(three_sku_scenario(tmp_path))
    rising = [(i, {"supply.acme-a": s}) for i, s in enumerate((3, 6, 9))]
    ordered, built = execute._loosest_first(job, rising)
    assert sorted(built) == [0, 2]
    for index, overrides in (rising[0], rising[2]):
        assert built[index].model.num_cols > 0 and built[index].options.threads == 1
        handed = execute.solve_variant(job, index, overrides, built[index]).row
        fresh = execute.solve_variant(job, index, overrides).row
        assert handed == fresh


def test_a_bad_variant_at_a_chunk_end_leaves_the_order(tmp_path):
    job = make_job(three_sku_scenario(tmp_path))
    chunk = [(0, {"supply.acme-a": 3}), (1, {"supply.acme-a": 6}),
             (2, {"supply.acme-a": "lots"})]
    ordered, built = execute._loosest_first(job, chunk)
    assert ordered == chunk and 2 not in built
    outcomes = execute._solve_chunk(job, chunk)
    assert [o.index for o in outcomes] == [0, 1, 2]
    assert outcomes[2].row["status"] == "error" and outcomes[0].row["status"] == "optimal"


@pytest.mark.parametrize("relax", [False, True])
@pytest.mark.parametrize(("overrides", "status"), [
    ({}, "optimal"), ({"supply.acme-a": 3}, "optimal"),
    ({"policy.domestic_share": 0.5}, "optimal"),
    ({"supply.acme-a": 0, "supply.bolt-b": 0, "supply.dragon-d": 0}, "optimal")])  # all short
def test_a_variant_row_from_the_summary_extract_is_the_full_plans_row(tmp_path, overrides,
                                                                      status, relax):
    # a study extracts only the tables its row reads (extract(run, summary=True)); the row
    # must be the one the full plan gives: optimal, supply-bound, share-bound, all short
    # (no plan: tests/test_studies.py)
    from chipmix.pipeline.run import Run
    from chipmix.planner.extract import extract
    from chipmix.studies.summary import plan_summary, sku_table

    scenario = variant(three_sku_scenario(tmp_path), overrides)
    run = Run.for_scenario(scenario, relax=relax).build().solve()
    skus, names = sku_table(scenario), list(scenario.workload_names)
    full, light = extract(run), extract(run, summary=True)
    assert full.status.value == light.status.value == status
    assert plan_summary(light, skus, names) == plan_summary(full, skus, names)
