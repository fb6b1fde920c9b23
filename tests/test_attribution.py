"""Attribution of each readout's change to the secretome's factors (issue 12, item 6)."""

from __future__ import annotations

import numpy as np
import pytest

import secretome as st
from secretome.contributions import FACTORS, attribution
from secretome.contributions_report import plot_attribution
from secretome.errors import SecretomeError

KG1A = st.load_scenario("farahzadi2024_KG1a_CD34")


@pytest.fixture(scope="module")
def kg1a():
    return attribution(KG1A)


def test_omitting_every_factor_is_the_control_arm():
    everything = {f"omit_{f}": 1.0 for f in FACTORS}
    obs = st.simulate(KG1A, everything, timecourses=False).observables
    ratio = obs[obs["assay"] != "annexin"]
    np.testing.assert_allclose(ratio["treated"], ratio["control"], rtol=1e-9)
    annexin = obs[obs["assay"] == "annexin"]
    np.testing.assert_allclose(annexin["value"], annexin["control"], rtol=1e-9)


def test_each_cytokine_in_the_medium_is_its_own_secretion(kg1a):
    t = kg1a.table.set_index("observable")
    for factor in ("IL2", "IL4", "IL15"):
        row = t.loc[f"elisa_{factor}"]
        assert row["total"] > 0.01
        assert row[factor] == pytest.approx(row["total"], rel=1e-9)
        others = [f for f in FACTORS if f != factor]
        np.testing.assert_allclose(row[others].to_numpy(dtype=float), 0, atol=1e-6)


def test_units_follow_the_assay(kg1a):
    t = kg1a.table.set_index("observable")
    assert t.loc["early_apoptotic", "unit"] == "% points"
    assert t.loc["viable_cells", "unit"] == "ln FC"
    # MTT: 100 x treated / control, so its change is ln(value / 100)
    assert t.loc["viable_cells", "total"] == pytest.approx(
        np.log(t.loc["viable_cells", "value"] / 100)
    )


def test_a_readout_the_model_cannot_change_gets_no_share(kg1a):
    row = kg1a.table.set_index("observable").loc["prot_ERK_total"]
    np.testing.assert_allclose(row[["total", *FACTORS]].to_numpy(dtype=float), 0, atol=1e-6)


def test_omit_inputs_in_params_are_refused():
    with pytest.raises(SecretomeError, match="omit_OF"):
        attribution(KG1A, {"omit_OF": 1.0})


def test_unknown_observables_are_refused():
    with pytest.raises(SecretomeError, match=r"unknown observable.*nope"):
        attribution(KG1A, observables=["nope"])


def test_figure_has_one_panel_per_unit_with_labelled_axes(kg1a):
    fig = plot_attribution(kg1a)
    labels = [ax.get_xlabel() for ax in fig.axes]
    assert labels == [
        "change from control, ln fold change",
        "change from control, percentage points",
    ]
    ticks = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert "elisa_IL2 @168 h" in ticks


def test_cli_simulate_writes_the_attribution(tmp_path, capsys):
    import pandas as pd

    from secretome.cli import main

    out = tmp_path / "run"
    assert main(["simulate", "farahzadi2024_KG1a_CD34", "--attribution", "--out", str(out)]) == 0
    table = pd.read_csv(out / "attribution.csv").set_index("observable")
    assert list(table.columns[-5:]) == [*FACTORS, "interaction"]
    assert table.loc["elisa_IL2", "IL2"] == pytest.approx(table.loc["elisa_IL2", "total"])
    assert (out / "attribution.png").stat().st_size > 0
    assert "what each secretome factor contributes" in capsys.readouterr().out
