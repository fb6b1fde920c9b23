"""Model variants as files (issue 14): parsing, validation, and what a variant changes."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from secretome import model, variants
from secretome.errors import SecretomeError
from secretome.objective import FitConfig, Objective, load_fit_config

BASE = FitConfig(parameters=("w_inh_OF", "sec_OF", "e0[KG1a_CD34]", "w_arr_p21"))


@pytest.fixture(scope="module")
def spec() -> model.ModelSpec:
    return model.load_model()


def _write(tmp_path: Path, text: str, name: str = "v.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


HEAD = 'hypothesis = "one sentence"\nsource = "assumed: for the test"\n'


def test_shipped_variants_cover_the_hypotheses_of_issue_14():
    base = load_fit_config()
    vs = {v.name: v for v in variants.load_variants(base=base)}
    assert len(vs) >= 5
    for v in vs.values():
        assert v.hypothesis.endswith(".") and v.source
        text = Path(v.path).read_text()
        assert "# Changes:" in text or v.name == "full", f"{v.path} must say what it changes"
    # canonical routes only: no STAT3/JAK2 route from the receptors, no other factors
    canonical = vs["canonical_only"].fixed
    assert canonical["a_STAT3_IL2R"] == 0 and canonical["sec_OF"] == 0
    # plus the other factors; plus the brake
    assert "sec_OF[rat_bone_marrow]" in vs["canonical_of"].parameters
    assert vs["canonical_of"].fixed["w_inh_OF"] == 0
    assert "w_inh_OF" in vs["canonical_of_brake"].parameters
    # fate and cross-species activity
    assert vs["apoptosis_only"].fixed["w_arr_p21"] == 0
    assert "w_arr_p21" not in vs["apoptosis_only"].parameters
    assert vs["full_activity"].fixed["act_IL2[rat_bone_marrow]"] == 1.0
    assert vs["full"].parameters == base.parameters


def test_fix_removes_every_context_of_a_bare_name_and_estimate_adds(tmp_path, spec):
    path = _write(tmp_path, HEAD + 'estimate = ["w_NFKB_OF"]\n[fix]\nsec_OF = 0\n')
    v = variants.load_variant(path, BASE, spec)
    assert v.name == "v"
    assert v.parameters == ("w_inh_OF", "e0[KG1a_CD34]", "w_arr_p21", "w_NFKB_OF")
    assert v.fixed == {"sec_OF": 0.0}
    assert v.fit_config(BASE).parameters == v.parameters
    assert "fix sec_OF=0" in v.describe() and "estimate w_NFKB_OF" in v.describe()


def test_fix_of_one_context_keeps_the_others(tmp_path, spec):
    path = _write(tmp_path, HEAD + '[fix]\n"sec_OF[rat_bone_marrow]" = 0.5\n')
    v = variants.load_variant(path, BASE, spec)
    assert "sec_OF[human_adipose]" in v.parameters
    assert "sec_OF[rat_bone_marrow]" not in v.parameters


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("swtich = 1\n", "swtich"),
        ("[fix]\nw_nonexistent = 0\n", "fix.w_nonexistent"),
        ('estimate = ["w_nonexistent"]\n', "w_nonexistent"),
        ('hold = ["K_OF"]\n', "K_OF"),  # not fitted in the base: nothing to hold
        ("[fix]\nomit_OF = 1\n", "fix.omit_OF"),  # an input, not a parameter
        ("[fix]\nw_inh_OF = -1\n", "fix.w_inh_OF"),
        ('[fix]\nw_inh_OF = "zero"\n', "fix.w_inh_OF"),
        ('[fix]\n"sec_OF[AGS]" = 0\n', "fix.sec_OF[AGS]"),
        ('estimate = ["w_inh_OF"]\n[fix]\nw_inh_OF = 0\n', "w_inh_OF"),
    ],
)
def test_a_mistake_gives_one_error_naming_the_file_and_the_key(tmp_path, spec, text, key):
    path = _write(tmp_path, HEAD + text)
    with pytest.raises(SecretomeError) as err:
        variants.load_variant(path, BASE, spec)
    message = str(err.value)
    assert str(path) in message
    assert key in message


def test_every_problem_of_a_file_is_in_the_one_error(tmp_path, spec):
    path = _write(tmp_path, 'source = ""\nbogus = 1\n[fix]\nw_nonexistent = 0\n')
    with pytest.raises(SecretomeError) as err:
        variants.load_variant(path, BASE, spec)
    message = str(err.value)
    for part in ("'bogus'", "fix.w_nonexistent", "'hypothesis'", "'source'"):
        assert part in message


def test_not_toml_and_missing_file_name_the_file(tmp_path, spec):
    bad = _write(tmp_path, "hypothesis = \n")
    with pytest.raises(SecretomeError, match=re.escape(str(bad))):
        variants.load_variant(bad, BASE, spec)
    with pytest.raises(SecretomeError, match="no such variant file"):
        variants.load_variant(tmp_path / "missing.toml", BASE, spec)


def test_load_variants_reports_every_bad_file_and_duplicate_names(tmp_path, spec):
    a = _write(tmp_path, HEAD + "oops = 1\n", "a.toml")
    (tmp_path / "sub").mkdir()
    b = _write(tmp_path / "sub", HEAD, "b.toml")
    c = _write(tmp_path, HEAD + "[fix]\nnope = 1\n", "c.toml")
    with pytest.raises(SecretomeError) as err:
        variants.load_variants([a, b, c], BASE, spec)
    assert str(a) in str(err.value) and str(c) in str(err.value)
    b2 = _write(tmp_path, HEAD, "b.toml")
    with pytest.raises(SecretomeError, match="share the name"):
        variants.load_variants([b, b2], BASE, spec)


def test_a_fixed_value_reaches_the_objective(spec):
    """Fixing the brake to 0 changes the residuals at the same point of the other parameters."""
    config = FitConfig(parameters=("e0[KG1a_CD34]",))
    v = variants.variant_from_dict(
        {"hypothesis": "h.", "source": "s", "fix": {"sec_OF": 0.0, "cm_OF": 0.0}},
        "no_of",
        config,
        spec,
    )
    base = Objective(config, ["farahzadi2024"])
    switched = Objective(v.fit_config(config), ["farahzadi2024"], fixed=v.fixed)
    x = base.space.nominal
    assert not np.allclose(base.residuals(x), switched.residuals(x))


_NAMES: list[str] = []


def _names() -> list[str]:
    if not _NAMES:
        table = model.load_model().parameters
        _NAMES.extend(sorted(set(table.loc[table["scope"] != "input", "name"])))
    return _NAMES


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fitted_set_is_base_less_fixed_and_held_plus_estimated(data, spec):
    names = _names()
    fix = data.draw(st.lists(st.sampled_from(names), max_size=4, unique=True))
    rest = [n for n in names if n not in fix]
    estimate = data.draw(st.lists(st.sampled_from(rest), max_size=3, unique=True))
    base_names = ["w_inh_OF", "sec_OF", "e0", "w_arr_p21", "K_apo_AKT"]
    base = FitConfig(parameters=tuple(base_names))
    holdable = [n for n in base_names if n not in fix and n not in estimate]
    hold = data.draw(st.lists(st.sampled_from(holdable), max_size=2, unique=True))
    doc = {
        "hypothesis": "h.",
        "source": "s",
        "fix": dict.fromkeys(fix, 0.0),
        "estimate": estimate,
        "hold": hold,
    }
    try:
        v = variants.variant_from_dict(doc, "p", base, spec)
    except SecretomeError as exc:
        assert "no parameter to fit" in str(exc)
        return

    def keys(entries):
        by_name, table_keys, _ = variants._table_keys(spec)
        return {k for e in entries for k in by_name.get(e, [e] if e in table_keys else [])}

    expected = (keys(base_names) - keys(fix) - keys(hold)) | keys(estimate)
    assert set(v.parameters) == expected
    assert len(v.parameters) == len(set(v.parameters))
    assert not set(v.parameters) & keys(fix)
