"""Issue 16, item 15: figures say what their axes are, and draw what they claim."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from secretome import cli, report, scenarios
from secretome.simulation import simulate


@pytest.fixture(scope="module")
def six_doses():
    """The six-dose MTT experiment of najafi2024 (conditioned medium, 48 h)."""
    s = scenarios.load_scenario("najafi2024_MDA-MB-231_mtt")
    assert len(s.doses) == 6
    return simulate(s, record=report.record_variables())


@pytest.fixture(scope="module")
def transwell():
    s = scenarios.modify(scenarios.load_scenario("mirfendereski2024_AGS"), doses=[1e4, 6e4, 2e5])
    return simulate(s, record=report.record_variables())


def test_dose_response_has_a_log_axis_with_its_unit(transwell, six_doses):
    fig = report.plot_response(
        transwell.observables, ["viable_cells"], "dose", dose_label="MSCs per well"
    )
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "MSCs per well (log scale)"
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert labels and not any("10^" in t or "times" in t for t in labels), labels
    plt.close(fig)
    fig = report.plot_response(
        six_doses.observables, ["viable_cells"], "dose", dose_label="CM fraction"
    )
    assert fig.axes[0].get_xlabel() == "CM fraction (log scale)"
    plt.close(fig)


def test_timecourse_titles_and_legend_name_the_doses(transwell):
    fig = report.plot_timecourses(transwell, note="parameters: nominal")
    title = fig._suptitle.get_text()
    assert "(-)" not in title and "parameters: nominal" in title
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == [
        "control",
        "200,000 MSCs per well",
        "60,000 MSCs per well",
        "10,000 MSCs per well",
    ]
    plt.close(fig)


def test_six_doses_get_six_line_styles(six_doses):
    fig = report.plot_timecourses(six_doses)
    ax = fig.axes[0]
    colour = ax.lines[1].get_color()  # the first variable's treated arms
    # (offset, on-off sequence) of each line, as matplotlib will draw it
    dashes = {str(ln._unscaled_dash_pattern) for ln in ax.lines if ln.get_color() == colour}
    assert len(dashes) == 6, dashes
    assert [t.get_text() for t in fig.legends[0].get_texts()][1:] == [
        f"CM fraction {d:g}" for d in sorted(six_doses.scenario.doses, reverse=True)
    ]
    plt.close(fig)


def test_orderings_across_doses_use_a_log_dose_axis(six_doses):
    rows = pd.DataFrame(
        {
            "id": ["x"],
            "dose": [";".join(f"{d:g}" for d in six_doses.scenario.doses)],
            "predicted_series": ["1;0.9;0.8;0.7;0.6;0.5"],
            "fit": [True],
            "agreement": ["agree"],
            "observable": ["viable_cells"],
            "direction": ["down"],
        }
    )
    fig, ax = plt.subplots()
    report._draw_orderings(ax, rows)
    assert ax.get_xscale() == "log" and "CM fraction" in ax.get_xlabel()
    plt.close(fig)


def _profiles(deltas_by_key):
    rows = []
    for key, deltas in deltas_by_key.items():
        offsets = np.linspace(-1, 1, len(deltas))
        rows += [(key, o, o, d) for o, d in zip(offsets, deltas, strict=True)]
    return pd.DataFrame(rows, columns=["key", "log10_value", "offset", "delta"])


def test_profiles_figure_has_plain_ticks_full_labels_and_no_empty_panels():
    deltas = {f"p{i}[AGS]": [40.0, 8.0, 1.0, 0.0, 0.5, 6.0, 30.0] for i in range(7)}
    classes = pd.DataFrame({"key": list(deltas), "class": ["identifiable"] * 7})
    fig = report.plot_profiles(_profiles(deltas), classes, 1.92)
    assert len(fig.axes) == 7  # no empty panels left in the grid
    fig.canvas.draw()
    for ax in fig.axes:
        assert ax.get_ylim()[0] == 0
        labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
        assert labels and all(t.replace(".", "").isdigit() for t in labels), labels
    renderer = fig.canvas.get_renderer()
    box = fig._supylabel.get_window_extent(renderer)
    assert box.x0 >= 0 and box.y0 >= 0 and box.y1 <= fig.bbox.height
    plt.close(fig)


def test_waterfall_ticks_are_start_numbers():
    starts = pd.DataFrame({"cost": [1.0, 2.0], "initial_cost": [9.0, 9.0]})  # two starts
    fig = report.plot_waterfall(starts)
    fig.canvas.draw()
    lo, hi = fig.axes[0].get_xlim()
    ticks = [t for t in fig.axes[0].get_xticks() if lo <= t <= hi]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks
    plt.close(fig)


def test_reproduce_draws_no_empty_progress_bar_on_bad_input(tmp_path, capsys):
    bad = tmp_path / "p.csv"
    bad.write_text("name,value\nw_inh_OF,-1\n")
    code = cli.main(["reproduce", "--params", str(bad), "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2
    assert "reproduce:" not in err.replace("secretome reproduce:", "") and "0step" not in err
