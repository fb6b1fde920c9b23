"""The evidence base: content checked against the papers, and the validator's errors."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from secretome import data
from secretome.errors import SecretomeError, ValidationError
from secretome.paths import papers_dir

PAPERS_DIR = papers_dir()

PAPER_FILES = {
    "mirfendereski2024": "mirfendereski2024_adMSC_coculture_AGS_A431.txt",
    "najafi2024": "najafi2024_adMSC_CM_MDA-MB-231.txt",
    "farahzadi2024": "farahzadi2024_BM-MSC_coculture_CD34_KG1a.txt",
}


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_shipped_table_is_valid_and_covers_three_studies(evidence):
    assert set(evidence["study"]) == set(PAPER_FILES)
    assert evidence["id"].is_unique
    # every assay that DESIGN.md lists for the papers is present
    assert set(evidence["assay"]) == set(data.ASSAYS)


def test_every_stated_number_appears_in_its_quoted_sentence(evidence):
    for _, row in evidence.iterrows():
        stated = data.numbers_in(row["quote"])
        for field in ("value", "sd"):
            if pd.notna(row[field]):
                assert any(abs(row[field] - q) < 1e-9 for q in stated), (row["id"], field)


def test_figure_only_results_carry_no_value(evidence):
    figure_only = evidence[evidence["kind"] != "quantitative"]
    assert figure_only["value"].isna().all()
    assert figure_only["sd"].isna().all()


@pytest.mark.skipif(not PAPERS_DIR.is_dir(), reason="shared/papers is not beside the checkout")
def test_quotes_are_verbatim_from_the_papers(evidence):
    texts = {k: _squash((PAPERS_DIR / f).read_text()) for k, f in PAPER_FILES.items()}
    for _, row in evidence.iterrows():
        for part in row["quote"].split(data.QUOTE_SEPARATOR):
            assert _squash(part) in texts[row["study"]], (row["id"], part[:60])


def test_key_numbers_from_the_text(evidence):
    """Spot checks read by a person from the papers, independent of the curation script."""
    by_id = evidence.set_index("id")
    assert by_id.loc["mir24_AGS_mtt", "value"] == 76.71
    assert by_id.loc["mir24_AGS_mtt", "sd"] == 3.97
    assert by_id.loc["far24_wb_TP53", "value"] == 2.09
    assert by_id.loc["far24_elisa_IL2", "value"] == 6.63
    assert by_id.loc["far24_annexin_early_control", "value"] == 5.68
    assert by_id.loc["far24_annexin_late_control", "arm"] == "control"
    assert by_id.loc["far24_wb_ERK_total", "kind"] == "no_change"
    # the FBS-confounded result is kept visible but out of the fit
    assert not by_id.loc["naj24_mtt_nonadapted", "fit"]
    assert "FBS" in by_id.loc["naj24_mtt_nonadapted", "note"]


def test_summary_counts_every_row(evidence):
    summary = data.summarise(evidence)
    assert summary["total"].sum() == len(evidence)
    text = data.format_summary(summary)
    for study in PAPER_FILES:
        assert study in text


# --- the validator on corrupted copies of the shipped table ----------------------------


def _errors(raw: pd.DataFrame) -> list[str]:
    return [str(p) for p in data.validate_evidence(raw, "t.csv")]


def _corrupt(raw: pd.DataFrame, row_id: str, **changes: str) -> pd.DataFrame:
    bad = raw.copy()
    i = bad.index[bad["id"] == row_id][0]
    for field, value in changes.items():
        bad.loc[i, field] = value
    return bad


@pytest.mark.parametrize(
    ("row_id", "changes", "field", "fragment"),
    [
        ("far24_wb_TP53", {"assay": "microarray"}, "assay", "unknown value 'microarray'"),
        ("far24_wb_TP53", {"value": "-2"}, "value", "not a fold change"),
        ("far24_wb_TP53", {"direction": "down"}, "direction", "contradicts value 2.09"),
        ("far24_annexin_early_treated", {"value": "123"}, "value", "outside the percent_cells"),
        ("far24_annexin_early_treated", {"value": "1.5"}, "direction", "against the control"),
        ("mir24_AGS_mtt", {"value": "80.5"}, "value", "does not appear in the quoted sentence"),
        ("mir24_AGS_qpcr_JAK2", {"value": "0.5"}, "value", "must be empty for direction rows"),
        ("naj24_mtt_dose", {"doses": "0.5;0.3"}, "doses", "strictly increasing"),
        ("naj24_qpcr_CASP3", {"time_h": "abc"}, "time_h", "'abc' is not a number"),
        ("naj24_qpcr_CASP3", {"quote": ""}, "quote", "required"),
        ("naj24_qpcr_CASP3", {"scale": "percent_cells"}, "scale", "not a scale of qpcr"),
        ("far24_wb_ERK_total", {"direction": "up"}, "direction", "no_change rows need"),
    ],
)
def test_each_corruption_is_named(evidence_raw, row_id, changes, field, fragment):
    errors = _errors(_corrupt(evidence_raw, row_id, **changes))
    match = [e for e in errors if f"id={row_id}" in e and f"field '{field}'" in e]
    assert match, errors
    assert any(fragment in e for e in match), match


def test_duplicate_id_names_both_rows(evidence_raw):
    bad = pd.concat([evidence_raw, evidence_raw.iloc[[3]]], ignore_index=True)
    errors = _errors(bad)
    assert errors == [
        f"t.csv, row {len(bad)} (id={evidence_raw['id'][3]}), field 'id': duplicate of row 4"
    ]


def test_missing_column_is_named(evidence_raw):
    errors = _errors(evidence_raw.drop(columns=["assay"]))
    assert errors == ["t.csv, field 'assay': required column is missing"]


def test_every_problem_is_reported_not_just_the_first(evidence_raw):
    bad = _corrupt(evidence_raw, "far24_wb_TP53", assay="x")
    bad = _corrupt(bad, "mir24_AGS_mtt", time_h="-1")
    errors = _errors(bad)
    assert any("far24_wb_TP53" in e for e in errors)
    assert any("mir24_AGS_mtt" in e and "time_h" in e for e in errors)


def test_load_raises_one_error_naming_the_file(evidence_raw, write_csv):
    path = write_csv(_corrupt(evidence_raw, "far24_wb_TP53", kind="guess"))
    with pytest.raises(ValidationError) as info:
        data.load_evidence(path)
    message = str(info.value)
    assert str(path) in message
    assert "id=far24_wb_TP53" in message and "field 'kind'" in message


def test_unreadable_files(tmp_path):
    with pytest.raises(SecretomeError, match="no such file"):
        data.load_evidence(tmp_path / "absent.csv")
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(SecretomeError, match="not a readable CSV"):
        data.load_evidence(empty)


def test_round_trip_through_csv(evidence_raw, write_csv):
    again = data.load_evidence(write_csv(evidence_raw))
    pd.testing.assert_frame_equal(again, data.load_evidence())
