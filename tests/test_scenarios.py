"""Scenario files: the shipped ones load, bad ones are refused naming the field."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from secretome import scenarios
from secretome.errors import SecretomeError, ValidationError

SHIPPED = scenarios.shipped_scenario_files()


def _doc(name: str = "farahzadi2024_KG1a_CD34") -> dict:
    return tomllib.loads((scenarios.scenarios_dir() / f"{name}.toml").read_text())


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_shipped_scenarios_load(path: Path):
    s = scenarios.load_scenario(path)
    assert s.name == path.stem
    assert s.doses and s.sampling_h and max(s.sampling_h) <= s.duration_h


def test_each_paper_has_a_scenario():
    studies = {s.study for s in scenarios.shipped_scenarios()}
    assert studies == {"mirfendereski2024", "najafi2024", "farahzadi2024"}


def test_shipped_scenarios_follow_the_protocols():
    by = {s.name: s for s in scenarios.shipped_scenarios()}
    kg = by["farahzadi2024_KG1a_CD34"]
    assert kg.duration_h == 7 * 24 and kg.msc_cells == (1e5,) and kg.tumour_cells == 1e6
    ags = by["mirfendereski2024_AGS"]
    assert ags.duration_h == 96 and ags.preincubation_h == 24 and ags.msc_cells == (6e4,)
    mda = by["najafi2024_MDA-MB-231"]
    assert mda.mode == "conditioned_medium" and mda.cm_fraction == (0.25, 0.5, 1.0)
    assert mda.sampling_h == (24, 48)


def test_ratio_gives_msc_number():
    s = scenarios.parse_scenario(_doc(), "x.toml")
    assert s.msc_cells == (pytest.approx(0.1 * 1e6),)


def test_model_inputs_of_the_arms():
    s = scenarios.parse_scenario(_doc(), "x.toml")
    treated = scenarios.model_inputs(s, s.doses[0])
    control = scenarios.model_inputs(s, None, arm="control")
    assert treated["msc_density"] == pytest.approx(1e5 / 2.0 / scenarios.MSC_DENSITY_UNIT)
    assert control["msc_density"] == 0 and control["cm_fraction"] == 0


def test_perturbations_reach_the_right_arms():
    doc = _doc()
    doc["perturbations"] = [
        {"type": "neutralise", "target": "IL2", "fraction": 0.9},
        {"type": "inhibit", "target": "MEK", "fraction": 0.5, "arms": "treated"},
    ]
    s = scenarios.parse_scenario(doc, "x.toml")
    treated = scenarios.model_inputs(s, s.doses[0])
    control = scenarios.model_inputs(s, None, arm="control")
    assert treated["neutralise_IL2"] == 0.9 and control["neutralise_IL2"] == 0.9
    assert treated["inhib_MEK"] == 0.5 and "inhib_MEK" not in control


def _problems(doc: dict) -> list[str]:
    with pytest.raises(ValidationError) as info:
        scenarios.parse_scenario(doc, "bad.toml")
    return [str(p) for p in info.value.problems]


@pytest.mark.parametrize(
    ("change", "field", "fragment"),
    [
        (lambda d: d.update(cell_line="HeLa"), "cell_line", "unknown cell line 'HeLa'"),
        (lambda d: d.update(msc_source="cord"), "msc_source", "unknown MSC source"),
        (lambda d: d["delivery"].update(tumour_cells=-5), "delivery.tumour_cells", "> 0"),
        (lambda d: d.update(sampling_h=[200]), "sampling_h", "after the end"),
        (lambda d: d.update(duration_h=0), "duration_h", "> 0"),
        (lambda d: d["delivery"].update(mode="coculture"), "delivery.mode", "not a delivery"),
        (lambda d: d.update(colour="red"), "colour", "unknown field"),
        (
            lambda d: d.update(perturbations=[{"type": "inhibit", "target": "BRAF"}]),
            "perturbations[0].target",
            "known targets are JAK2",
        ),
        (
            lambda d: d.update(
                perturbations=[{"type": "neutralise", "target": "IL2", "fraction": 2}]
            ),
            "perturbations[0].fraction",
            "between 0 and 1",
        ),
        (lambda d: d.pop("cell_line"), "cell_line", "is required"),
    ],
)
def test_bad_scenarios_name_the_field(change, field, fragment):
    doc = _doc()
    change(doc)
    problems = _problems(doc)
    assert any(f"bad.toml, field '{field}'" in p and fragment in p for p in problems), problems


def test_cm_scenario_rejects_negative_dose():
    doc = _doc("najafi2024_MDA-MB-231")
    doc["delivery"]["cm_fraction"] = [0.5, -0.25]
    assert any("delivery.cm_fraction" in p for p in _problems(doc))


def test_unknown_file_lists_shipped(tmp_path):
    with pytest.raises(SecretomeError, match=r"shipped scenarios: .*farahzadi2024_KG1a_CD34"):
        scenarios.load_scenario(tmp_path / "nope.toml")


def test_bad_toml_syntax_names_file(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("cell_line = \n")
    with pytest.raises(SecretomeError, match=r"broken\.toml: not valid TOML"):
        scenarios.load_scenario(path)


def test_load_by_shipped_name():
    assert scenarios.load_scenario("najafi2024_MDA-MB-231").study == "najafi2024"
