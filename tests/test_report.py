"""The reproduce report: a figure for every study, a comparison row for every evidence row."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from secretome import cli, data, report


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    messages = []
    result = report.reproduce(out, progress=lambda msg, total: messages.append((msg, total)))
    return out, result, messages


def test_report_has_a_figure_for_every_study(written):
    out, _, _ = written
    page = (out / "index.html").read_text()
    for study in data.load_evidence()["study"].unique():
        figure = out / "figures" / f"{study}_model_vs_data.png"
        assert figure.stat().st_size > 10_000
        assert f"figures/{study}_model_vs_data.png" in page
    for src in re.findall(r'src="([^"]+)"', page):
        assert (out / src).is_file(), src


def test_comparison_has_every_evidence_row(written):
    out, result, _ = written
    table = pd.read_csv(out / "comparison.csv")
    evidence = data.load_evidence()
    assert sorted(table["id"]) == sorted(evidence["id"])
    assert set(table["agreement"]) <= {"agree", "disagree"}
    assert len(result.comparison) == len(evidence)


def test_progress_counts_every_step(written):
    _, _, messages = written
    total = messages[0][1]
    assert len(messages) == total


def test_cli_reproduce_and_simulate(tmp_path, capsys):
    assert cli.main(["simulate", "farahzadi2024_KG1a_CD34", "--out", str(tmp_path)]) == 0
    obs = pd.read_csv(tmp_path / "observables.csv")
    assert {"observable", "value", "treated", "control"} <= set(obs.columns)
    assert (tmp_path / "timecourses.png").is_file()
    # the paper's data for this scenario, next to the model
    rows = pd.read_csv(tmp_path / "comparison.csv")
    evidence = data.load_evidence()
    assert sorted(rows["id"]) == sorted(evidence.loc[evidence["study"] == "farahzadi2024", "id"])
    assert (tmp_path / "model_vs_data.png").is_file()
    sweep = tmp_path / "sweep"
    args = ["simulate", "mirfendereski2024_AGS", "--doses", "1e4,6e4,2e5", "--out", str(sweep)]
    assert cli.main(args) == 0
    assert (sweep / "dose_response.png").is_file()
    times = tmp_path / "times"
    args = ["simulate", "najafi2024_MDA-MB-231", "--times", "6,24,72", "--duration", "72"]
    assert cli.main([*args, "--out", str(times)]) == 0
    assert set(pd.read_csv(times / "observables.csv")["time_h"]) == {6, 24, 72}
    assert (times / "time_response.png").is_file()
