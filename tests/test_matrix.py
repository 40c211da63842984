"""The sparse model: duplicate coefficients summed, CSC/CSR consistent, relaxation, fixing."""

import numpy as np

from chipmix.model.matrix import LinearModel


def small_model():
    m = LinearModel()
    x = m.add_columns(
        "buy", [("a", "2024Q1"), ("b", "2024Q1")], upper=[10, 5], cost=[3.0, 2.0], integer=True
    )
    y = m.add_columns("use", [("a",)], cost=0.5)
    # row 0: x0 + x0 + x1 >= 4 (duplicate entry for x0 must sum to 2)
    m.add_rows(
        "demand",
        [("w", "2024Q1")],
        [0, 0, 0],
        [x.start, x.start, x.start + 1],
        [1.0, 1.0, 1.0],
        lower=4.0,
    )
    m.add_rows("link", [("a",)], [0, 0], [y.start, x.start], [1.0, -8.0], upper=0.0)
    return m


def test_duplicates_are_summed_and_forms_agree():
    m = small_model()
    a = m.arrays()
    dense_csc = np.zeros((m.num_rows, m.num_cols))
    for j in range(m.num_cols):
        for k in range(a["csc_start"][j], a["csc_start"][j + 1]):
            dense_csc[a["csc_index"][k], j] += a["csc_value"][k]
    dense_csr = np.zeros_like(dense_csc)
    for i in range(m.num_rows):
        for k in range(a["csr_start"][i], a["csr_start"][i + 1]):
            dense_csr[i, a["csr_index"][k]] += a["csr_value"][k]
    assert np.array_equal(dense_csc, dense_csr)
    assert dense_csc[0].tolist() == [2.0, 1.0, 0.0]
    assert dense_csc[1].tolist() == [-8.0, 0.0, 1.0]
    assert m.num_nonzeros == 4


def test_names_parse_back():
    m = small_model()
    assert m.col_names() == ["buy[a,2024Q1]", "buy[b,2024Q1]", "use[a]"]
    assert m.row_names() == ["demand[w,2024Q1]", "link[a]"]


def test_relaxed_and_fixed_integers():
    m = small_model()
    assert m.num_integers == 2
    assert m.relaxed().num_integers == 0
    fixed = m.with_fixed_integers(np.array([1.2, 2.7, 0.0])).arrays()
    assert fixed["col_lower"][:2].tolist() == [1.0, 3.0]
    assert fixed["col_upper"][:2].tolist() == [1.0, 3.0]
    assert not fixed["integer"].any()


def test_activity():
    m = small_model()
    assert m.activity(np.array([1.0, 2.0, 3.0])).tolist() == [4.0, -5.0]


def test_both_solvers_solve_the_matrix():
    from chipmix.solve import SolverOptions, Status, solve

    m = small_model()
    for name in ("highs", "cbc"):
        r = solve(m, SolverOptions(name=name, gap=0.0))
        assert r.status == Status.OPTIMAL
        # 2·x0 + x1 >= 4 with costs 3, 2 → x1 = 4 costs 8; x0=2 costs 6; x0=1,x1=2 costs 7 → 6
        assert r.objective == np.float64(6.0)
        assert r.x[:2].round().tolist() == [2.0, 0.0]
