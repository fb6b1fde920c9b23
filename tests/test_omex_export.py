"""COMBINE archive: valid SBML and SED-ML, and tellurium running it gives what simulate() gives."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from secretome import omex_export, parameter_sets, scenarios
from secretome.simulation import simulate

if importlib.util.find_spec("tellurium") is None:  # not imported here: see _TELLURIUM
    pytest.skip("tellurium is not installed", allow_module_level=True)

POINTS = 25


@pytest.fixture(scope="module")
def archive():
    return omex_export.build_archive()


def test_every_shipped_scenario_and_arm_is_a_task(archive):
    root = ET.fromstring(archive.files[archive.sedml])
    ns = {"s": omex_export.SEDML_NS}
    tasks = {t.get("id") for t in root.iterfind(".//s:task", ns)}
    for s in scenarios.shipped_scenarios():
        expected = {f"task_{omex_export.arm_id(s, 'control')}"}
        expected |= {f"task_{omex_export.arm_id(s, 'treated', k)}" for k in range(len(s.doses))}
        assert expected <= tasks, s.name
        assert s.name in archive.reports
    assert archive.parameters_label == parameter_sets.shipped_fit().label
    # the context shows up as changes: the rat MSC secretion of farahzadi2024's arms
    model = root.find(".//s:model[@id='model_farahzadi2024_KG1a_CD34__dose1']", ns)
    targets = {c.get("target").split("'")[1] for c in model.iterfind(".//s:changeAttribute", ns)}
    assert {"sec_IL2", "e0", "l0", "msc_density"} <= targets
    # model v2's context facts and well: TP53 status, receptor chains, the rat
    # cytokines' activity on human receptors, the well's capacity in cells seeded
    assert {"tp53_wt", "rc_gc", "act_IL2", "act_IL4", "capacity"} <= targets
    change = {
        c.get("target").split("'")[1]: float(c.get("newValue"))
        for c in model.iterfind(".//s:changeAttribute", ns)
        if "listOfParameters" in c.get("target")
    }
    farahzadi = scenarios.load_scenario("farahzadi2024_KG1a_CD34")
    assert change["capacity"] == scenarios.capacity_input(farahzadi)
    assert change["tp53_wt"] == 0.0  # KG-1a: no wild-type p53 (cell_lines.csv)


def test_written_archive_reads_back_valid(tmp_path, archive):
    path = omex_export.write_archive(archive, tmp_path / "s.omex")
    assert omex_export.check_archive(path) == []
    assert omex_export.check_archive(tmp_path / "missing.omex") != []
    broken = archive.files[archive.sedml].replace('taskReference="task_', 'taskReference="x_', 1)
    assert any("unknown task" in p for p in omex_export.check_sedml(broken, archive.files))


#: tellurium runs in a child process: importing it (libSEDML) after libSBML breaks
#: libSBML's ASTNode types in this process, and with them the code generator.
_TELLURIUM = """
import sys
import numpy as np
import tellurium as te
omex, workdir, out = sys.argv[1:]
res = te.executeCombineArchive(omex, workingDir=workdir, createOutputs=False, saveOutputs=False)
generators = next(iter(res.values()))["dataGenerators"]
np.savez(out, **{k: np.asarray(v).ravel() for k, v in generators.items()})
"""


def _run(path, workdir) -> dict[str, np.ndarray]:
    workdir.mkdir()
    out = workdir / "generators.npz"
    done = subprocess.run(
        [sys.executable, "-c", _TELLURIUM, str(path), str(workdir), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    with np.load(out) as data:
        return {k: data[k] for k in data.files}


def _compare(s: scenarios.Scenario, generators, backend: str) -> float:
    """Worst relative difference of the time courses and assay values from simulate()."""
    fit = parameter_sets.shipped_fit().as_dict()
    result = simulate(s, fit, n_points=POINTS, backend=backend)
    worst = 0.0
    observables = set(result.observables["observable"])
    for (arm, dose, var), g in result.timecourses.groupby(
        ["arm", "dose", "variable"], dropna=False
    ):
        if var not in observables:
            continue
        k = None if arm == "control" else list(s.doses).index(dose)
        got = generators[f"{omex_export.arm_id(s, arm, k)}__{var}"]
        want = g["level"].to_numpy()
        worst = max(worst, np.max(np.abs(got - want) / np.maximum(np.abs(want), 1e-12)))
    time = generators[f"time_{omex_export._sid(s.name)}"]
    for _, row in result.observables.iterrows():
        k = list(s.doses).index(row["dose"])
        got = generators[f"{omex_export.arm_id(s, 'treated', k)}__{row['observable']}__value"]
        value = got[np.argmin(np.abs(time - row["time_h"]))]
        worst = max(worst, abs(value - row["value"]) / abs(row["value"]))
    return worst


@pytest.mark.parametrize(
    "name",
    [
        "farahzadi2024_KG1a_CD34",
        # tellurium compiles one model per arm (~10 s each on a loaded machine)
        pytest.param("najafi2024_MDA-MB-231", marks=pytest.mark.slow),
    ],
    ids=["rat-transwell", "conditioned-medium"],
)
def test_tellurium_runs_the_archive_as_simulate_does(tmp_path, name):
    s = scenarios.load_scenario(name)
    path = omex_export.export_omex(tmp_path / "s.omex", [s], n_points=POINTS)
    generators = _run(path, tmp_path / "run")
    assert _compare(s, generators, "roadrunner") < 1e-8  # measured 2e-13
    assert _compare(s, generators, "compiled") < 1e-5


@pytest.mark.slow
def test_medium_changes_become_sbml_events(tmp_path):
    s = scenarios.load_scenario("farahzadi2024_KG1a_CD34").with_changes(
        medium_changes_h=(48.0, 120.0)
    )
    archive = omex_export.build_archive([s], n_points=POINTS)
    extra = [f for f in archive.files if f.startswith("model_")]
    assert len(extra) == 1 and archive.files[extra[0]].count("<event ") == 2
    path = omex_export.write_archive(archive, tmp_path / "m.omex")
    generators = _run(path, tmp_path / "run")
    assert _compare(s, generators, "roadrunner") < 1e-5


def test_cli_writes_a_valid_archive(tmp_path):
    out = tmp_path / "cli.omex"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "secretome.cli",
            "export-omex",
            str(out),
            "--scenarios",
            "mirfendereski2024_AGS",
            "--points",
            "5",
            "--nominal",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "nominal" in result.stderr
    assert omex_export.check_archive(out) == []
