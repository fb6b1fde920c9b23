"""docs/petab.md, "Taking the model elsewhere": COPASI (through basico) simulates the
exported SBML, given an arm's parameter values by SBML id, as secretome does.

Slow: basico (COPASI's Python interface) is installed by `make test-slow` with the
other exchange tools (the `amici` extra). Measured when written (2026-11-22, shipped
fit): 176 variables at 168 h, largest relative difference 2.6e-8.
"""

from __future__ import annotations

import numpy as np
import pytest

from secretome import model, parameter_sets, scenarios, simulation

pytestmark = pytest.mark.slow


def test_copasi_simulates_the_treated_kg1a_arm_at_the_shipped_fit_as_we_do(tmp_path):
    basico = pytest.importorskip("basico")
    spec = model.load_model()
    sbml = model.write_sbml(spec, tmp_path / "m.xml")
    s = scenarios.load_scenario("farahzadi2024_KG1a_CD34")
    fit = dict(parameter_sets.shipped_fit().values)
    ours = simulation.simulate(s, fit, n_points=8, backend="roadrunner")
    dose = float(s.doses[0])
    values = {**ours.parameters, **simulation.arm_inputs(spec, s, dose, "treated")}

    basico.load_model(str(sbml))
    table = basico.get_parameters()
    name = dict(zip(table["sbml_id"], table.index, strict=True))
    changed = 0
    for pid, value in values.items():
        if pid in name:  # assignment-rule parameters are COPASI's to compute
            basico.set_parameters(name[pid], exact=True, initial_value=float(value))
            changed += 1
    assert changed > 20  # the context and the fit reach COPASI, not only its defaults
    basico.set_task_settings(
        basico.T.TIME_COURSE, {"method": {"Relative Tolerance": 1e-8, "Absolute Tolerance": 1e-12}}
    )
    tc = basico.run_time_course(duration=168, intervals=168, use_sbml_id=True)
    recorded = [v for v in tc.columns if v in model.variable_names(spec)]
    ours = simulation.simulate(s, fit, n_points=8, record=recorded, backend="roadrunner")

    course = ours.timecourses
    treated = course[(course["arm"] == "treated") & (course["dose"] == dose)]
    last = treated[treated["time_h"] == treated["time_h"].max()].set_index("variable")["level"]
    shared = [v for v in last.index if v in tc.columns]
    assert len(shared) >= 10
    copasi = tc[shared].iloc[-1].to_numpy(dtype=float)
    mine = last[shared].to_numpy(dtype=float)
    assert np.all(np.isfinite(copasi))
    np.testing.assert_allclose(copasi, mine, rtol=1e-5, atol=1e-9)
    # and the treated arm is not the control culture: the comparison can fail
    control = course[(course["arm"] == "control") & (course["time_h"] == course["time_h"].max())]
    base = control.set_index("variable")["level"][shared].to_numpy(dtype=float)
    assert np.max(np.abs(mine - base) / np.maximum(np.abs(base), 1e-9)) > 1e-3
