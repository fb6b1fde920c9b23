"""docs/scaling.md holds the costs of the last `make bench`, written from its result files.

``benchmarks/scaling_doc.py`` writes three sections of the page from
``benchmarks/results/simulation.json`` and ``scaling.json``; these tests check the
page holds what it writes, that both results are of the shipped model (a rerun
after a model change is not forgotten), and that the cost model's prediction
for the local pool is close to what was measured, which is what the page claims
when it extrapolates to a cluster.
"""

from __future__ import annotations

import pytest

from scripts import load_script

doc = load_script("benchmarks/scaling_doc.py")
STALE = "rerun `make bench` (or `python benchmarks/scaling_doc.py` for the page alone)"


@pytest.mark.parametrize("name", doc.SECTIONS)
def test_the_page_holds_what_the_script_writes(name):
    text = doc.DOC.read_text(encoding="utf-8")
    begin, end = doc.markers(name)
    assert text.count(begin) == 1 and text.count(end) == 1
    assert text.split(begin, 1)[1].split(end, 1)[0] == doc.WRITERS[name](), STALE


def test_the_results_are_of_the_shipped_model():
    """The fit run estimates as many parameters as experiments/fit.toml, and the
    Sobol run varies as many as the KG1-a scenario has free."""
    from secretome.gsa import choose_space
    from secretome.objective import Objective, load_fit_config
    from secretome.scenarios import load_scenario

    scal = doc._load("scaling")
    fit = doc._runs(scal, "fit")[0]
    assert fit["parameters"] == len(Objective(load_fit_config()).space), STALE
    kg1a = len(choose_space(load_scenario("farahzadi2024_KG1a_CD34")))
    assert all(r["parameters"] == kg1a for r in doc._runs(scal, "sobol")), STALE


def test_the_cost_model_reproduces_the_local_runs():
    m = doc.cluster_model()
    for workers, measured in m["measured"].items():
        predicted = doc.expected_wall(m, workers, m["o_local"])
        assert predicted == pytest.approx(measured, rel=0.25), workers
