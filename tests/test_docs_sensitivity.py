"""docs/sensitivity.md quotes the committed sensitivity tables, not numbers typed by hand.

The results section of the page is written by ``docs/results/sensitivity/regenerate.py``
from the tables under ``docs/results/sensitivity/``; these tests check that the page
holds exactly what the script writes from the committed tables, that every run the
script plans is committed with the command the script would run today, and the
script's small helpers.
"""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from scripts import load_script
from secretome.errors import SecretomeError
from secretome.gsa import output_label
from secretome.io import write_between_markers

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "docs" / "results" / "sensitivity" / "regenerate.py"
DOC = ROOT / "docs" / "sensitivity.md"
STALE = "rerun `make sensitivity-results` (or regenerate.py --docs-only for the page alone)"


regen = load_script(SCRIPT)


def test_docs_sensitivity_results_match_the_tables():
    shipped = regen.between_markers(DOC.read_text(encoding="utf-8"))
    assert shipped == regen.render_results(), f"docs/sensitivity.md is stale: {STALE}"


def test_every_planned_run_is_committed_with_todays_command():
    """A changed calibration (experiments/fit.toml) changes the Sobol commands: the
    committed tables then no longer answer the question the page asks."""
    for run in regen.planned_runs():
        meta_path = run.out / "run.json"
        assert meta_path.is_file(), f"{run.name} has no results: {STALE}"
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        assert meta["command"] == shlex.join(run.command()), f"{run.name} is stale: {STALE}"
        summary = json.loads((run.out / "summary.json").read_text(encoding="utf-8"))
        assert summary["seed"] == meta["seed"] == regen.SEED
        assert summary["method"] == run.method
        expected_n = 2 * run.n if "--check-convergence" in run.args else run.n
        assert summary["n"] == expected_n
        if run.method == "sobol":
            assert (run.out / "convergence.csv").is_file()


def test_runs_centred_on_the_fit_used_todays_fit():
    """Every run without --nominal holds some parameters at the shipped fit (K_apo_AKT
    is fitted but not free, so even the Morris runs within the bounds use it): a refit
    makes them stale."""
    digest = regen.fit_digest()
    for run in regen.planned_runs():
        if "--nominal" in run.args:
            continue
        meta = json.loads((run.out / "run.json").read_text(encoding="utf-8"))
        assert meta["fitted_parameters_sha256"] == digest, (
            f"{run.name} was run around another models/fitted_parameters.csv: {STALE}"
        )


def test_every_figure_the_page_shows_exists():
    text = DOC.read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert links, "the page shows no figure"
    missing = [x for x in links if not (DOC.parent / x).is_file()]
    assert not missing, f"figures missing: {missing}"


def test_the_page_is_written_between_its_markers_only(tmp_path):
    """write_docs writes the results section with secretome.io.write_between_markers,
    with this script's markers: the rest of the page stays, and between_markers
    reads the section back."""
    page = tmp_path / "page.md"
    page.write_text(f"# Title\n\nintro\n{regen.BEGIN}\nold\n{regen.END}\n\nafter\n")
    write_between_markers(page, regen.BEGIN, regen.END, "\nnew table\n")
    new = page.read_text()
    assert new == f"# Title\n\nintro\n{regen.BEGIN}\nnew table\n{regen.END}\n\nafter\n"
    assert regen.between_markers(new) == "new table\n"


@pytest.mark.parametrize(
    "page",
    ["no markers", f"{regen.END}\n{regen.BEGIN}\n", f"{regen.BEGIN}\n{regen.BEGIN}\n{regen.END}"],
)
def test_a_page_without_one_pair_of_markers_is_refused(page, tmp_path):
    path = tmp_path / "page.md"
    path.write_text(page)
    with pytest.raises(SecretomeError, match="must hold one"):
        write_between_markers(path, regen.BEGIN, regen.END, "\nx\n")
    assert path.read_text() == page  # nothing written


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("sec_IL2[rat_bone_marrow]", "cytokine"),
        ("act_IL4[rat_bone_marrow]", "cytokine"),
        ("a_STAT5_IL2R", "cytokine"),
        ("rc_gc[AGS]", "cytokine"),
        ("sec_OF[human_adipose]", "other"),
        ("w_inh_OF", "other"),
        ("g_OF_RAS[A431]", "other"),
        ("w_PTEN_p53", "cell"),
        ("Td[AGS]", "cell"),
    ],
)
def test_parameter_groups(key, expected):
    assert regen.group(key) == expected


@given(st.floats(min_value=1e-3, max_value=1e6, allow_nan=False))
def test_fmt_keeps_two_significant_digits(v):
    shown = float(regen.fmt(v))
    assert abs(shown - v) <= 0.05 * v + 1e-12
    assert "e" not in regen.fmt(v)


@given(
    st.sampled_from(["viable_cells", "early_apoptotic", "mrna_CASP3"]),
    st.floats(min_value=0.5, max_value=500, allow_nan=False).map(lambda x: round(x, 1)),
    st.one_of(st.none(), st.sampled_from([0.25, 0.5, 1.0, 1.2])),
)
def test_split_label_inverts_output_label(observable, time_h, dose):
    label = output_label(observable, time_h, dose)
    obs, t, d = regen.split_label(label)
    assert obs == observable
    assert t == pytest.approx(float(f"{time_h:g}"))
    assert d == (None if dose is None else pytest.approx(dose))


def test_the_rat_cytokines_barely_move_kg1a_apoptosis_as_the_page_says():
    """docs/sensitivity.md: with the seeding shares held at the fit, the rat MSCs'
    IL-2 and IL-4 secretion and activity have total-order indices of about 0.02 or
    less for KG1-a apoptosis, far below the leading parameters."""
    import pandas as pd

    d = pd.read_csv(regen.HERE / "sobol_KG1a_apoptosis_secretome" / "indices.csv")
    st_ = d[(d["index"] == "ST") & d["output"].str.contains("apoptotic")]
    cytokines = st_[st_["parameter"].str.match(r"(sec|act)_IL[24]\[rat_bone_marrow\]")]
    assert len(cytokines) == 4 * st_["output"].nunique()
    assert cytokines["value"].max() < 0.03
    for output, rows in st_.groupby("output"):
        mine = cytokines[cytokines["output"] == output]["value"].max()
        assert mine < rows["value"].max() / 5, output
