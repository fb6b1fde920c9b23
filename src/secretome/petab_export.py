"""The calibration problem as PEtab (``secretome export-petab DIR``), qualitative data included.

``docs/petab.md`` has the details. What is written:

* ``model.xml``: the annotated SBML (:mod:`secretome.sbml_export`) plus the
  untreated control arm, so that ``treated / control`` becomes a formula of ONE
  simulation (``obs_X / ctrl_obs_X``). Every per-cell and medium species stays at
  its initial (control) level in the control arm by construction of the model
  (``models/*.ant``); the cell numbers of the culture (the species of compartment
  ``dish``: P, A, E, L) grow. So the SBML gets a *shadow control culture*: species
  ``ctrl_P, ctrl_A, ctrl_E, ctrl_L`` (same initial values) and reactions
  ``ctrl_division``, ... whose rate laws are the culture's in the control arm: every
  other species at its initial value (initial assignment, recursively), every
  assignment rule by its formula, no MSCs and no conditioned medium
  (``msc_density = cm_fraction = 0``), so every regulatory factor is its control
  value (1) and crowding counts the shadow culture. One parameter
  ``ctrl_<observable variable>`` per fold-change or MTT observable has as assignment
  rule the observable's formula rewritten alike (``ctrl_obs_viable_cells = ctrl_P +
  ctrl_A``; a per-cell readout becomes a formula of parameters). The export refuses
  measured scenarios for which the control arm is not this (perturbations, medium
  changes).
* ``conditions.tsv``: one condition per arm and dose of every scenario (shipped
  or measured), setting the inputs of :func:`secretome.scenarios.model_inputs` and
  every cell-line and MSC-source parameter: a number (the table's value for that
  context) or, when fitted, the id ``name__context`` of an estimated parameter.
* ``observables.tsv``: the quantitative readouts (fold changes as their natural log,
  ``ln(obs_X / ctrl_obs_X)``, with σ in natural-log units as in the objective;
  Annexin % and MTT % of control as they are, σ in percentage points) and the
  qualitative ones: ``lnfc_<observable>`` (the natural-log fold change the
  objective's hinges read) and ``order_<evidence id>`` (one per dose ordering).
* ``measurements.tsv``: the fitted ``quantitative`` evidence rows on their
  observable's scale (``reportedValue``: the paper's number), σ per row as in
  :mod:`secretome.objective` (standard PEtab v1).
* ``measurements_qualitative.tsv``: the fitted direction, no-change and ordering
  rows in pyPESTO's extension for non-quantitative data (``measurementType``
  ``interval-censored`` with ``censoringBounds``, or ``ordinal`` with
  ``measurementCategory``), so the hinge residuals of the objective are the
  censored residuals pyPESTO computes.
* ``parameters.tsv``: every fitted parameter (estimate = 1, log10 scale, the
  table's bounds, a uniform prior on the log10 scale within them, the shipped fit
  as nominal value) and every other shared parameter at its table value.
* ``problem.yaml`` (both measurement files: the whole calibration problem, for
  pyPESTO) and ``problem_quantitative.yaml`` (standard PEtab v1, for any tool).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import libsbml
import numpy as np
import pandas as pd

from secretome import comparison, model, parameter_sets, sbml_export, scenarios, simulation
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
QUANTITATIVE_PROBLEM_FILE = "problem_quantitative.yaml"
MODEL_FILE = "model.xml"
CONDITION_FILE = "conditions.tsv"
MEASUREMENT_FILE = "measurements.tsv"
QUALITATIVE_FILE = "measurements_qualitative.tsv"
OBSERVABLE_FILE = "observables.tsv"
PARAMETER_FILE = "parameters.tsv"
README_FILE = "README.md"

#: Model inputs that are zero in the control arm and define it (no MSCs, no CM).
CONTROL_INPUTS = {"msc_density": 0.0, "cm_fraction": 0.0}
#: Prefix of the SBML elements of the untreated control arm: ``ctrl_<variable>``
#: (an observable's control level), ``ctrl_P`` and ``ctrl_division`` (the shadow
#: control culture's species and reactions).
CONTROL_PREFIX = "ctrl_"
#: The compartment whose species (cell numbers) move in the control arm too: the
#: shadow control culture copies them.
CULTURE_COMPARTMENT = "dish"
#: Prefixes of the qualitative observables: log fold change, and one per ordering.
FOLD_PREFIX = "lnfc_"
ORDER_PREFIX = "order_"
#: Provenance columns of the evidence copied to the measurement tables.
PROVENANCE = ("id", "study", "source", "quote", "note")
#: pyPESTO's columns and values for non-quantitative data (pypesto.C).
MEASUREMENT_TYPE = "measurementType"
CENSORING_BOUNDS = "censoringBounds"
MEASUREMENT_CATEGORY = "measurementCategory"
INTERVAL_CENSORED = "interval-censored"
ORDINAL = "ordinal"
#: The PEtab prior of every estimated parameter: uniform on its log10 scale within
#: its bounds, which is what ``secretome fit`` assumes (no prior term).
PRIOR = "parameterScaleUniform"
#: The PEtab prior of an estimated noise parameter σ: normal on its log10 scale,
#: the objective's log-normal prior (``[noise]`` of ``fit.toml``).
NOISE_PRIOR = "parameterScaleNormal"

_ID = re.compile(r"(?<![\w.])[A-Za-z_]\w*")


def _petab_id(text: str) -> str:
    """A valid PEtab / SBML identifier made from ``text``."""
    s = re.sub(r"\W", "_", text)
    return s if re.match(r"[A-Za-z_]", s) else f"x_{s}"


def context_parameter_id(name: str, context: str) -> str:
    """PEtab id of a scoped parameter in one context: ``w_prol_AKT__AGS``."""
    return f"{name}__{_petab_id(context)}"


def condition_id(scenario: str, arm: str, dose_index: int | None = None) -> str:
    """``<scenario>__control`` or ``<scenario>__dose<k>`` (k from 1)."""
    sid = _petab_id(scenario)
    return f"{sid}__control" if arm == "control" else f"{sid}__dose{dose_index + 1}"


# ---------------------------------------------------------------------------
# SBML: control levels as assignment rules


class _Expander:
    """Rewrite a formula as its value in the untreated control arm.

    Every assignment rule is replaced by its formula and every species by its initial
    value (initial assignment, recursively), with ``fixed`` inputs set (no MSCs, no
    conditioned medium), except the species of ``rename``, which become the species
    named there (the shadow control culture), and rule or initial-assignment
    parameters that depend on no species, no input of ``fixed`` and not on time,
    which keep their name (their value is the same in both arms).
    """

    def __init__(
        self,
        m: libsbml.Model,
        fixed: Mapping[str, float],
        rename: Mapping[str, str] | None = None,
    ) -> None:
        if any(not m.getRule(i).isAssignment() for i in range(m.getNumRules())):
            raise SecretomeError("the model has rate or algebraic rules; cannot export")
        if m.getNumEvents():
            raise SecretomeError("the model has events; cannot export")
        self.subst: dict[str, str] = {}
        for i in range(m.getNumRules()):
            r = m.getRule(i)
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
        self.rename = dict(rename or {})
        # what makes the two arms differ: species, the inputs set here, time
        self._arm_dependent = self.species | set(fixed) | {"time"}
        self._deps: dict[str, frozenset[str]] = {}
        for name, value in fixed.items():
            self.subst[name] = repr(float(value))
        self._memo: dict[str, str] = {}

    def _depends(self, name: str, depth: int = 0) -> frozenset[str]:
        """Every name ``name``'s definition reaches, recursively (itself included)."""
        if depth > 100:
            raise SecretomeError(f"cyclic definitions while expanding {name!r}")
        if name not in self._deps:
            found = {name}
            if name in self.subst and name not in self.species:
                for sub in set(_ID.findall(self.subst[name])):
                    found |= self._depends(sub, depth + 1)
            self._deps[name] = frozenset(found)
        return self._deps[name]

    def expand(self, formula: str, depth: int = 0) -> str:
        """``formula`` in the control arm (see the class docstring)."""
        if depth > 100:
            raise SecretomeError(f"cyclic definitions while expanding {formula!r}")

        def repl(match: re.Match) -> str:
            name = match.group(0)
            if name in self.rename:
                return self.rename[name]
            if name not in self.subst or not self._depends(name) & self._arm_dependent:
                return name
            if name not in self._memo:
                self._memo[name] = self.expand(self.subst[name], depth + 1)
            return f"({self._memo[name]})"

        return _ID.sub(repl, formula)

    def control_formula(self, formula: str, what: str) -> str:
        """:meth:`expand`, checked: only the renamed species may remain, and no time."""
        expanded = self.expand(formula)
        bad = sorted(set(_ID.findall(expanded)) & ((self.species - set(self.rename)) | {"time"}))
        if bad:
            raise SecretomeError(
                f"control level of {what} still depends on {', '.join(bad)}; cannot export"
            )
        ast = libsbml.parseL3Formula(expanded)
        if ast is None:
            raise SecretomeError(f"control level of {what}: {libsbml.getLastParseL3Error()}")
        return libsbml.formulaToL3String(ast)


def _fresh_id(m: libsbml.Model, sid: str) -> str:
    if m.getElementBySId(sid) is not None:
        raise SecretomeError(f"model already has an element '{sid}'")
    return sid


def _copy_annotation(source: libsbml.SBase, target: libsbml.SBase, sid: str) -> None:
    """``target`` (a clone of ``source`` with id ``sid``) gets its own metaid and
    ``source``'s SBO term and MIRIAM terms."""
    target.unsetAnnotation()
    target.unsetCVTerms()
    target.unsetMetaId()
    target.setMetaId(f"meta_{sid}")
    if source.isSetSBOTerm():
        target.setSBOTerm(source.getSBOTerm())
    for i in range(source.getNumCVTerms()):
        target.addCVTerm(source.getCVTerm(i))


def _add_shadow_culture(m: libsbml.Model, plain: libsbml.Model, expander: _Expander) -> None:
    """Add the shadow control culture to ``m`` (the annotated model): a copy of every
    species of :data:`CULTURE_COMPARTMENT` (``ctrl_P``, ...) and of every reaction
    that changes them, its rate law the original's in the control arm
    (:class:`_Expander`: the culture's own species renamed, every other quantity at
    its control level, which it keeps at every time)."""
    for sid, shadow in expander.rename.items():
        original = m.getSpecies(sid)
        copy = original.clone()
        copy.setId(_fresh_id(m, shadow))
        _copy_annotation(original, copy, shadow)
        copy.setName(f"{original.getName() or sid}, untreated control arm (shadow culture)")
        m.addSpecies(copy)
        ia = m.createInitialAssignment()
        ia.setSymbol(shadow)
        start = expander.control_formula(expander.subst[sid], f"the initial value of {sid}")
        ia.setMath(libsbml.parseL3Formula(start))
    cells = set(expander.rename)
    for r in plain.getListOfReactions():
        changed = {ref.getSpecies() for ref in [*r.getListOfReactants(), *r.getListOfProducts()]}
        if not changed & cells:
            continue
        if not changed <= cells:
            raise SecretomeError(
                f"reaction {r.getId()} changes the culture and other species; cannot export"
            )
        original = m.getReaction(r.getId())
        copy = original.clone()
        rid = _fresh_id(m, CONTROL_PREFIX + r.getId())
        copy.setId(rid)
        _copy_annotation(original, copy, rid)
        copy.setName(f"{original.getName() or r.getId()}, untreated control arm (shadow culture)")
        # a modifier outside the culture is at its control level there: a number now
        for k in reversed(range(copy.getNumModifiers())):
            if copy.getModifier(k).getSpecies() not in cells:
                copy.removeModifier(k)
        for ref in [
            *copy.getListOfReactants(),
            *copy.getListOfProducts(),
            *copy.getListOfModifiers(),
        ]:
            ref.unsetMetaId()
            if ref.isSetId():
                ref.setId(_fresh_id(m, CONTROL_PREFIX + ref.getId()))
            ref.setSpecies(expander.rename[ref.getSpecies()])
        law = libsbml.formulaToL3String(r.getKineticLaw().getMath())
        law = expander.control_formula(law, f"reaction {r.getId()}")
        copy.getKineticLaw().setMath(libsbml.parseL3Formula(law))
        # species the rules of the law reached (crowding: the whole culture) are
        # named in it now, so SBML wants them declared as modifiers
        listed = {ref.getSpecies() for ref in copy.getListOfReactants()}
        listed |= {ref.getSpecies() for ref in copy.getListOfProducts()}
        listed |= {ref.getSpecies() for ref in copy.getListOfModifiers()}
        for shadow in sorted(set(_ID.findall(law)) & set(expander.rename.values()) - listed):
            copy.createModifier().setSpecies(shadow)
        m.addReaction(copy)


def petab_sbml(spec: model.ModelSpec, variables: list[str]) -> str:
    """The model's annotated SBML with the shadow control culture and a
    ``ctrl_<variable>`` assignment rule per variable (its control-arm level).

    Parameters
    ----------
    spec : ModelSpec
    variables : list of str
        Observable variables (``obs_...``) that need a control level.

    Returns
    -------
    str
        SBML without libSBML errors or unit warnings.

    Raises
    ------
    SecretomeError
        A control level depends on something the construction cannot express
        (time, a reaction that changes the culture and other species, rate rules,
        events).
    """
    plain_doc = libsbml.readSBMLFromString(spec.sbml)  # a model lives as long as its document
    plain = plain_doc.getModel()
    culture = [
        s.getId() for s in plain.getListOfSpecies() if s.getCompartment() == CULTURE_COMPARTMENT
    ]
    expander = _Expander(plain, CONTROL_INPUTS, {c: CONTROL_PREFIX + c for c in culture})
    formulas = {var: expander.control_formula(var, var) for var in variables}
    doc = libsbml.readSBMLFromString(sbml_export.annotated_sbml(spec))
    m = doc.getModel()
    _add_shadow_culture(m, plain, expander)
    for var, formula in formulas.items():
        p = m.createParameter()
        p.setId(_fresh_id(m, CONTROL_PREFIX + var))
        p.setName(f"{var} in the untreated control arm")
        p.setConstant(False)
        p.setSBOTerm(sbml_export.OBSERVABLE_SBO)
        rule = m.createAssignmentRule()
        rule.setVariable(p.getId())
        rule.setMath(libsbml.parseL3Formula(formula))
    sbml = sbml_export.complete_units(libsbml.writeSBMLToString(doc))
    found = sbml_export.check(sbml)
    if found.errors:
        raise SecretomeError("exported SBML is invalid:\n" + "\n".join(found.errors))
    return sbml


# ---------------------------------------------------------------------------
# Conditions


@dataclass(frozen=True)
class _Condition:
    id: str
    name: str
    scenario: scenarios.Scenario
    arm: str
    dose: float | None


def _conditions_of(s: scenarios.Scenario) -> list[_Condition]:
    out = [
        _Condition(condition_id(s.name, "control"), f"{s.name}, control arm", s, "control", None)
    ]
    for k, dose in enumerate(s.doses):
        out.append(
            _Condition(
                condition_id(s.name, "treated", k),
                f"{s.name}, treated, {s.dose_unit} = {dose:g}",
                s,
                "treated",
                dose,
            )
        )
    return out


def _condition_for(s: scenarios.Scenario, arm: str, dose: float | None) -> str:
    if arm == "control":
        return condition_id(s.name, "control")
    k = int(np.argmin([abs(d - dose) for d in s.doses]))
    return condition_id(s.name, "treated", k)


def exportable(s: scenarios.Scenario) -> str:
    """Why a scenario cannot be a PEtab condition (``""`` if it can).

    Parameters
    ----------
    s : Scenario

    Returns
    -------
    str
    """
    if s.perturbations:
        return (
            f"scenario {s.name} has perturbations: its control arm is not the unperturbed "
            "steady state, so treated/control is not one simulation"
        )
    if s.medium_changes_h:
        return f"scenario {s.name} has medium changes, which PEtab v1 conditions cannot express"
    return ""


def _check_exportable(s: scenarios.Scenario) -> None:
    why = exportable(s)
    if why:
        raise SecretomeError(f"{why}; PEtab export refused")


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
        arm_inputs = simulation.arm_inputs(spec, c.scenario, c.dose, c.arm)  # + capacity
        input_cols += [k for k in arm_inputs if k not in input_cols]
    for c in conditions:
        arm_inputs = simulation.arm_inputs(spec, c.scenario, c.dose, c.arm)  # + capacity
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


# ---------------------------------------------------------------------------
# Observables and measurements


def _observable_row(obs: model.Observable) -> dict:
    var = obs.variable
    if obs.assay in model.PERCENT_ASSAYS:
        formula, transform = var, "lin"
    elif obs.assay == "mtt":
        formula, transform = f"100 * {var} / {CONTROL_PREFIX}{var}", "lin"
    else:
        # the log fold change itself, on a linear scale: the same likelihood as a
        # log-transformed fold change (up to the constant Jacobian term), read alike by
        # every tool (pyPESTO's hierarchical objective ignores observableTransformation)
        formula, transform = f"ln({var} / {CONTROL_PREFIX}{var})", "lin"
    return {
        "observableId": obs.name,
        "observableName": obs.description,
        "observableFormula": formula,
        "observableTransformation": transform,
        "noiseFormula": f"noiseParameter1_{obs.name}",
        "noiseDistribution": "normal",
    }


def _on_scale(obs: model.Observable, value: float) -> float:
    """A measured value on its observable's scale: ln for fold changes (log_fold)."""
    return value if obs.assay in (*model.PERCENT_ASSAYS, "mtt") else math.log(value)


def _fold_formula(obs: model.Observable) -> str:
    """ln of the fold the objective's hinges read (:meth:`Objective._term_residuals`):
    treated / control for ratio assays and MTT, the treated % for Annexin."""
    var = obs.variable
    if obs.assay in model.PERCENT_ASSAYS:
        return f"ln({var})"
    return f"ln({var} / {CONTROL_PREFIX}{var})"


def _qualitative_observable(
    oid: str, obs: model.Observable, what: str, *, log: bool = True
) -> dict:
    formula = _fold_formula(obs)
    if not log:  # the fold itself: pyPESTO's optimal scaling wants positive values
        formula = formula.removeprefix("ln(").removesuffix(")")
    return {
        "observableId": oid,
        "observableName": f"{what}: {obs.description}",
        "observableFormula": formula,
        "observableTransformation": "lin",
        "noiseFormula": f"noiseParameter1_{oid}",
        "noiseDistribution": "normal",
    }


def _bound(x: float) -> str:
    return "inf" if x == math.inf else "-inf" if x == -math.inf else repr(float(x))


def _qualitative_rows(
    row: pd.Series, term, s: scenarios.Scenario, obs: model.Observable, config: FitConfig
) -> tuple[list[dict], dict]:
    """Measurement rows and the observable of one qualitative evidence row."""
    provenance = {f"evidence_{k}": row[k] for k in PROVENANCE}
    base = {
        "time": float(row["time_h"]),
        "noiseParameters": config.qualitative_sigma,
        "datasetId": _petab_id(row["id"]),
        **provenance,
        "evidence_kind": row["kind"],
        "evidence_direction": row["direction"],
    }
    sign = {"up": 1.0, "down": -1.0}.get(row["direction"], 0.0)
    out = []
    if term.kind == "ordering":
        oid = ORDER_PREFIX + _petab_id(row["id"])
        n = len(term.doses)
        for k, dose in enumerate(term.doses):
            category = k + 1 if sign > 0 else n - k
            out.append(
                {
                    "observableId": oid,
                    "simulationConditionId": _condition_for(s, "treated", dose),
                    "measurement": float(category),
                    **base,
                    MEASUREMENT_TYPE: ORDINAL,
                    MEASUREMENT_CATEGORY: category,
                }
            )
        observable = _qualitative_observable(oid, obs, f"dose ordering {row['id']}", log=False)
        return out, observable
    oid = FOLD_PREFIX + obs.name
    if term.kind == "direction":
        m = config.direction_margin
        bounds = (m, math.inf) if sign > 0 else (-math.inf, -m)
        doses = term.doses[:1]  # the objective reads the first dose
    else:  # no_change, at every dose
        bounds = (-config.no_change_bound, config.no_change_bound)
        doses = term.doses
    finite = [b for b in bounds if math.isfinite(b)]
    for dose in doses:
        out.append(
            {
                "observableId": oid,
                "simulationConditionId": _condition_for(s, "treated", dose),
                "measurement": float(np.mean(finite)),
                **base,
                MEASUREMENT_TYPE: INTERVAL_CENSORED,
                CENSORING_BOUNDS: f"{_bound(bounds[0])};{_bound(bounds[1])}",
            }
        )
    return out, _qualitative_observable(oid, obs, "log fold change")


# ---------------------------------------------------------------------------
# Parameters


def shipped_noise(objective: Objective) -> dict[str, float]:
    """The fitted noise parameters recorded with the shipped fit (``[noise]`` of
    ``models/fitted_parameters.toml``); those it lacks are left out (their start is
    then the prior median)."""
    import tomllib

    from secretome.paths import models_dir

    path = models_dir() / parameter_sets.FITTED_PROVENANCE
    if not path.is_file():
        return {}
    noise = tomllib.loads(path.read_text(encoding="utf-8")).get("noise", {})
    return {k: float(v) for k, v in noise.items() if k in objective.noise_keys}


def _noise_row(p, objective: Objective, nominal: float) -> dict:
    """An estimated noise parameter: log10 scale within its bounds, its log-normal
    prior as a normal prior on that scale (the same density as the objective's,
    which is on ln σ: a constant factor apart)."""
    group = next(g for g in objective.config.noise if g.name == p.key)
    mean, sd = math.log10(group.median), group.log_sd / math.log(10.0)
    row = _parameter_row(p.key, p.key, nominal, p.lower, p.upper, True, p.nominal)
    prior = f"{mean!r};{sd!r}"
    return row | {
        "initializationPriorType": NOISE_PRIOR,
        "initializationPriorParameters": prior,
        "objectivePriorType": NOISE_PRIOR,
        "objectivePriorParameters": prior,
    }


def _parameter_row(pid, name, nominal, lower, upper, estimate: bool, table_value) -> dict:
    row = {
        "parameterId": pid,
        "parameterName": name,
        # a fixed parameter's scale means nothing in PEtab; lin keeps pyPESTO's
        # roadrunner objective from reading its log10 value as the value itself
        "parameterScale": "log10" if estimate else "lin",
        "lowerBound": float(lower),
        "upperBound": float(upper),
        "nominalValue": float(nominal),
        "estimate": int(estimate),
        "tableValue": float(table_value),
    }
    if estimate:
        # no prior parameters: PEtab's default for this type, the bounds on the
        # log10 scale (an explicit log10(1) = 0 trips petablint's check for log(0))
        row |= {"initializationPriorType": PRIOR, "objectivePriorType": PRIOR}
    return row


def _parameter_table(
    spec: model.ModelSpec,
    objective: Objective,
    fitted_used: set[str],
    condition_df: pd.DataFrame,
    start: Mapping[str, float],
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    fitted = {p.key: p for p in objective.space.parameters}
    unknown = sorted(set(start) - set(fitted))
    if unknown:
        raise SecretomeError(f"start values for parameters that are not fitted: {unknown}")
    rows, unreached = [], []
    for p in objective.space.parameters:
        if p.scope == "noise":
            rows.append(_noise_row(p, objective, float(start.get(p.key, p.nominal))))
            continue
        if p.context and p.key not in fitted_used:
            unreached.append(p.key)
            continue
        pid = context_parameter_id(p.name, p.context) if p.context else p.name
        value = float(start.get(p.key, p.nominal))
        rows.append(_parameter_row(pid, p.key, value, p.lower, p.upper, True, p.nominal))
    shared = spec.parameters[spec.parameters["scope"] == "shared"]
    for r in shared.itertuples(index=False):
        if r.name in fitted or r.name in condition_df.columns:
            continue
        rows.append(_parameter_row(r.name, r.name, r.value, r.lower, r.upper, False, r.value))
    return pd.DataFrame(rows), tuple(unreached)


# ---------------------------------------------------------------------------
# The problem


@dataclass(frozen=True)
class PetabTables:
    """The PEtab problem in memory (what :func:`export_petab` writes).

    Attributes
    ----------
    sbml : str
    conditions, measurements, qualitative, observables, parameters : pandas.DataFrame
        ``measurements`` holds the quantitative rows, ``qualitative`` the
        censored and ordinal rows of pyPESTO's extension.
    unreached : tuple of str
        Fitted parameters that no exported condition uses.
    skipped : tuple of str
        Scenarios left out of the conditions, with the reason.
    start_label : str
        Where the nominal values of the estimated parameters come from.
    """

    sbml: str
    conditions: pd.DataFrame
    measurements: pd.DataFrame
    qualitative: pd.DataFrame
    observables: pd.DataFrame
    parameters: pd.DataFrame
    unreached: tuple[str, ...]
    skipped: tuple[str, ...] = ()
    start_label: str = ""


def build_tables(
    config: FitConfig | None = None,
    evidence: pd.DataFrame | None = None,
    start: parameter_sets.ParameterSet | None = None,
) -> PetabTables:
    """Build every table of the PEtab problem (no files written).

    Parameters
    ----------
    config : FitConfig, optional
        Default: ``experiments/fit.toml``.
    evidence : DataFrame, optional
        Default: the shipped evidence base (only ``fit`` rows are used).
    start : ParameterSet, optional
        Nominal values of the estimated parameters (the start of a refit);
        default the shipped fit (:func:`secretome.parameter_sets.shipped_fit`).
        Keys that are not fitted are refused.

    Returns
    -------
    PetabTables

    Raises
    ------
    SecretomeError
        A measured scenario cannot be a condition, or nothing is fitted.
    """
    config = config or load_fit_config()
    default_start = start is None
    start = start if start is not None else parameter_sets.shipped_fit()
    spec = model.load_model()
    objective = Objective(config, evidence=evidence)
    sbml_ids = _sbml_ids(spec.sbml)

    meas, qual, used_obs, qual_obs = [], [], {}, {}
    for term, (_, row) in zip(objective.terms, objective.evidence.iterrows(), strict=True):
        s = objective.scenarios[term.scenario]
        _check_exportable(s)
        obs = model.get_observable(spec, term.observable)
        if obs.name in sbml_ids:
            raise SecretomeError(f"observable id {obs.name} clashes with a model id")
        if row["kind"] != "quantitative":
            rows, observable = _qualitative_rows(row, term, s, obs, config)
            qual += rows
            qual_obs[observable["observableId"]] = observable
            continue
        if row["arm"] == "control" and obs.assay not in model.PERCENT_ASSAYS:
            raise SecretomeError(
                f"evidence row {row['id']}: a control-arm value of a {obs.assay} ratio "
                "cannot be exported (only Annexin % has a control-arm value)"
            )
        used_obs[obs.name] = obs
        dose = None if row["arm"] == "control" else comparison.row_doses(row)[0]
        meas.append(
            {
                "observableId": obs.name,
                "simulationConditionId": _condition_for(s, row["arm"], dose),
                "measurement": _on_scale(obs, observed_value(row)),
                "time": float(row["time_h"]),
                # an estimated σ (secretome.objective's noise parameters) by its id
                "noiseParameters": objective.noise_parameter_of(row["id"])
                or quantitative_sigma(row, config),
                "datasetId": _petab_id(row["id"]),
                "reportedValue": observed_value(row),
                **{f"evidence_{k}": row[k] for k in PROVENANCE},
            }
        )
    if not meas:
        raise SecretomeError("no fitted quantitative evidence rows: nothing to export to PEtab")

    everything = {s.name: s for s in scenarios.shipped_scenarios()}
    everything.update(objective.scenarios)
    conditions, skipped = [], []
    for name in sorted(everything):
        why = exportable(everything[name])
        if why:
            skipped.append(why)
            continue
        conditions += _conditions_of(everything[name])

    observables = pd.DataFrame(
        [_observable_row(o) for o in used_obs.values()] + list(qual_obs.values())
    )
    # every ratio observable gets its control level, measured here or not
    ratio_vars = [o.variable for o in spec.observables if o.assay not in model.PERCENT_ASSAYS]
    sbml = petab_sbml(spec, ratio_vars)
    condition_df, fitted_used = _condition_table(spec, objective, conditions)
    noise_start = shipped_noise(objective) if default_start else {}
    parameter_df, unreached = _parameter_table(
        spec, objective, fitted_used, condition_df, {**(start.values or {}), **noise_start}
    )
    # sorted by condition: pyPESTO's roadrunner objective pairs its per-condition data
    # (in order of appearance) with petab's parameter mapping (sorted by condition)
    order = ["simulationConditionId", "observableId", "time"]
    return PetabTables(
        sbml=sbml,
        conditions=condition_df,
        measurements=pd.DataFrame(meas).sort_values(order, kind="stable", ignore_index=True),
        qualitative=pd.DataFrame(qual).sort_values(order, kind="stable", ignore_index=True),
        observables=observables,
        parameters=parameter_df,
        unreached=unreached,
        skipped=tuple(skipped),
        start_label=start.label,
    )


def _sbml_ids(sbml: str) -> set[str]:
    doc = libsbml.readSBMLFromString(sbml)
    m = doc.getModel()
    ids = {e.getId() for e in m.getListOfAllElements() if e.isSetId()}
    return ids | {m.getId()}


# ---------------------------------------------------------------------------
# Files


def _tsv(df: pd.DataFrame) -> str:
    return df.to_csv(sep="\t", index=False, lineterminator="\n")


def _problem_yaml(measurement_files: list[str]) -> str:
    """A PEtab v1 problem file (written by hand: PyYAML is not a dependency)."""
    return "\n".join(
        [
            "format_version: 1",
            f"parameter_file: {PARAMETER_FILE}",
            "problems:",
            f"- sbml_files: [{MODEL_FILE}]",
            f"  condition_files: [{CONDITION_FILE}]",
            f"  measurement_files: [{', '.join(measurement_files)}]",
            f"  observable_files: [{OBSERVABLE_FILE}]",
            "",
        ]
    )


def _readme(t: PetabTables, config: FitConfig) -> str:
    n_est = int(t.parameters["estimate"].sum())
    kinds = t.qualitative["evidence_kind"].value_counts() if len(t.qualitative) else {}
    lines = [
        "# The secretome calibration problem in PEtab",
        "",
        f"Exported by `secretome export-petab` from `{config.source or 'fit.toml'}`; "
        "docs/petab.md of the secretome package explains every choice.",
        "",
        f"- `{PROBLEM_FILE}`: the whole calibration problem: {len(t.measurements)} "
        f"quantitative measurements (`{MEASUREMENT_FILE}`) and "
        f"{t.qualitative['evidence_id'].nunique() if len(t.qualitative) else 0} qualitative "
        f"results as {len(t.qualitative)} rows of `{QUALITATIVE_FILE}` (rows: "
        + ", ".join(f"{v} {k}" for k, v in dict(kinds).items())
        + "), in pyPESTO's extension for censored and ordinal data (hierarchical "
        "optimisation, AMICI objective).",
        f"- `{QUANTITATIVE_PROBLEM_FILE}`: the quantitative part only, standard PEtab v1 "
        "for any tool; it misses the qualitative results.",
        f"- {len(t.conditions)} conditions (every arm and dose of every scenario), "
        f"{len(t.observables)} observables, {n_est} estimated parameters with a uniform "
        "prior on the log10 scale within their bounds; the noise parameters `sigma_*` "
        "(the σ of measurements without a reported SD, named in `noiseParameters`) "
        "have a normal prior on that scale instead.",
        f"- Nominal values of the estimated parameters (a refit's start): {t.start_label}; "
        "column `tableValue` holds models/parameters.csv's value.",
        "- Fold changes are `treated / control` of one simulation: `ctrl_<variable>` in "
        "model.xml is the untreated control arm's level (an assignment rule); the "
        "control culture grows, so model.xml simulates it alongside as a shadow "
        "culture (species `ctrl_P`, `ctrl_A`, `ctrl_E`, `ctrl_L`, reactions `ctrl_*`).",
        f"- Failed simulations: secretome's objective gives every residual of a failed "
        f"scenario the value {config.failure_residual:g}; a PEtab tool handles a failed "
        "integration its own way (pyPESTO: an infinite objective, the step is rejected).",
    ]
    if t.unreached:
        lines.append(
            "- Fitted by `secretome fit` but used in no exported condition, so absent "
            "here: " + ", ".join(t.unreached) + "."
        )
    if t.skipped:
        lines.append("- Scenarios left out: " + "; ".join(t.skipped) + ".")
    return "\n".join(lines) + "\n"


def export_petab(
    out_dir: str | Path,
    config: FitConfig | None = None,
    start: parameter_sets.ParameterSet | None = None,
) -> Path:
    """Write the calibration problem as PEtab files into ``out_dir``.

    Parameters
    ----------
    out_dir : path-like
        Directory to write into (created if missing; existing files of the same
        names are replaced, each atomically).
    config : FitConfig, optional
        Default: ``experiments/fit.toml``.
    start : ParameterSet, optional
        Nominal values of the estimated parameters; default the shipped fit.

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
    t = build_tables(config, start=start)  # before creating anything: a refusal leaves no trace
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SecretomeError(f"{out}: cannot create the output directory ({exc})") from None
    try:
        atomic_write(out / MODEL_FILE, t.sbml)
        atomic_write(out / CONDITION_FILE, _tsv(t.conditions))
        atomic_write(out / MEASUREMENT_FILE, _tsv(t.measurements))
        atomic_write(out / QUALITATIVE_FILE, _tsv(t.qualitative))
        atomic_write(out / OBSERVABLE_FILE, _tsv(t.observables))
        atomic_write(out / PARAMETER_FILE, _tsv(t.parameters))
        atomic_write(out / README_FILE, _readme(t, config))
        atomic_write(out / QUANTITATIVE_PROBLEM_FILE, _problem_yaml([MEASUREMENT_FILE]))
        return atomic_write(
            out / PROBLEM_FILE, _problem_yaml([MEASUREMENT_FILE, QUALITATIVE_FILE])
        )
    except OSError as exc:
        raise SecretomeError(f"{out}: cannot write the PEtab files ({exc})") from None


__all__ = [
    "PetabTables",
    "build_tables",
    "condition_id",
    "context_parameter_id",
    "export_petab",
    "exportable",
    "petab_sbml",
]
