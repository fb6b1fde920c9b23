"""The explorer's callback logic as plain functions, and its widget layer without a browser."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

import secretome as st
from secretome import ensemble
from secretome import explorer as ex
from secretome.errors import SecretomeError


@pytest.fixture(scope="module")
def a431_paper() -> ex.ExplorerRun:
    # one parameter set (no bands), whether or not a posterior is shipped
    return ex.run(ex.settings_for("mirfendereski2024_A431"), n_points=25, ensemble_choice=None)


def test_settings_for_a_shipped_scenario_rebuild_it():
    shipped = st.load_scenario("farahzadi2024_KG1a_CD34")
    built = ex.build_scenario(ex.settings_for(shipped))
    assert (built.cell_line, built.msc_source, built.mode) == (
        shipped.cell_line,
        shipped.msc_source,
        shipped.mode,
    )
    assert built.doses == shipped.doses[:1]
    assert built.study == shipped.study
    assert set(shipped.sampling_h) <= set(built.sampling_h)
    assert (built.tumour_cells, built.medium_ml) == (shipped.tumour_cells, shipped.medium_ml)
    assert built.well_capacity_cells == shipped.well_capacity_cells


def test_perturbations_become_model_inputs_and_leave_the_paper():
    base = ex.settings_for("mirfendereski2024_AGS")
    changed = dataclasses.replace(base, neutralise=("IL4",), inhibit=(("JAK", 0.5), ("mTOR", 1.0)))
    scenario = ex.build_scenario(changed)
    inputs = {p.model_input: p.amount for p in scenario.perturbations}
    assert inputs == {"neutralise_IL4": 1.0, "inhib_JAK2": 0.5, "inhib_MTOR": 1.0}
    assert all(p.arms == "both" for p in scenario.perturbations)
    assert scenario.study == ""  # no paper did this: no data are matched


def test_every_inhibitor_control_sets_a_model_input():
    table = st.load_model().parameters
    model_inputs = set(table.loc[table["scope"] == "input", "name"])
    inputs = ex.inhibitor_inputs()
    assert set(inputs) == {"JAK", "PI3K", "MEK", "mTOR"}
    assert all(name in model_inputs for name in inputs.values())


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"mode": "injection"}, "mode"),
        ({"duration_h": 0.0}, "duration_h"),
        ({"neutralise": ("IL15",)}, "neutralise"),
        ({"inhibit": (("JAK", 1.5),)}, "inhibit JAK"),
        ({"inhibit": (("EGFR", 0.5),)}, "unknown inhibitor 'EGFR'"),
        ({"parameters": "posterior"}, "parameters"),
        ({"msc_cells": 1e12}, "limit"),
    ],
)
def test_bad_settings_are_refused_by_name(change, named):
    bad = dataclasses.replace(ex.settings_for("mirfendereski2024_AGS"), **change)
    with pytest.raises(SecretomeError, match=named):
        ex.build_scenario(bad)


def test_unknown_cell_line_names_the_known_ones():
    bad = dataclasses.replace(ex.default_settings(), cell_line="HeLa")
    with pytest.raises(SecretomeError, match=r"HeLa.*AGS"):
        ex.build_scenario(bad)


def test_the_paper_experiment_shows_its_data(a431_paper):
    assert a431_paper.paper == "mirfendereski2024_A431"
    assert set(a431_paper.comparison["study"]) == {"mirfendereski2024"}
    points = ex.data_points(a431_paper)
    mtt = points[points["variable"] == "viable_cells"]
    # the paper states a 30.12 % increase: 130.12 % of control on the MTT panel
    assert mtt["observed"].tolist() == pytest.approx([130.12])
    assert mtt["time_h"].tolist() == [96.0]


def test_a_changed_experiment_shows_no_data_and_says_why():
    s = dataclasses.replace(ex.settings_for("mirfendereski2024_A431"), mode="conditioned_medium")
    r = ex.run(s, n_points=13)
    assert r.comparison.empty and r.paper == ""
    assert "transwell" in r.why_no_data
    assert ex.data_points(r).empty
    assert ex.plot_data(r) is None
    assert "No paper data" in ex.describe(r)


def test_curves_start_at_control_and_cover_every_panel(a431_paper):
    c = ex.curves(a431_paper)
    assert set(c["panel"]) == {*ex.PANELS, *ex.FATE_PANELS}
    first = c[c["time_h"] == 0.0]
    folds = first[first["panel"].isin(list(ex.PANELS))]
    assert np.allclose(folds["value"], 1.0)  # both arms start from the control state
    mtt = first[first["variable"] == "viable_cells"]
    assert mtt["value"].tolist() == pytest.approx([100.0])
    assert c["lower"].isna().all()  # one parameter set: no band
    assert ex.SINGLE_SET_NOTE in ex.describe(a431_paper)


def test_a_mek_inhibitor_lowers_perk_in_both_arms(a431_paper):
    s = dataclasses.replace(a431_paper.settings, inhibit=(("MEK", 0.9),))
    inhibited = ex.run(s, n_points=25).result.timecourses
    plain = a431_paper.result.timecourses

    def control_perk(tc):
        v = tc[(tc["variable"] == "pERK") & (tc["arm"] == "control")]
        return v["level"].iloc[-1]

    assert control_perk(inhibited) < 0.5 * control_perk(plain)


def test_nominal_and_fitted_parameters_differ(a431_paper):
    nominal = ex.run(dataclasses.replace(a431_paper.settings, parameters="nominal"), n_points=13)
    assert "nominal" in nominal.parameters_label
    assert "fitted" in a431_paper.parameters_label
    mtt = [
        r.result.observables.query("observable == 'viable_cells'")["value"].iloc[0]
        for r in (nominal, a431_paper)
    ]
    assert mtt[0] != pytest.approx(mtt[1], rel=1e-3)


PERCENTS = [0.0, 5.0, 50.0, 100.0]


@settings(max_examples=40, deadline=None)
@given(
    percents=hs.fixed_dictionaries(
        {k: hs.sampled_from([0.0, 5.0, 50.0, 100.0]) for k in ex.INHIBITORS}
    ),
    il2=hs.booleans(),
    il4=hs.booleans(),
    cm=hs.floats(0, 120),
)
def test_controls_to_settings_to_scenario(percents, il2, il4, cm):
    values = {
        "cell_line": "MDA-MB-231",
        "msc_source": "human_adipose",
        "mode": "conditioned_medium",
        "msc_cells": 1e4,
        "cm_percent": cm,
        "duration_h": 48.0,
        "parameters": "fitted",
        "neutralise_IL2": il2,
        "neutralise_IL4": il4,
        **{f"inhibit_{k}": v for k, v in percents.items()},
    }
    s = ex.settings_from_controls(values)
    # slider values are rounded to 1e-6 % (a browser slider reports 168 as 167.99999999999997)
    assert s.cm_fraction == pytest.approx(round(cm, 6) / 100)
    scenario = ex.build_scenario(s)
    inputs = {p.model_input: p.amount for p in scenario.perturbations}
    expected = {f"inhib_{ex.INHIBITORS[k]}": v / 100 for k, v in percents.items() if v > 0}
    expected |= {f"neutralise_{c}": 1.0 for c, on in (("IL2", il2), ("IL4", il4)) if on}
    assert inputs == pytest.approx(expected)
    assert scenario.doses == pytest.approx((round(cm, 6) / 100,))


def test_the_widgets_rerun_on_a_change():
    pytest.importorskip("ipywidgets")
    box = st.explore(n_points=13)
    status = box.children[1]
    assert "farahzadi2024" in status.value
    controls = box.children[0].children[0].children  # first column: cell line first
    controls[0].value = "AGS"
    assert "AGS" in status.value and "mirfendereski2024" in status.value


def test_slider_rounding_still_finds_the_paper():
    # a browser slider reports 168 h as 167.99999999999997; the paper's rows must still match
    values = {
        "cell_line": "KG1a_CD34",
        "msc_source": "rat_bone_marrow",
        "mode": "transwell",
        "msc_cells": 1e5 * (1 + 1e-15),
        "cm_percent": 100.0,
        "duration_h": 167.99999999999997,
        "parameters": "fitted",
    }
    r = ex.run(ex.settings_from_controls(values), n_points=13)
    assert r.paper == "farahzadi2024_KG1a_CD34"


def test_an_ensemble_of_one_set_gives_a_band_of_zero_width(a431_paper):
    fit = dict(st.parameter_sets.shipped_fit().as_dict())
    same = ensemble.from_draws([fit, fit, fit], label="the shipped fit three times")
    r = ex.run(a431_paper.settings, n_points=25, ensemble_choice=same)
    c = ex.curves(r)
    assert np.allclose(c["lower"], c["value"]) and np.allclose(c["upper"], c["value"])
    assert "3 draws" in r.band_note


def test_an_ensemble_band_brackets_its_draws(a431_paper):
    fit = dict(st.parameter_sets.shipped_fit().as_dict())
    draws = [fit, {**fit, "w_inh_OF": 0.5}, {**fit, "w_inh_OF": 1.9}]
    r = ex.run(a431_paper.settings, n_points=25, ensemble_choice=ensemble.from_draws(draws))
    c = ex.curves(r)
    assert (c["lower"] <= c["upper"] + 1e-12).all()
    mtt = c[c["variable"] == "viable_cells"].iloc[-1]
    assert mtt["upper"] - mtt["lower"] > 1.0  # the brake's strength moves viability
    # the band lies within the range of the draws, each simulated on its own
    scenario = ex.build_scenario(a431_paper.settings)
    ends = [
        st.simulate(scenario, d, timecourses=False)
        .observables.query("observable == 'viable_cells'")["value"]
        .iloc[-1]
        for d in draws
    ]
    assert min(ends) - 1e-6 <= mtt["lower"] <= mtt["upper"] <= max(ends) + 1e-6


def test_no_band_for_nominal_values_or_when_asked(a431_paper):
    nominal = dataclasses.replace(a431_paper.settings, parameters="nominal")
    assert ex.band_ensemble(nominal) is None
    assert ex.band_ensemble(a431_paper.settings, None) is None


def test_a_long_band_note_does_not_widen_the_figure(a431_paper):
    """Regression: the subtitle carried the ensemble's whole label on one line, and
    inline backends crop a figure to what is drawn, so the panels shrank."""
    import matplotlib.pyplot as plt

    long_note = "band: " + "a provenance note with a long command line " * 12
    run = dataclasses.replace(a431_paper, band_note=long_note)
    fig = ex.plot_run(run)
    try:
        fig.canvas.draw()
        title = fig._suptitle
        assert all(len(line) <= 200 for line in title.get_text().split("\n"))
        box = title.get_window_extent(renderer=fig.canvas.get_renderer())
        assert box.width <= fig.bbox.width
    finally:
        plt.close(fig)
