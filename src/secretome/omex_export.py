"""Scenarios as SED-ML in a COMBINE archive (``secretome export-omex FILE``).

The archive (OMEX, a zip with a manifest) holds:

* ``model.xml``: the annotated SBML (:mod:`secretome.sbml_export`), carrying the
  default context's parameter values;
* ``model_<scenario>.xml`` for a scenario with medium changes: the same model with
  one SBML event per change, setting every medium species back to its control
  level (what :func:`secretome.model.medium_reset_values` says fresh medium is);
* ``simulations.sedml`` (SED-ML L1V3, the master file): per scenario one uniform
  time course (its duration, CVODE at the simulators' tolerances) and per arm
  (control, each dose) one model with the arm's parameter changes: the context's
  values (cell line, MSC source, the context facts of ``cell_lines.csv`` and
  ``species_activity.csv`` included), the parameter set's values (the shipped fit
  by default) and the arm's inputs (:func:`secretome.simulation.arm_inputs`: the
  delivery and the well's capacity); per arm one task; data generators for time,
  every observable variable of every arm,
  and what each assay reports (``treated / control``, ``100 × treated / control``
  for MTT, the treated % for Annexin) per dose; one report per scenario;
* ``contexts.tsv``: every cell-line and MSC-source parameter in every context.

Tellurium executes the archive (``tellurium.executeCombineArchive``) and agrees
with :func:`secretome.simulation.simulate` (``tests/test_omex_export.py``).
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import libcombine
import libsbml

from secretome import libroadrunner, model, parameter_sets, sbml_export, scenarios, simulation
from secretome.errors import SecretomeError
from secretome.io import atomic_write

SEDML_FILE = "simulations.sedml"
MODEL_FILE = "model.xml"
CONTEXT_FILE = "contexts.tsv"
SEDML_LEVEL, SEDML_VERSION = 1, 3
SBML_LANGUAGE = "urn:sedml:language:sbml.level-3.version-2"
FORMATS = {
    "sbml": "http://identifiers.org/combine.specifications/sbml.level-3.version-2",
    "sedml": "http://identifiers.org/combine.specifications/sed-ml.level-1.version-3",
    "tsv": "http://purl.org/NET/mediatypes/text/tab-separated-values",
}
#: KiSAO terms: CVODE, its relative and absolute tolerances.
KISAO_CVODE = "KISAO:0000019"
KISAO_RTOL = "KISAO:0000209"
KISAO_ATOL = "KISAO:0000211"
TIME_SYMBOL = "urn:sedml:symbol:time"
SEDML_NS = "http://sed-ml.org/sed-ml/level1/version3"
SBML_NS = "http://www.sbml.org/sbml/level3/version2/core"
MATHML_NS = "http://www.w3.org/1998/Math/MathML"
XHTML_NS = "http://www.w3.org/1999/xhtml"
#: Time-course points per scenario (as :func:`secretome.simulation.simulate`).
DEFAULT_POINTS = 121


def _xpath(pid: str) -> str:
    return f"/sbml:sbml/sbml:model/sbml:listOfParameters/sbml:parameter[@id='{pid}']"


def _sid(text: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "_" for c in text)


def arm_id(scenario: scenarios.Scenario, arm: str, dose_index: int | None = None) -> str:
    """SED-ML id stem of one arm: ``<scenario>__control`` or ``<scenario>__dose<k>``."""
    stem = _sid(scenario.name)
    return f"{stem}__control" if arm == "control" else f"{stem}__dose{dose_index + 1}"


def _defaults(sbml: str) -> dict[str, float]:
    doc = libsbml.readSBMLFromString(sbml)  # the model lives as long as its document
    return {
        p.getId(): p.getValue() for p in doc.getModel().getListOfParameters() if p.isSetValue()
    }


def _arm_values(
    spec: model.ModelSpec,
    s: scenarios.Scenario,
    params: Mapping[str, float],
    arm: str,
    dose: float | None,
) -> dict[str, float]:
    resolved = simulation.resolve_context(spec, params, s.cell_line, s.msc_source)
    values = model.parameter_values(spec, s.cell_line, s.msc_source, resolved)
    # the delivery's inputs and, for a model that limits growth by the well, its capacity
    values.update(simulation.arm_inputs(spec, s, dose, arm))
    return values


def _species_xpath(sid: str) -> str:
    return f"/sbml:sbml/sbml:model/sbml:listOfSpecies/sbml:species[@id='{sid}']"


def _initial_state(spec: model.ModelSpec, values: Mapping[str, float]) -> dict[str, float]:
    """Species' initial concentrations for these parameter values (initial assignments
    evaluated, as a SED-ML tool must after the arm's parameter changes)."""
    rr = libroadrunner.runner_for(spec)
    libroadrunner.apply_parameters(rr, values)
    return {s: float(rr[f"[{s}]"]) for s in spec.species}


def _event_sbml(sbml: str, spec: model.ModelSpec, s: scenarios.Scenario) -> str:
    """The model with one event per medium change of ``s`` (fresh medium)."""
    doc = libsbml.readSBMLFromString(sbml)
    m = doc.getModel()
    for k, t in enumerate(s.medium_changes_h, start=1):
        e = m.createEvent()
        e.setId(f"medium_change_{k}")
        e.setName(f"medium change at {t:g} h: every medium species back to its control level")
        e.setUseValuesFromTriggerTime(True)
        trigger = e.createTrigger()
        trigger.setInitialValue(False)
        trigger.setPersistent(True)
        math_ = libsbml.parseL3Formula(f"time >= {t!r}")
        math_.getChild(1).setUnits(sbml_export.TIME_UNIT)
        trigger.setMath(math_)
        for species, level in model.medium_reset_values(spec).items():
            a = e.createEventAssignment()
            a.setVariable(species)
            value = libsbml.ASTNode(libsbml.AST_REAL)
            value.setValue(float(level))
            value.setUnits(sbml_export.LEVEL_UNIT)
            a.setMath(value)
    return libsbml.writeSBMLToString(doc)


@dataclass(frozen=True)
class Archive:
    """The files of a COMBINE archive in memory (what :func:`export_omex` writes).

    Attributes
    ----------
    files : dict
        Archive path -> text.
    sedml : str
        The master SED-ML file's name in ``files``.
    reports : dict
        Scenario name -> its report's id.
    parameters_label : str
        Which parameter set the arms use.
    """

    files: dict[str, str]
    sedml: str
    reports: dict[str, str]
    parameters_label: str


def build_archive(
    scenario_list: Iterable[scenarios.Scenario] | None = None,
    params: parameter_sets.ParameterSet | None = None,
    *,
    n_points: int = DEFAULT_POINTS,
) -> Archive:
    """Build the SBML and SED-ML of the archive (nothing written).

    Parameters
    ----------
    scenario_list : iterable of Scenario, optional
        Default: every shipped scenario.
    params : ParameterSet, optional
        Default: the shipped fit (:func:`secretome.parameter_sets.shipped_fit`).
    n_points : int
        Points of each time course (``numberOfPoints + 1`` in SED-ML terms).

    Returns
    -------
    Archive

    Raises
    ------
    SecretomeError
        If libSBML or libSEDML finds an error in what was built.
    """
    spec = model.load_model()
    scenario_list = list(scenario_list) if scenario_list is not None else None
    scenario_list = scenario_list or scenarios.shipped_scenarios()
    params = params if params is not None else parameter_sets.shipped_fit()
    values = params.values or {}
    base = sbml_export.annotated_sbml(spec)
    files = {MODEL_FILE: base}
    defaults = _defaults(base)
    default_state = _initial_state(spec, model.parameter_values(spec, *_default_context(spec)))

    sed = _Sed(f"secretome scenarios; parameter set: {params.label}")
    observables = spec.observables
    reports = {}
    for s in scenario_list:
        stem = _sid(s.name)
        source = MODEL_FILE
        if s.medium_changes_h:
            source = f"model_{stem}.xml"
            files[source] = _event_sbml(base, spec, s)
        sim_id = f"sim_{stem}"
        sed.time_course(sim_id, float(s.duration_h), max(int(n_points), 2) - 1)
        arms = [("control", None, None)] + [("treated", d, k) for k, d in enumerate(s.doses)]
        for arm, dose, k in arms:
            aid = arm_id(s, arm, k)
            changes = []
            arm_values = _arm_values(spec, s, values, arm, dose)
            for pid, v in arm_values.items():
                if pid in defaults and not _same(defaults[pid], v):
                    changes.append((f"{_xpath(pid)}/@value", repr(float(v))))
            # the initial state these values imply: a SED-ML tool that applies the
            # changes to the SBML re-evaluates the initial assignments to the same
            # numbers; one that changes a loaded model (tellurium) needs them
            for sid, v in _initial_state(spec, arm_values).items():
                if not _same(default_state[sid], v):
                    changes.append((f"{_species_xpath(sid)}/@initialConcentration", repr(v)))
            name = f"{s.name}, {arm}" + ("" if dose is None else f", {s.dose_unit} = {dose:g}")
            sed.model(f"model_{aid}", name, source, changes)
            sed.task(f"task_{aid}", f"model_{aid}", sim_id)
        report = f"report_{stem}"
        reports[s.name] = report
        datasets = [(f"time_{stem}", "time_h")]
        sed.data_generator(f"time_{stem}", "time", {"t": (f"task_{arm_id(s, 'control')}", None)})
        for arm, _dose, k in arms:
            aid = arm_id(s, arm, k)
            for o in observables:
                did = f"{aid}__{o.name}"
                sed.data_generator(did, f"{o.name} ({aid})", {"t": (f"task_{aid}", o.variable)})
                datasets.append((did, did))
        for _arm, _dose, k in arms[1:]:
            aid = arm_id(s, "treated", k)
            cid = arm_id(s, "control")
            for o in observables:
                ratio, factor = simulation._assay_form(o.assay)
                variables = {"t": (f"task_{aid}", o.variable)}
                if ratio:
                    variables["c"] = (f"task_{cid}", o.variable)
                did = f"{aid}__{o.name}__value"
                sed.data_generator(did, f"{o.name}: assay value ({aid})", variables, factor)
                datasets.append((did, did))
        sed.report(report, f"{s.name}: observables per arm and what each assay reports", datasets)
    text = sed.text()
    errors = check_sedml(text, files)
    if errors:
        raise SecretomeError("generated SED-ML is invalid:\n" + "\n".join(errors))
    files[SEDML_FILE] = text
    for name, text in files.items():
        if name.endswith(".xml"):
            found = sbml_export.check(text)
            if found.errors:
                raise SecretomeError(f"{name} is invalid:\n" + "\n".join(found.errors))
    files[CONTEXT_FILE] = sbml_export.context_table(spec.parameters).to_csv(
        sep="\t", index=False, lineterminator="\n"
    )
    return Archive(files, SEDML_FILE, reports, params.label)


def _default_context(spec: model.ModelSpec) -> tuple[str, str]:
    return spec.cell_lines[0], spec.msc_sources[0]


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=0.0, abs_tol=0.0) or a == b


class _Sed:
    """A SED-ML L1V3 document written with ElementTree.

    libSEDML is not used in this process: imported after libSBML, its SWIG module
    breaks libSBML's ``ASTNode.getType()`` (it returns SWIG pointers, not ints), and
    with it the code generator of the compiled backend. :func:`check_sedml` reads
    what this writes with libSEDML in a child process.
    """

    def __init__(self, note: str) -> None:
        ET.register_namespace("", SEDML_NS)
        self.root = ET.Element(
            _q("sedML"), {"level": str(SEDML_LEVEL), "version": str(SEDML_VERSION)}
        )
        self.root.set("xmlns:sbml", SBML_NS)
        notes = ET.SubElement(self.root, _q("notes"))
        body = ET.SubElement(notes, f"{{{XHTML_NS}}}body")
        ET.SubElement(body, f"{{{XHTML_NS}}}p").text = note
        self.lists = {
            name: ET.SubElement(self.root, _q(name))
            for name in (
                "listOfModels",
                "listOfSimulations",
                "listOfTasks",
                "listOfDataGenerators",
                "listOfOutputs",
            )
        }

    def model(self, mid: str, name: str, source: str, changes) -> None:
        m = ET.SubElement(
            self.lists["listOfModels"],
            _q("model"),
            {"id": mid, "name": name, "language": SBML_LANGUAGE, "source": source},
        )
        if changes:
            listed = ET.SubElement(m, _q("listOfChanges"))
            for target, value in changes:
                ET.SubElement(listed, _q("changeAttribute"), {"target": target, "newValue": value})

    def time_course(self, sid: str, end: float, intervals: int) -> None:
        sim = ET.SubElement(
            self.lists["listOfSimulations"],
            _q("uniformTimeCourse"),
            {
                "id": sid,
                "initialTime": "0",
                "outputStartTime": "0",
                "outputEndTime": repr(end),
                "numberOfPoints": str(intervals),
            },
        )
        alg = ET.SubElement(sim, _q("algorithm"), {"kisaoID": KISAO_CVODE})
        params = ET.SubElement(alg, _q("listOfAlgorithmParameters"))
        for kisao, value in ((KISAO_RTOL, model.RTOL), (KISAO_ATOL, model.ATOL)):
            ET.SubElement(
                params, _q("algorithmParameter"), {"kisaoID": kisao, "value": repr(value)}
            )

    def task(self, tid: str, model_id: str, sim_id: str) -> None:
        ET.SubElement(
            self.lists["listOfTasks"],
            _q("task"),
            {"id": tid, "modelReference": model_id, "simulationReference": sim_id},
        )

    def data_generator(self, did: str, name: str, variables: dict, factor: float = 1.0) -> None:
        """``t`` (times ``factor``), or ``t / c`` when a variable ``c`` is given."""
        dg = ET.SubElement(
            self.lists["listOfDataGenerators"], _q("dataGenerator"), {"id": did, "name": name}
        )
        listed = ET.SubElement(dg, _q("listOfVariables"))
        for vid, (task, target) in variables.items():
            attrs = {"id": vid, "taskReference": task}
            attrs |= {"symbol": TIME_SYMBOL} if target is None else {"target": _xpath(target)}
            ET.SubElement(listed, _q("variable"), attrs)
        math = ET.SubElement(dg, f"{{{MATHML_NS}}}math")
        expr = _ci("t")
        if "c" in variables:
            expr = _apply("divide", expr, _ci("c"))
        if factor != 1.0:
            number = ET.Element(f"{{{MATHML_NS}}}cn")
            number.text = repr(float(factor))
            expr = _apply("times", number, expr)
        math.append(expr)

    def report(self, rid: str, name: str, datasets) -> None:
        r = ET.SubElement(self.lists["listOfOutputs"], _q("report"), {"id": rid, "name": name})
        listed = ET.SubElement(r, _q("listOfDataSets"))
        for did, label in datasets:
            ET.SubElement(
                listed, _q("dataSet"), {"id": f"ds_{did}", "label": label, "dataReference": did}
            )

    def text(self) -> str:
        ET.indent(self.root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(self.root, "unicode")


def _q(tag: str) -> str:
    return f"{{{SEDML_NS}}}{tag}"


def _ci(name: str) -> ET.Element:
    e = ET.Element(f"{{{MATHML_NS}}}ci")
    e.text = name
    return e


def _apply(op: str, *args: ET.Element) -> ET.Element:
    e = ET.Element(f"{{{MATHML_NS}}}apply")
    e.append(ET.Element(f"{{{MATHML_NS}}}{op}"))
    e.extend(args)
    return e


#: Run by :func:`check_sedml` in a child process: libSEDML first (see :class:`_Sed`).
_CHILD = (
    "import json, sys\n"
    "import libsedml  # noqa: F401  (before libSBML)\n"
    "from secretome.omex_export import _sedml_errors\n"
    "data = json.load(sys.stdin)\n"
    "print(json.dumps(_sedml_errors(data['sedml'], data['sbml'])))\n"
)


def check_sedml(text: str, sbml: Mapping[str, str] | None = None) -> list[str]:
    """Read a SED-ML text with libSEDML (in a child process) and check its references.

    Parameters
    ----------
    text : str
        The SED-ML document.
    sbml : mapping, optional
        Archive path -> SBML text of the models it uses: every change and variable
        target must name an element of its model's SBML.

    Returns
    -------
    list of str
        The problems found (empty when the document is sound).
    """
    models = {k: v for k, v in (sbml or {}).items() if k.endswith(".xml")}
    payload = json.dumps({"sedml": text, "sbml": models})
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], input=payload, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        return [f"libSEDML could not check the document: {done.stderr.strip()[-500:]}"]
    return json.loads(done.stdout.strip().splitlines()[-1])


def _sedml_errors(text: str, sbml: Mapping[str, str] | None = None) -> list[str]:
    """libSEDML's reading errors, and every reference checked: models, simulations,
    tasks, data generators, and each XPath target against the SBML it points into.

    Only in a process that imported libSEDML before libSBML (:func:`check_sedml`)."""
    import libsedml

    doc = libsedml.readSedMLFromString(text)
    out = [
        doc.getError(i).getMessage().strip()
        for i in range(doc.getNumErrors())
        if doc.getError(i).getSeverity() >= libsedml.LIBSEDML_SEV_ERROR
    ]
    models = {m.getId(): m for m in doc.getListOfModels()}
    sims = {s.getId() for s in doc.getListOfSimulations()}
    tasks = {t.getId(): t for t in doc.getListOfTasks()}
    dgs = {d.getId() for d in doc.getListOfDataGenerators()}
    ids = {}
    for name, s in (sbml or {}).items():
        sbml_doc = libsbml.readSBMLFromString(s)  # keep the document alive while reading
        m_ = sbml_doc.getModel()
        ids[name] = {p.getId() for p in m_.getListOfParameters()}
        ids[name] |= {x.getId() for x in m_.getListOfSpecies()}
    target = re.compile(r"@id='([^']+)'")

    def known(model_id: str, xpath: str) -> bool:
        source = models[model_id].getSource()
        found = target.search(xpath)
        return source not in ids or (found is not None and found.group(1) in ids[source])

    for mid, m in models.items():
        for c in m.getListOfChanges():
            if not known(mid, c.getTarget()):
                out.append(f"model {mid}: change of an unknown target {c.getTarget()}")
    for tid, t in tasks.items():
        if t.getModelReference() not in models or t.getSimulationReference() not in sims:
            out.append(f"task {tid}: unknown model or simulation")
    for d in doc.getListOfDataGenerators():
        for v in d.getListOfVariables():
            task = tasks.get(v.getTaskReference())
            if task is None:
                out.append(f"data generator {d.getId()}: unknown task {v.getTaskReference()}")
            elif v.isSetTarget() and not known(task.getModelReference(), v.getTarget()):
                out.append(f"data generator {d.getId()}: unknown target {v.getTarget()}")
    for o in doc.getListOfOutputs():
        for ds in o.getListOfDataSets():
            if ds.getDataReference() not in dgs:
                out.append(f"output {o.getId()}: unknown data generator {ds.getDataReference()}")
    return out


def write_archive(archive: Archive, path: str | Path) -> Path:
    """Write ``archive`` as an OMEX file (atomically) and check that it reads back.

    Parameters
    ----------
    archive : Archive
    path : path-like

    Returns
    -------
    pathlib.Path
    """
    path = Path(path)
    with tempfile.TemporaryDirectory() as tmp:
        omex = libcombine.CombineArchive()
        for name, text in archive.files.items():
            local = Path(tmp) / name
            local.write_text(text, encoding="utf-8")
            kind = (
                "sedml" if name.endswith(".sedml") else "sbml" if name.endswith(".xml") else "tsv"
            )
            if not omex.addFile(str(local), name, FORMATS[kind], name == archive.sedml):
                raise SecretomeError(f"cannot add {name} to the archive")
        target = Path(tmp) / "archive.omex"
        if not omex.writeToFile(str(target)):
            raise SecretomeError(f"cannot write the archive {path}")
        omex.cleanUp()
        problems = check_archive(target)
        if problems:
            raise SecretomeError(f"{path}: " + "; ".join(problems))
        return atomic_write(path, target.read_bytes())


def check_archive(path: str | Path) -> list[str]:
    """Open an OMEX file with libCOMBINE and validate its SBML and SED-ML.

    Parameters
    ----------
    path : path-like

    Returns
    -------
    list of str
        Problems found (empty when the archive is sound).
    """
    omex = libcombine.CombineArchive()
    if not omex.initializeFromArchive(str(path)):
        return [f"{path}: not a COMBINE archive"]
    problems = []
    try:
        manifest = omex.getManifest()
        masters, texts = [], {}
        for i in range(manifest.getNumContents()):
            entry = manifest.getContent(i)
            location = entry.getLocation()
            if location in (".", "./manifest.xml"):
                continue
            text = omex.extractEntryToString(location)
            texts[location] = text
            if entry.getMaster():
                masters.append(location)
            if location.endswith(".xml"):
                errors = sbml_export.check(text).errors
                problems += [f"{location}: {e}" for e in errors]
        sbml = {k: v for k, v in texts.items() if k.endswith(".xml")}
        for location, text in texts.items():
            if location.endswith(".sedml"):
                problems += [f"{location}: {e}" for e in check_sedml(text, sbml)]
        if len(masters) != 1:
            problems.append(f"expected one master file, found {masters}")
    finally:
        omex.cleanUp()
    return problems


def export_omex(
    path: str | Path,
    scenario_list: Iterable[scenarios.Scenario] | None = None,
    params: parameter_sets.ParameterSet | None = None,
    *,
    n_points: int = DEFAULT_POINTS,
) -> Path:
    """Write the scenarios as a COMBINE archive of SBML and SED-ML.

    Parameters
    ----------
    path : path-like
        The ``.omex`` file (written atomically).
    scenario_list : iterable of Scenario, optional
        Default: every shipped scenario.
    params : ParameterSet, optional
        Default: the shipped fit.
    n_points : int
        Time-course points per scenario.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    SecretomeError
        If a file of the archive is invalid or the archive cannot be written.
    """
    return write_archive(build_archive(scenario_list, params, n_points=n_points), path)


__all__ = [
    "Archive",
    "arm_id",
    "build_archive",
    "check_archive",
    "export_omex",
    "write_archive",
]
