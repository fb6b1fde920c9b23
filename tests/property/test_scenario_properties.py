"""Property tests of the scenario parser."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secretome import scenarios
from secretome.errors import ValidationError

_pos = st.floats(0.5, 500, allow_nan=False)


@st.composite
def scenario_docs(draw) -> dict:
    duration = draw(st.floats(1, 400))
    times = draw(st.lists(st.floats(0.1, 1.0), min_size=1, max_size=4, unique=True))
    mode = draw(st.sampled_from(scenarios.DELIVERY_MODES))
    if mode == "transwell":
        doses = draw(st.lists(st.floats(1e3, 1e6), min_size=1, max_size=3, unique=True))
        # at most 1e6 MSCs in 0.5 mL: the model's limit, msc_density <= 20 x 1e5 per mL
        delivery = {"mode": mode, "msc_cells": doses, "medium_ml": draw(st.floats(0.5, 10))}
    else:
        doses = draw(st.lists(st.floats(0.01, 1.5), min_size=1, max_size=3, unique=True))
        delivery = {"mode": mode, "cm_fraction": doses}
    return {
        "cell_line": draw(st.sampled_from(["AGS", "A431", "MDA-MB-231", "KG1a_CD34"])),
        "msc_source": draw(st.sampled_from(["human_adipose", "rat_bone_marrow"])),
        "duration_h": duration,
        "sampling_h": [t * duration for t in times],
        "delivery": delivery,
    }


@settings(max_examples=80, deadline=None)
@given(scenario_docs())
def test_valid_documents_parse_and_keep_their_numbers(doc):
    s = scenarios.parse_scenario(doc, "p.toml")
    assert s.duration_h == doc["duration_h"]
    assert sorted(s.sampling_h) == list(s.sampling_h)
    assert set(s.sampling_h) == set(doc["sampling_h"])
    key = "msc_cells" if s.mode == "transwell" else "cm_fraction"
    assert s.doses == tuple(doc["delivery"][key])
    treated = scenarios.model_inputs(s, s.doses[0])
    assert treated["msc_density"] >= 0 and treated["cm_fraction"] >= 0


@settings(max_examples=80, deadline=None)
@given(scenario_docs(), st.floats(1.0001, 10))
def test_sampling_after_the_end_is_refused(doc, factor):
    doc["sampling_h"] = [*doc["sampling_h"], doc["duration_h"] * factor]
    with pytest.raises(ValidationError) as info:
        scenarios.parse_scenario(doc, "p.toml")
    assert [p.field for p in info.value.problems] == ["sampling_h"]


@settings(max_examples=60, deadline=None)
@given(scenario_docs(), st.floats(-1e6, -1e-6))
def test_negative_doses_are_refused(doc, bad):
    key = "msc_cells" if doc["delivery"]["mode"] == "transwell" else "cm_fraction"
    doc["delivery"][key] = [*doc["delivery"][key], bad]
    with pytest.raises(ValidationError) as info:
        scenarios.parse_scenario(doc, "p.toml")
    assert any(p.field == f"delivery.{key}" for p in info.value.problems)


@settings(max_examples=60, deadline=None)
@given(scenario_docs(), st.floats(1.0001, 100))
def test_doses_beyond_the_model_inputs_bounds_are_refused(doc, factor):
    _, hi = scenarios.input_bounds()[
        "msc_density" if "msc_cells" in doc["delivery"] else "cm_fraction"
    ]
    if doc["delivery"]["mode"] == "transwell":
        doc["delivery"]["msc_cells"] = [hi * factor * doc["delivery"]["medium_ml"] * 1e5]
    else:
        doc["delivery"]["cm_fraction"] = [hi * factor]
    with pytest.raises(ValidationError) as info:
        scenarios.parse_scenario(doc, "p.toml")
    assert [p.field for p in info.value.problems] == [
        "delivery.msc_cells" if "msc_cells" in doc["delivery"] else "delivery.cm_fraction"
    ]
