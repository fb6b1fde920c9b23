"""The calibration problem as a PEtab v1 problem (``secretome export-petab DIR``).

What is exported (``docs/petab.md`` has the details):

* ``model.xml``: the SBML of :func:`secretome.model.load_model`, plus one parameter
  ``ctrl_<observable variable>`` per exported fold-change or MTT observable. Its
  assignment rule is the observable's value in the untreated control arm: the
  observable's formula with every species replaced by its initial value (initial
  assignment, recursively) and every assignment rule by its formula, with no MSCs
  and no conditioned medium (``msc_density = cm_fraction = 0``); every observable
  except the Annexin percentages gets one, measured in the export or not. The control arm
  sits at steady state by construction of the model (``models/*.ant``), so this
  constant is the control arm's level at every time, and ``treated / control``
  becomes a formula of ONE simulation: ``obs_X / ctrl_obs_X``. The export refuses
  scenarios for which this does not hold (perturbations, medium changes).
* ``observables.tsv``: fold changes (qPCR, western, ELISA, wound) on the log scale
  (``observableTransformation = log``, σ in natural-log units as in the objective);
  Annexin % and MTT % of control on the linear scale, σ in percentage points.
* ``measurements.tsv``: one row per fitted ``quantitative`` evidence row, σ given
  per row (``noiseParameters``): ln(1 + SD/value) or SD where the paper gives one,
  else ``[sigma]`` of the fit configuration, exactly as :mod:`secretome.objective`.
* ``conditions.tsv``: one condition per (scenario, arm, dose) a measurement needs,
  setting the inputs of :func:`secretome.scenarios.model_inputs` and every cell-line
  and MSC-source scoped parameter: a number (the table's value for that context)
  or, when fitted, the id ``name__context`` of an estimated parameter.
* ``parameters.tsv``: every fitted parameter that the exported measurements reach
  (estimate = 1, log10 scale, bounds and nominal value from
  ``models/parameters.csv``) and every other shared parameter at its table value
  (estimate = 0).
* ``qualitative_data.tsv``: the fitted direction / no-change / ordering rows, which
  PEtab v1 cannot express; a PEtab tool fits only the quantitative part.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import libsbml
import numpy as np
import pandas as pd

from secretome import comparison, model, scenarios
from secretome.errors import SecretomeError
from secretome.io import atomic_write
from secretome.objective import (
    FitConfig,
    Objective,
    load_fit_config,
    observed_value,
    quantitative_sigma,
)

PROBLEM_FILE = "problem.yaml"
MODEL_FILE = "model.xml"
CONDITION_FILE = "conditions.tsv"
MEASUREMENT_FILE = "measurements.tsv"
OBSERVABLE_FILE = "observables.tsv"
PARAMETER_FILE = "parameters.tsv"
QUALITATIVE_FILE = "qualitative_data.tsv"
README_FILE = "README.md"

#: Model inputs that are zero in the control arm and define it (no MSCs, no CM).
CONTROL_INPUTS = {"msc_density": 0.0, "cm_fraction": 0.0}
#: Prefix of the SBML parameters holding an observable's control level.
CONTROL_PREFIX = "ctrl_"
#: Provenance columns of the evidence copied to the measurement and qualitative tables.
PROVENANCE = ("id", "study", "source", "quote", "note")

_ID = re.compile(r"(?<![\w.])[A-Za-z_]\w*")


def _petab_id(text: str) -> str:
    """A valid PEtab / SBML identifier made from ``text``."""
    s = re.sub(r"\W", "_", text)
    return s if re.match(r"[A-Za-z_]", s) else f"x_{s}"


def context_parameter_id(name: str, context: str) -> str:
    """PEtab id of a scoped parameter in one context: ``w_prol_AKT__AGS``."""
    return f"{name}__{_petab_id(context)}"


# ---------------------------------------------------------------------------
# SBML: control levels as assignment rules


class _Expander:
    """Rewrite a formula in terms of parameters only, at t = 0 of the control arm."""

    def __init__(self, m: libsbml.Model, fixed: Mapping[str, float]) -> None:
        self.subst: dict[str, str] = {}
        for i in range(m.getNumRules()):
            r = m.getRule(i)
            if r.isAssignment():
                self.subst[r.getVariable()] = libsbml.formulaToL3String(r.getMath())
        for i in range(m.getNumInitialAssignments()):
            ia = m.getInitialAssignment(i)
            self.subst.setdefault(ia.getSymbol(), libsbml.formulaToL3String(ia.getMath()))
        self.species = {s.getId() for s in m.getListOfSpecies()}
        for s in m.getListOfSpecies():
            if s.getId() in self.subst:
                continue
            if s.isSetInitialConcentration():
                self.subst[s.getId()] = repr(float(s.getInitialConcentration()))
            elif s.isSetInitialAmount():
                comp = m.getCompartment(s.getCompartment())
                size = comp.getSize() if comp is not None else 1.0
                self.subst[s.getId()] = repr(float(s.getInitialAmount() / size))
            else:
                raise SecretomeError(f"species {s.getId()} has no initial value")
        for name, value in fixed.items():
            self.subst[name] = repr(float(value))
        self._memo: dict[str, str] = {}

    def expand(self, formula: str, depth: int = 0) -> str:
        if depth > 100:
            raise SecretomeError(f"cyclic definitions while expanding {formula!r}")

        def repl(match: re.Match) -> str:
            name = match.group(0)
            if name not in self.subst:
                return name
            if name not in self._memo:
                self._memo[name] = self.expand(self.subst[name], depth + 1)
            return f"({self._memo[name]})"

        return _ID.sub(repl, formula)


def _control_formulas(m: libsbml.Model, variables: list[str]) -> dict[str, str]:
    """Control-arm value of each observable variable, as a formula of parameters only."""
    expander = _Expander(m, CONTROL_INPUTS)
    out = {}
    for var in variables:
        formula = expander.expand(var)
        names = set(_ID.findall(formula))
        bad = sorted(names & (expander.species | {"time"}))
        if bad:
            raise SecretomeError(
                f"control level of {var} still depends on {', '.join(bad)}; cannot export"
            )
        ast = libsbml.parseL3Formula(formula)
        if ast is None:
            raise SecretomeError(f"control level of {var}: {libsbml.getLastParseL3Error()}")
        out[var] = libsbml.formulaToL3String(ast)
    return out


def petab_sbml(spec: model.ModelSpec, variables: list[str]) -> str:
    """The model's SBML with a ``ctrl_<variable>`` assignment rule per variable."""
    doc = libsbml.readSBMLFromString(spec.sbml)
    m = doc.getModel()
    for var, formula in _control_formulas(m, variables).items():
        pid = CONTROL_PREFIX + var
        if m.getElementBySId(pid) is not None:
            raise SecretomeError(f"model already has an element '{pid}'")
        p = m.createParameter()
        p.setId(pid)
        p.setName(f"{var} in the untreated control arm (steady state)")
        p.setConstant(False)
        rule = m.createAssignmentRule()
        rule.setVariable(pid)
        rule.setMath(libsbml.parseL3Formula(formula))
    errors = []
    doc.checkConsistency()
    for i in range(doc.getNumErrors()):
        err = doc.getError(i)
        if err.getSeverity() >= libsbml.LIBSBML_SEV_ERROR:
            errors.append(err.getMessage().strip())
    if errors:
        raise SecretomeError("exported SBML is invalid:\n" + "\n".join(errors))
    return libsbml.writeSBMLToString(doc)


# ---------------------------------------------------------------------------
# Tables


@dataclass(frozen=True)
class _Condition:
    id: str
    name: str
    scenario: scenarios.Scenario
    arm: str
    dose: float | None


def _condition_for(
    row: pd.Series, s: scenarios.Scenario, conditions: dict[tuple, _Condition]
) -> _Condition:
    sid = _petab_id(s.name)
    if row["arm"] == "control":
        key, cid, name = (s.name, "control", None), f"{sid}__control", f"{s.name}, control arm"
        dose = None
    else:
        wanted = comparison.row_doses(row)[0]
        k = int(np.argmin([abs(d - wanted) for d in s.doses]))
        dose = s.doses[k]
        key = (s.name, "treated", dose)
        cid = f"{sid}__dose{k + 1}"
        name = f"{s.name}, treated, {s.dose_unit} = {dose:g}"
    if key not in conditions:
        conditions[key] = _Condition(cid, name, s, key[1], dose)
    return conditions[key]


def _check_exportable(s: scenarios.Scenario) -> None:
    if s.perturbations:
        raise SecretomeError(
            f"scenario {s.name} has perturbations: its control arm is not the unperturbed "
            "steady state, so treated/control is not one simulation; PEtab export refused"
        )
    if s.medium_changes_h:
        raise SecretomeError(
            f"scenario {s.name} has medium changes, which PEtab v1 conditions cannot "
            "express (no events); PEtab export refused"
        )


def _observable_row(obs: model.Observable) -> dict:
    var = obs.variable
    if obs.assay == "annexin":
        formula, transform = var, "lin"
    elif obs.assay == "mtt":
        formula, transform = f"100 * {var} / {CONTROL_PREFIX}{var}", "lin"
    else:
        formula, transform = f"{var} / {CONTROL_PREFIX}{var}", "log"
    return {
        "observableId": obs.name,
        "observableName": obs.description,
        "observableFormula": formula,
        "observableTransformation": transform,
        "noiseFormula": f"noiseParameter1_{obs.name}",
        "noiseDistribution": "normal",
    }


@dataclass(frozen=True)
class PetabTables:
    """The PEtab problem in memory (what :func:`export_petab` writes)."""

    sbml: str
    conditions: pd.DataFrame
    measurements: pd.DataFrame
    observables: pd.DataFrame
    parameters: pd.DataFrame
    qualitative: pd.DataFrame
    unreached: tuple[str, ...]


def build_tables(config: FitConfig | None = None, evidence: pd.DataFrame | None = None):
    """Build every table of the PEtab problem (no files written).

    Parameters
    ----------
    config : FitConfig, optional
        Default: ``experiments/fit.toml``.
    evidence : DataFrame, optional
        Default: the shipped evidence base (only ``fit`` rows are used).

    Returns
    -------
    PetabTables
    """
    config = config or load_fit_config()
    spec = model.load_model()
    objective = Objective(config, evidence=evidence)
    sbml_ids = _sbml_ids(spec.sbml)

    conditions: dict[tuple, _Condition] = {}
    meas, qual, used_obs = [], [], {}
    for term, (_, row) in zip(objective.terms, objective.evidence.iterrows(), strict=True):
        s = objective.scenarios[term.scenario]
        provenance = {k: row[k] for k in PROVENANCE}
        if row["kind"] != "quantitative":
            qual.append(
                {
                    **provenance,
                    "scenario": s.name,
                    "observableId": term.observable,
                    "kind": row["kind"],
                    "direction": row["direction"],
                    "time": float(row["time_h"]),
                    "doses": ";".join(f"{d:g}" for d in term.doses),
                    "dose_unit": s.dose_unit,
                    **{
                        k: row[k]
                        for k in ("cell_line", "msc_source", "delivery", "assay", "readout")
                    },
                    **{k: row[k] for k in ("hgnc", "form", "scale", "n", "p_upper")},
                }
            )
            continue
        _check_exportable(s)
        obs = model.get_observable(spec, term.observable)
        if row["arm"] == "control" and obs.assay != "annexin":
            raise SecretomeError(
                f"evidence row {row['id']}: a control-arm value of a {obs.assay} ratio "
                "cannot be exported (only Annexin % has a control-arm value)"
            )
        if obs.name in sbml_ids:
            raise SecretomeError(f"observable id {obs.name} clashes with a model id")
        used_obs[obs.name] = obs
        cond = _condition_for(row, s, conditions)
        meas.append(
            {
                "observableId": obs.name,
                "simulationConditionId": cond.id,
                "measurement": observed_value(row),
                "time": float(row["time_h"]),
                "noiseParameters": quantitative_sigma(row, config),
                "datasetId": _petab_id(row["id"]),
                **{f"evidence_{k}": v for k, v in provenance.items()},
            }
        )
    if not meas:
        raise SecretomeError("no fitted quantitative evidence rows: nothing to export to PEtab")

    observables = pd.DataFrame([_observable_row(o) for o in used_obs.values()])
    # every ratio observable gets its control level, measured here or not
    ratio_vars = [o.variable for o in spec.observables if o.assay != "annexin"]
    sbml = petab_sbml(spec, ratio_vars)
    condition_df, fitted_used = _condition_table(spec, objective, list(conditions.values()))
    parameter_df, unreached = _parameter_table(spec, objective, fitted_used, condition_df)
    qualitative = pd.DataFrame(qual)
    return PetabTables(
        sbml=sbml,
        conditions=condition_df,
        measurements=pd.DataFrame(meas),
        observables=observables,
        parameters=parameter_df,
        qualitative=qualitative,
        unreached=unreached,
    )


def _sbml_ids(sbml: str) -> set[str]:
    m = libsbml.readSBMLFromString(sbml).getModel()
    ids = {e.getId() for e in m.getListOfAllElements() if e.isSetId()}
    return ids | {m.getId()}


def _condition_table(
    spec: model.ModelSpec, objective: Objective, conditions: list[_Condition]
) -> tuple[pd.DataFrame, set[str]]:
    table = spec.parameters
    fitted = {p.key for p in objective.space.parameters if p.context}
    scoped = table[table["scope"].isin(["cell_line", "msc_source"])]
    scoped_names = list(dict.fromkeys(scoped["name"]))
    inputs = table[table["scope"] == "input"].set_index("name")["value"]
    rows, used = [], set()
    input_cols: list[str] = list(CONTROL_INPUTS)
    for c in conditions:
        arm_inputs = scenarios.model_inputs(c.scenario, c.dose, arm=c.arm)
        input_cols += [k for k in arm_inputs if k not in input_cols]
    for c in conditions:
        arm_inputs = scenarios.model_inputs(c.scenario, c.dose, arm=c.arm)
        row: dict[str, object] = {"conditionId": c.id, "conditionName": c.name}
        for k in input_cols:
            row[k] = float(arm_inputs.get(k, inputs[k]))
        for name in scoped_names:
            sub = scoped[scoped["name"] == name]
            ctx = c.scenario.cell_line if sub["scope"].iloc[0] == "cell_line" else None
            ctx = ctx or c.scenario.msc_source
            if f"{name}[{ctx}]" in fitted:
                row[name] = context_parameter_id(name, ctx)
                used.add(f"{name}[{ctx}]")
            else:
                row[name] = float(sub.loc[sub["context"] == ctx, "value"].iloc[0])
        rows.append(row)
    return pd.DataFrame(rows), used


def _parameter_table(
    spec: model.ModelSpec, objective: Objective, fitted_used: set[str], condition_df
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    fitted = {p.key: p for p in objective.space.parameters}
    rows, unreached = [], []
    for p in objective.space.parameters:
        if p.context and p.key not in fitted_used:
            unreached.append(p.key)
            continue
        pid = context_parameter_id(p.name, p.context) if p.context else p.name
        rows.append(_parameter_row(pid, p.key, p.nominal, p.lower, p.upper, True))
    shared = spec.parameters[spec.parameters["scope"] == "shared"]
    for r in shared.itertuples(index=False):
        if r.name in fitted or r.name in condition_df.columns:
            continue
        rows.append(_parameter_row(r.name, r.name, r.value, r.lower, r.upper, False))
    return pd.DataFrame(rows), tuple(unreached)


def _parameter_row(pid, name, nominal, lower, upper, estimate: bool) -> dict:
    return {
        "parameterId": pid,
        "parameterName": name,
        "parameterScale": "log10",
        "lowerBound": float(lower),
        "upperBound": float(upper),
        "nominalValue": float(nominal),
        "estimate": int(estimate),
    }


# ---------------------------------------------------------------------------
# Files


def _tsv(df: pd.DataFrame) -> str:
    return df.to_csv(sep="\t", index=False, lineterminator="\n")


def _problem_yaml() -> str:
    """The PEtab v1 problem file (written by hand: PyYAML is not a dependency)."""
    return "\n".join(
        [
            "format_version: 1",
            f"parameter_file: {PARAMETER_FILE}",
            "problems:",
            f"- sbml_files: [{MODEL_FILE}]",
            f"  condition_files: [{CONDITION_FILE}]",
            f"  measurement_files: [{MEASUREMENT_FILE}]",
            f"  observable_files: [{OBSERVABLE_FILE}]",
            "",
        ]
    )


def _readme(t: PetabTables, config: FitConfig) -> str:
    n_est = int(t.parameters["estimate"].sum())
    lines = [
        "# The secretome calibration problem in PEtab v1",
        "",
        f"Exported by `secretome export-petab` from `{config.source or 'fit.toml'}`; "
        "see docs/petab.md of the secretome package.",
        "",
        f"- {len(t.measurements)} measurements (the fitted quantitative evidence rows), "
        f"{len(t.conditions)} conditions, {len(t.observables)} observables, "
        f"{n_est} estimated parameters.",
        "- Fold changes are `treated / control` of one simulation: `ctrl_<variable>` in "
        "model.xml is the control arm's steady-state level (an assignment rule of "
        "parameters only).",
        f"- `{QUALITATIVE_FILE}`: {len(t.qualitative)} fitted direction / no-change / "
        "ordering results. PEtab v1 has no place for qualitative data, so a PEtab tool "
        "fits only the quantitative part of secretome's objective.",
    ]
    if t.unreached:
        lines.append(
            "- Fitted by `secretome fit` but reached by no exported measurement, so absent "
            "here (they act only through qualitative data): " + ", ".join(t.unreached) + "."
        )
    return "\n".join(lines) + "\n"


def export_petab(out_dir: str | Path, config: FitConfig | None = None) -> Path:
    """Write the calibration problem as PEtab v1 files into ``out_dir``.

    Parameters
    ----------
    out_dir : path-like
        Directory to write into (created if missing; existing files of the same
        names are replaced, each atomically).
    config : FitConfig, optional
        Default: ``experiments/fit.toml``.

    Returns
    -------
    pathlib.Path
        ``out_dir/problem.yaml`` (written last: its presence means a complete export).

    Raises
    ------
    SecretomeError
        If ``out_dir`` cannot be a directory, or the problem cannot be expressed.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise SecretomeError(f"{out}: exists and is not a directory")
    config = config or load_fit_config()
    t = build_tables(config)  # before creating anything: a refused problem leaves no trace
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SecretomeError(f"{out}: cannot create the output directory ({exc})") from None
    try:
        atomic_write(out / MODEL_FILE, t.sbml)
        atomic_write(out / CONDITION_FILE, _tsv(t.conditions))
        atomic_write(out / MEASUREMENT_FILE, _tsv(t.measurements))
        atomic_write(out / OBSERVABLE_FILE, _tsv(t.observables))
        atomic_write(out / PARAMETER_FILE, _tsv(t.parameters))
        atomic_write(out / QUALITATIVE_FILE, _tsv(t.qualitative))
        atomic_write(out / README_FILE, _readme(t, config))
        return atomic_write(out / PROBLEM_FILE, _problem_yaml())
    except OSError as exc:
        raise SecretomeError(f"{out}: cannot write the PEtab files ({exc})") from None


__all__ = ["PetabTables", "build_tables", "context_parameter_id", "export_petab", "petab_sbml"]
