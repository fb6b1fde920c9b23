"""Property tests of the evidence validator: valid tables round-trip, corruptions are named."""

from __future__ import annotations

import io

import pandas as pd
from hypothesis import example, given, settings
from hypothesis import strategies as st

from secretome import data

_words = st.text(alphabet="abcdefghij klmnop,;\"'()", min_size=0, max_size=30)


@st.composite
def valid_rows(draw, index: int) -> dict[str, str]:
    kind = draw(st.sampled_from(data.KINDS))
    assay = draw(st.sampled_from(("qpcr", "western", "elisa")))
    row = {c: "" for c in data.COLUMNS}
    row.update(
        id=f"r{index}",
        study=draw(st.sampled_from(("s1", "paper2024"))),
        cell_line=draw(st.sampled_from(("AGS", "A431", "KG1a_CD34"))),
        msc_source="human_adipose",
        delivery="transwell",
        time_h=str(draw(st.integers(1, 500))),
        arm="treated",
        assay=assay,
        readout=draw(st.sampled_from(("JAK2", "p-ERK1/2", "IL-2"))),
        form="mrna" if assay == "qpcr" else "protein",
        scale="fold_change",
        kind=kind,
        fit=draw(st.sampled_from(("true", "false"))),
        source="Fig. 1",
        note=draw(_words),
    )
    prose = draw(_words)
    if kind == "quantitative":
        value = draw(st.floats(0.01, 50, allow_nan=False).filter(lambda v: abs(v - 1) > 1e-3))
        text = f"{value:.3g}"
        row.update(value=text, direction="up" if float(text) > 1 else "down")
        row["quote"] = f"{prose} changed {text}-fold."
        if draw(st.booleans()):
            row["sd"] = f"{value / 10:.2g}"
            row["quote"] += f" SD {row['sd']}."
    elif kind == "no_change":
        row.update(direction="none", quote=f"{prose} no significant change.")
    else:
        row.update(direction=draw(st.sampled_from(("up", "down"))), quote=f"{prose} changed.")
        if kind == "ordering":
            doses = sorted(draw(st.sets(st.sampled_from((0.1, 0.25, 0.5, 1.0)), min_size=2)))
            row.update(
                doses=";".join(str(d) for d in doses),
                dose_unit="cm_fraction",
                delivery="conditioned_medium",
            )
    return row


@st.composite
def valid_tables(draw) -> pd.DataFrame:
    n = draw(st.integers(1, 8))
    return pd.DataFrame([draw(valid_rows(i)) for i in range(n)], columns=list(data.COLUMNS))


def _to_csv(table: pd.DataFrame) -> str:
    buf = io.StringIO()
    table.to_csv(buf, index=False)
    return buf.getvalue()


def _note_reading_nan() -> pd.DataFrame:
    """Regression: hypothesis drew the note "nan" (the loader keeps it as text)."""
    row = {c: "" for c in data.COLUMNS}
    row.update(
        id="r0",
        study="s1",
        cell_line="AGS",
        msc_source="human_adipose",
        delivery="transwell",
        time_h="1",
        arm="treated",
        assay="qpcr",
        readout="JAK2",
        form="mrna",
        scale="fold_change",
        kind="quantitative",
        fit="true",
        source="Fig. 1",
        value="0.5",
        direction="down",
        quote="changed 0.5-fold.",
        note="nan",
    )
    return pd.DataFrame([row], columns=list(data.COLUMNS))


@settings(max_examples=60, deadline=None)
@given(valid_tables())
@example(table=_note_reading_nan())
def test_valid_tables_round_trip(tmp_path_factory, table):
    path = tmp_path_factory.mktemp("rt") / "t.csv"
    path.write_text(_to_csv(table))
    loaded = data.load_evidence(path)
    assert list(loaded["id"]) == list(table["id"])
    assert list(loaded["quote"]) == [q.strip() for q in table["quote"]]
    # missing values back to empty cells; a text that reads "nan" (a note drawn from
    # the letters n, a, n) stays text: replacing the string "nan" lost it
    path.write_text(_to_csv(loaded.astype(object).where(loaded.notna(), "")))
    again = data.load_evidence(path)
    pd.testing.assert_frame_equal(loaded, again)


# Each corruption: (field, how to break the row, words the message must contain).
CORRUPTIONS = {
    "assay": ("assay", lambda r: "elisaa", "unknown value"),
    "kind": ("kind", lambda r: "maybe", "unknown value"),
    "time": ("time_h", lambda r: "-3", "must be positive"),
    "time_text": ("time_h", lambda r: "1 day", "not a number"),
    "n": ("n", lambda r: "2.5", "whole number"),
    "p": ("p_upper", lambda r: "5", "p-value bound"),
    "direction": ("direction", lambda r: "sideways", "unknown value"),
    "quote": ("quote", lambda r: "  ", "required"),
    "id": ("id", lambda r: "has space", "may contain only"),
}


@settings(max_examples=80, deadline=None)
@given(valid_tables(), st.sampled_from(sorted(CORRUPTIONS)), st.data())
def test_each_corruption_is_caught_and_named(table, which, pick):
    field, make_bad, fragment = CORRUPTIONS[which]
    i = pick.draw(st.integers(0, len(table) - 1))
    bad = table.copy()
    bad.loc[i, field] = make_bad(bad.loc[i])
    problems = data.validate_evidence(bad, "t.csv")
    assert problems, "corruption not caught"
    named = [p for p in problems if p.field == field and p.where.startswith(f"t.csv, row {i + 1}")]
    assert named, [str(p) for p in problems]
    assert any(fragment in p.message for p in named)


@settings(max_examples=40, deadline=None)
@given(valid_tables())
def test_direction_contradicting_value_is_caught(table):
    quant = table.index[table["kind"] == "quantitative"]
    if len(quant) == 0:
        return
    i = quant[0]
    bad = table.copy()
    bad.loc[i, "direction"] = {"up": "down", "down": "up"}[bad.loc[i, "direction"]]
    problems = data.validate_evidence(bad, "t.csv")
    assert [p.field for p in problems] == ["direction"]
    assert "contradicts" in problems[0].message
