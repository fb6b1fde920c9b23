"""Issue 16: every output names its parameter set and its departures from the paper;
a perturbed run is not scored against unperturbed data; files are shareable; the
report says what made it and on which scale each number is."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import stat

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from secretome import cli, data, report, scenarios
from secretome.io import atomic_write
from secretome.parameter_sets import shipped_fit
from secretome.simulation import simulate


@pytest.fixture
def titles(monkeypatch):
    """Suptitles of every figure the report functions save, by file name."""
    seen: dict[str, str] = {}
    save = report.save_figure

    def spy(fig, path):
        seen[path.name] = fig._suptitle.get_text() if fig._suptitle else ""
        save(fig, path)

    monkeypatch.setattr(report, "save_figure", spy)
    return seen


# --- item 3: a perturbed run says so everywhere and is not scored --------------------------


def test_neutralised_run_is_labelled_and_not_scored(tmp_path, capsys, titles):
    out = tmp_path / "run"
    args = ["simulate", "farahzadi2024_KG1a_CD34", "--neutralise", "IL2", "--out", str(out)]
    assert cli.main(args) == 0
    stdout = capsys.readouterr().out
    assert "scenario: farahzadi2024_KG1a_CD34 (IL2 neutralised in both arms)" in stdout
    assert "not scored against farahzadi2024's data" in stdout
    rows = pd.read_csv(out / "comparison.csv")
    assert set(rows["agreement"]) == {report.NOT_SCORED}
    assert set(rows["variant"]) == {"IL2 neutralised in both arms"}
    assert "IL2 neutralised" in rows["detail"].iloc[0]
    obs = pd.read_csv(out / "observables.csv")
    assert set(obs["variant"]) == {"IL2 neutralised in both arms"}
    assert "IL2 neutralised in both arms" in titles["model_vs_data.png"]
    assert report.NOT_SCORED in titles["model_vs_data.png"]
    assert "IL2 neutralised in both arms" in titles["timecourses.png"]
    meta = json.loads((out / "provenance.json").read_text())
    assert meta["scored_against_the_paper"] is False


def test_run_as_published_is_scored(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["simulate", "farahzadi2024_KG1a_CD34", "--out", str(out)]) == 0
    assert "(as in the paper)" in capsys.readouterr().out
    rows = pd.read_csv(out / "comparison.csv")
    assert set(rows["agreement"]) <= {"agree", "disagree"}
    assert set(rows["variant"]) == {"as in the paper"}


def test_which_departures_stop_scoring():
    s = scenarios.load_scenario("mirfendereski2024_AGS")
    assert report.variant_of(s) == report.Variant("mirfendereski2024_AGS", (), True)
    swept = scenarios.modify(s, doses=[1e4, 6e4, 2e5])
    assert report.variant_of(swept).comparable
    assert "doses 10000, 60000, 200000 MSCs per well" in report.variant_of(swept).label
    for changed in (
        scenarios.modify(s, neutralise=["IL4"]),
        s.with_changes(msc_source="rat_bone_marrow"),
        s.with_changes(medium_ml=1.0),
    ):
        assert not report.variant_of(changed).comparable, changed
    new = s.with_changes(name="mine", study="")
    assert report.variant_of(new).label == "not a paper scenario"


# --- item 5a: one default parameter set, named everywhere --------------------------------


@pytest.fixture(scope="module")
def reproduced(tmp_path_factory):
    """`secretome reproduce` with its defaults: its directory and standard output."""
    out = tmp_path_factory.mktemp("report")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert cli.main(["reproduce", "--out", str(out)]) == 0
    return out, stdout.getvalue()


def test_simulate_and_reproduce_use_and_name_the_same_parameter_set(
    tmp_path, capsys, titles, reproduced
):
    fitted = shipped_fit()
    assert fitted.name == "shipped fit"
    sim = tmp_path / "sim"
    rep, stdout = reproduced
    assert cli.main(["simulate", "farahzadi2024_KG1a_CD34", "--out", str(sim)]) == 0
    assert f"parameters: {fitted.label}" in capsys.readouterr().out
    assert f"parameters: {fitted.label}" in stdout
    a = pd.read_csv(sim / "observables.csv")
    b = pd.read_csv(rep / "observables.csv")
    b = b[b["scenario"] == "farahzadi2024_KG1a_CD34"]
    key = ["observable", "time_h", "dose"]
    merged = a.merge(b, on=key, suffixes=("_sim", "_rep"))
    assert len(merged) == len(a)
    np.testing.assert_allclose(merged["value_sim"], merged["value_rep"], rtol=1e-9)
    for table in (a, b, pd.read_csv(sim / "comparison.csv"), pd.read_csv(rep / "comparison.csv")):
        assert set(table["parameters"]) == {"shipped fit"}
    assert "parameters: shipped fit" in titles["timecourses.png"]
    assert "parameters: shipped fit" in titles["model_vs_data.png"]
    assert json.loads((sim / "provenance.json").read_text())["parameters"] == fitted.label
    page = (rep / "index.html").read_text()
    assert fitted.label.split(":")[0] in page

    nominal = tmp_path / "nominal"
    args = ["simulate", "farahzadi2024_KG1a_CD34", "--nominal", "--out", str(nominal)]
    assert cli.main(args) == 0
    assert "parameters: nominal values of models/parameters.csv" in capsys.readouterr().out
    c = pd.read_csv(nominal / "observables.csv")
    assert set(c["parameters"]) == {"nominal"}
    assert not np.allclose(c["value"], a["value"])


def test_sensitivity_names_its_parameter_set_and_its_index(tmp_path, capsys):
    from secretome import gsa

    scenario = scenarios.load_scenario("mirfendereski2024_A431")
    keys = gsa.choose_space(scenario).keys[:2]
    out = tmp_path / "sa"
    args = ["sensitivity", "mirfendereski2024_A431", "--method", "morris", "--n", "2"]
    args += ["--params", ",".join(keys), "--outputs", "viable_cells", "--workers", "1"]
    assert cli.main([*args, "--no-figures", "--out", str(out)]) == 0
    stdout = capsys.readouterr().out
    assert "by μ*, Morris mean absolute elementary effect" in stdout
    assert f"held at: {shipped_fit().label}" in stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["parameters"] == shipped_fit().label
    assert summary["ranked_by"].startswith("μ*")


# --- item 12: files follow the umask ------------------------------------------------------


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o027, 0o640), (0o077, 0o600)])
def test_written_files_respect_the_umask(tmp_path, umask, mode):
    old = os.umask(umask)
    try:
        path = atomic_write(tmp_path / "sub" / "f.csv", "a,b\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == mode


def test_a_run_writes_shareable_files(tmp_path):
    old = os.umask(0o022)
    try:
        assert cli.main(["simulate", "mirfendereski2024_AGS", "--out", str(tmp_path)]) == 0
    finally:
        os.umask(old)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert set(modes.values()) == {0o644}, modes


def test_write_errors_are_one_line(tmp_path):
    from secretome.errors import SecretomeError
    from secretome.io import WriteError

    with pytest.raises(WriteError, match="it is a directory") as info:
        atomic_write(tmp_path, "x")
    assert isinstance(info.value, SecretomeError) and isinstance(info.value, OSError)
    if os.path.isdir("/proc/self"):  # a directory no one can create anything in
        with pytest.raises(WriteError, match=r"cannot write /proc/nope/x\.csv: "):
            atomic_write("/proc/nope/x.csv", "x")


# --- item 14: provenance stamp, units, data drawn over the model ---------------------------


def test_report_is_stamped_with_version_commit_and_date(reproduced):
    out, _ = reproduced
    page = (out / "index.html").read_text()
    assert re.search(r"secretome \d+\.\d+\.\d+, commit \S+.*, \d{4}-\d\d-\d\d \d\d:\d\d UTC", page)
    meta = json.loads((out / "provenance.json").read_text())
    assert {"secretome", "commit", "date", "parameters", "backend"} <= set(meta)
    assert meta["parameters"] == shipped_fit().label


def test_comparison_has_one_meaning_per_column(reproduced):
    out, _ = reproduced
    table = pd.read_csv(out / "comparison.csv").set_index("id")
    assert "unit" in table.columns
    a431 = table.loc["mir24_A431_mtt"]
    assert a431["observed"] == pytest.approx(130.12)
    assert a431["unit"] == "% of control (stated as +30.12 % vs control)"
    ags = table.loc["mir24_AGS_mtt"]
    assert ags["observed"] == pytest.approx(76.71) and ags["unit"] == "% of control"
    # the model's prediction is on the same scale as the observation
    assert 0 < a431["predicted"] < 300
    evidence = data.load_evidence().set_index("id")
    for i, row in table.iterrows():
        assert row["unit"] == report.UNITS[evidence.loc[i, "scale"]] or "stated as" in row["unit"]
    page = (out / "index.html").read_text()
    assert "<th>unit</th>" in page


def test_data_are_drawn_over_the_model_with_sd_bars():
    evidence = data.load_evidence()
    study = "mirfendereski2024"
    runs = [simulate(s, timecourses=False) for s in scenarios.shipped_scenarios()]
    raw = report.comparison.compare(evidence, [r for r in runs if r.scenario.study == study])
    fig = report.plot_model_vs_data(raw[raw["study"] == study], evidence, "t")
    diamonds = [ln for ax in fig.axes for ln in ax.lines if ln.get_marker() == "D"]
    dots = [ln for ax in fig.axes for ln in ax.lines if ln.get_marker() == "o"]
    assert diamonds and dots
    assert min(d.get_zorder() for d in dots) > max(d.get_zorder() for d in diamonds)
    bars = [c for ax in fig.axes for c in ax.containers if type(c).__name__ == "ErrorbarContainer"]
    with_sd = evidence[(evidence["study"] == study) & evidence["sd"].notna()]
    assert len(with_sd) > 0 and len(bars) == len(with_sd)
    plt.close(fig)
