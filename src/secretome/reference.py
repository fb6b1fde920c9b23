"""A reference implementation of the model: a plain SciPy right-hand side from the SBML.

Used only to check :func:`secretome.simulate.simulate` (libRoadRunner, CVODE) for
accuracy and to measure its speed against (``benchmarks/``); nothing else in the
package calls it.

:func:`compile_reference` walks the SBML that :func:`secretome.model.load_model`
generates and writes Python source for three functions, compiled once per SBML
text:

* ``rhs(t, y, p)``: assignment rules in dependency order, then every reaction's
  kinetic law, then d[S]/dt = Σ stoichiometry × rate / compartment size;
* ``initial(p)``: species' initial concentrations, with the initial assignments
  (and the assignment rules they read) evaluated for the parameter values ``p``,
  as libRoadRunner's ``reset()`` does;
* ``observe(t, y, p)``: the assignment rules behind the observables.

Only the constructs the model uses are translated (arithmetic, powers, ``ln``,
``piecewise``, ``>``, function definitions, constant compartments, assignment
rules, initial assignments); anything else is refused by name, so a model change
that this module cannot follow fails loudly instead of giving a wrong reference.

:func:`reference_simulate` integrates each arm with ``scipy.integrate.solve_ivp``
(LSODA) at the tolerances of :func:`secretome.model.new_runner` and returns the
observables table of :func:`~secretome.simulate.simulate`. Scenarios with medium
changes are refused (no paper scenario has one).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

import libsbml
import numpy as np
import pandas as pd

from secretome import model
from secretome.errors import SecretomeError
from secretome.scenarios import Scenario, model_inputs
from secretome.simulate import (
    OBSERVABLE_COLUMNS,
    SimulationFailed,
    observation_value,
    resolve_context,
)

#: Integrator tolerances; the same as :func:`secretome.model.new_runner` sets on CVODE.
RTOL = 1e-8
ATOL = 1e-12
METHOD = "LSODA"

_PREAMBLE = "import math"


@dataclass(frozen=True)
class ReferenceModel:
    """The model as plain Python functions (see the module docstring).

    Attributes
    ----------
    species : tuple of str
        State variables, in the order of ``y``.
    parameters : tuple of str
        Constant global parameters, in the order of ``p``.
    defaults : numpy.ndarray
        The SBML's values of ``parameters``.
    observed : tuple of str
        Assignment-rule variables returned by ``observe``, in that order.
    rhs, initial, observe : callable
    source : str
        The generated Python source (for reading and debugging).
    """

    species: tuple[str, ...]
    parameters: tuple[str, ...]
    defaults: np.ndarray
    observed: tuple[str, ...]
    rhs: Callable[[float, np.ndarray, tuple], list]
    initial: Callable[[tuple], list]
    observe: Callable[[float, np.ndarray, tuple], list]
    source: str

    def parameter_vector(self, values: Mapping[str, float]) -> tuple[float, ...]:
        """The SBML defaults with ``values`` set; unknown names are refused."""
        index = {n: i for i, n in enumerate(self.parameters)}
        p = self.defaults.copy()
        for name, v in values.items():
            if name not in index:
                raise SecretomeError(f"unknown parameter {name!r}")
            p[index[name]] = float(v)
        return tuple(p.tolist())


class _Translator:
    """SBML math (libSBML AST) to a Python expression, for this model's constructs."""

    def __init__(self, names: Mapping[str, str], functions: set[str]) -> None:
        self.names = names
        self.functions = functions

    def __call__(self, node: libsbml.ASTNode, where: str) -> str:
        t = node.getType()
        kids = [self(node.getChild(i), where) for i in range(node.getNumChildren())]
        if t == libsbml.AST_PLUS:
            return "(" + " + ".join(kids) + ")" if kids else "0.0"
        if t == libsbml.AST_MINUS:
            return f"(-{kids[0]})" if len(kids) == 1 else f"({kids[0]} - {kids[1]})"
        if t == libsbml.AST_TIMES:
            return "(" + " * ".join(kids) + ")" if kids else "1.0"
        if t == libsbml.AST_DIVIDE:
            return f"({kids[0]} / {kids[1]})"
        if t in (libsbml.AST_POWER, libsbml.AST_FUNCTION_POWER):
            # math.pow raises on a negative base with a fractional exponent instead of
            # silently returning a complex number, as Python's ** would
            return f"math.pow({kids[0]}, {kids[1]})"
        if t == libsbml.AST_FUNCTION_LN:
            return f"math.log({kids[0]})"
        if t == libsbml.AST_FUNCTION_EXP:
            return f"math.exp({kids[0]})"
        if t == libsbml.AST_RELATIONAL_GT:
            return f"({kids[0]} > {kids[1]})"
        if t == libsbml.AST_RELATIONAL_LT:
            return f"({kids[0]} < {kids[1]})"
        if t == libsbml.AST_FUNCTION_PIECEWISE:
            # only the chosen branch is evaluated, as in SBML
            otherwise = kids[-1] if len(kids) % 2 else "math.nan"
            expr = otherwise
            for k in range(len(kids) - len(kids) % 2 - 2, -1, -2):
                expr = f"({kids[k]} if {kids[k + 1]} else {expr})"
            return expr
        if t == libsbml.AST_INTEGER:
            return repr(float(node.getInteger()))
        if t in (libsbml.AST_REAL, libsbml.AST_REAL_E, libsbml.AST_RATIONAL):
            v = node.getValue()
            return repr(v) if math.isfinite(v) else f"float('{v}')"
        if t == libsbml.AST_NAME_TIME:
            return "t"
        if t == libsbml.AST_NAME:
            name = node.getName()
            if name not in self.names:
                raise SecretomeError(f"{where}: unknown symbol {name!r}")
            return self.names[name]
        if t == libsbml.AST_FUNCTION:
            name = node.getName()
            if name not in self.functions:
                raise SecretomeError(f"{where}: unknown function {name!r}")
            return f"f_{name}(" + ", ".join(kids) + ")"
        raise SecretomeError(
            f"{where}: SBML construct {libsbml.formulaToL3String(node)!r} "
            "is not supported by the reference implementation"
        )


def _symbols(node: libsbml.ASTNode) -> set[str]:
    out = {node.getName()} if node.getType() == libsbml.AST_NAME else set()
    for i in range(node.getNumChildren()):
        out |= _symbols(node.getChild(i))
    return out


def _ordered(exprs: Mapping[str, libsbml.ASTNode], available: set[str], what: str) -> list[str]:
    """Targets of ``exprs`` in an order where each comes after what it reads."""
    order: list[str] = []
    done = set(available)
    pending = dict(exprs)
    while pending:
        ready = [k for k, e in pending.items() if (_symbols(e) & set(exprs)) <= done]
        if not ready:
            raise SecretomeError(f"{what}: cyclic dependency among {', '.join(sorted(pending))}")
        for k in ready:
            order.append(k)
            done.add(k)
            del pending[k]
    return order


def _check_supported(m: libsbml.Model) -> None:
    problems = []
    if m.getNumEvents():
        problems.append("events")
    if m.getNumConstraints():
        problems.append("constraints")
    for r in m.getListOfRules():
        if not r.isAssignment():
            problems.append(f"non-assignment rule for {r.getVariable()}")
    for c in m.getListOfCompartments():
        if not c.getConstant():
            problems.append(f"non-constant compartment {c.getId()}")
    for s in m.getListOfSpecies():
        if s.getHasOnlySubstanceUnits() or s.getBoundaryCondition() or s.getConstant():
            problems.append(f"species {s.getId()} is not a plain concentration")
    for r in m.getListOfReactions():
        if r.getKineticLaw().getNumParameters():
            problems.append(f"reaction {r.getId()} has local parameters")
    if problems:
        raise SecretomeError(
            "the reference implementation does not support: " + "; ".join(problems)
        )


@cache
def compile_reference(sbml: str, observed: tuple[str, ...]) -> ReferenceModel:
    """Generate and compile the reference functions for an SBML text (cached).

    Parameters
    ----------
    sbml : str
        SBML of the composed model (``ModelSpec.sbml``).
    observed : tuple of str
        Assignment-rule variables that ``observe`` returns.
    """
    doc = libsbml.readSBMLFromString(sbml)
    m = doc.getModel()
    _check_supported(m)
    species = tuple(s.getId() for s in m.getListOfSpecies())
    rules = {r.getVariable(): r.getMath() for r in m.getListOfRules()}
    params = tuple(p.getId() for p in m.getListOfParameters() if p.getId() not in rules)
    missing = [v for v in observed if v not in rules]
    if missing:
        raise SecretomeError(f"not assignment-rule variables: {', '.join(missing)}")

    names: dict[str, str] = {}
    names.update({s: f"s_{s}" for s in species})
    names.update({p: f"p_{p}" for p in params})
    names.update({r: f"r_{r}" for r in rules})
    names.update({c.getId(): repr(float(c.getSize())) for c in m.getListOfCompartments()})
    functions = {f.getId() for f in m.getListOfFunctionDefinitions()}
    tr = _Translator(names, functions)

    lines = [_PREAMBLE]
    for f in m.getListOfFunctionDefinitions():
        lam = f.getMath()
        args = [lam.getChild(i).getName() for i in range(lam.getNumBvars())]
        local = _Translator({**names, **{a: f"a_{a}" for a in args}}, functions)
        body = local(lam.getChild(lam.getNumChildren() - 1), f"function {f.getId()}")
        lines.append(f"def f_{f.getId()}({', '.join(f'a_{a}' for a in args)}):")
        lines.append(f"    return {body}")

    unpack_p = f"    ({', '.join(names[p] for p in params)},) = p"
    unpack_y = f"    ({', '.join(names[s] for s in species)},) = y.tolist()"
    rule_order = _ordered(rules, set(species) | set(params), "assignment rules")
    rule_lines = [f"    {names[v]} = {tr(rules[v], f'rule {v}')}" for v in rule_order]

    # d[S]/dt: every reaction's rate (amount per time) times stoichiometry, over volume
    terms: dict[str, list[str]] = {s: [] for s in species}
    rate_lines = []
    for k, r in enumerate(m.getListOfReactions()):
        rate_lines.append(f"    v{k} = {tr(r.getKineticLaw().getMath(), f'reaction {r.getId()}')}")
        for sr, sign in [(x, -1.0) for x in r.getListOfReactants()] + [
            (x, 1.0) for x in r.getListOfProducts()
        ]:
            terms[sr.getSpecies()].append(f"{sign * sr.getStoichiometry()!r} * v{k}")
    size = {c.getId(): float(c.getSize()) for c in m.getListOfCompartments()}
    derivs = []
    for s in m.getListOfSpecies():
        total = " + ".join(terms[s.getId()]) or "0.0"
        derivs.append(f"({total}) / {size[s.getCompartment()]!r}")
    lines += ["def rhs(t, y, p):", unpack_p, unpack_y, *rule_lines, *rate_lines]
    lines.append("    return [" + ", ".join(derivs) + "]")

    lines += ["def observe(t, y, p):", unpack_p, unpack_y, *rule_lines]
    lines.append("    return [" + ", ".join(names[v] for v in observed) + "]")

    # initial state: initial assignments (and the rules they read) for the values p
    inits = {a.getSymbol(): a.getMath() for a in m.getListOfInitialAssignments()}
    fixed = {s.getId() for s in m.getListOfSpecies() if s.getId() not in inits}
    init_order = _ordered({**rules, **inits}, fixed | set(params), "initial assignments")
    lines += ["def initial(p):", unpack_p, "    t = 0.0"]
    for s in m.getListOfSpecies():
        if s.getId() in fixed:
            lines.append(f"    {names[s.getId()]} = {float(s.getInitialConcentration())!r}")
    for v in init_order:
        expr = inits.get(v, rules.get(v))
        lines.append(f"    {names[v]} = {tr(expr, f'initial value of {v}')}")
    lines.append("    return [" + ", ".join(names[s] for s in species) + "]")

    source = "\n".join(lines) + "\n"
    namespace: dict = {}
    exec(compile(source, "<secretome.reference>", "exec"), namespace)  # generated above
    defaults = np.array([m.getParameter(p).getValue() for p in params], dtype=float)
    return ReferenceModel(
        species,
        params,
        defaults,
        tuple(observed),
        namespace["rhs"],
        namespace["initial"],
        namespace["observe"],
        source,
    )


def reference_model(spec: model.ModelSpec | None = None) -> ReferenceModel:
    """The reference functions for a model (default: the shipped one), observing its
    observables."""
    spec = spec or model.load_model()
    return compile_reference(spec.sbml, tuple(o.variable for o in spec.observables))


def integrate_arm(
    ref: ReferenceModel, values: Mapping[str, float], times: np.ndarray
) -> np.ndarray:
    """Observables of one arm at ``times`` (> 0): a (times × observables) array."""
    from scipy.integrate import solve_ivp

    p = ref.parameter_vector(values)
    y0 = np.asarray(ref.initial(p), dtype=float)
    times = np.asarray(times, dtype=float)
    sol = solve_ivp(
        ref.rhs,
        (0.0, float(times.max())),
        y0,
        method=METHOD,
        t_eval=times,
        rtol=RTOL,
        atol=ATOL,
        args=(p,),
    )
    if not sol.success:
        raise SimulationFailed(f"reference integration failed: {sol.message}")
    out = np.array([ref.observe(t, y, p) for t, y in zip(sol.t, sol.y.T, strict=True)])
    if not np.isfinite(out).all():
        raise SimulationFailed("reference integration gave non-finite values")
    return out


def reference_simulate(
    scenario: Scenario, params: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """The observables table of :func:`secretome.simulate.simulate`, from the reference.

    Parameters
    ----------
    scenario : Scenario
        Must have no medium changes.
    params : mapping, optional
        As for :func:`~secretome.simulate.simulate` (``name`` or ``name[context]`` keys).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`secretome.simulate.OBSERVABLE_COLUMNS`, rows in the same order.
    """
    if scenario.medium_changes_h:
        raise SecretomeError(
            f"scenario {scenario.name} has medium changes; the reference implementation "
            "does not model them"
        )
    spec = model.load_model()
    ref = reference_model(spec)
    params = resolve_context(spec, params or {}, scenario.cell_line, scenario.msc_source)
    base = model.parameter_values(spec, scenario.cell_line, scenario.msc_source, params)
    times = np.asarray(scenario.sampling_h, dtype=float)
    control = integrate_arm(ref, {**base, **model_inputs(scenario, None, arm="control")}, times)
    obs = spec.observables
    frames = []
    for dose in scenario.doses:
        treated = integrate_arm(ref, {**base, **model_inputs(scenario, dose)}, times)
        for j, o in enumerate(obs):
            frames.append(
                pd.DataFrame(
                    {
                        "scenario": scenario.name,
                        "observable": o.name,
                        "assay": o.assay,
                        "hgnc": o.hgnc,
                        "time_h": times,
                        "dose": float(dose),
                        "treated": treated[:, j],
                        "control": control[:, j],
                        "value": observation_value(o.assay, treated[:, j], control[:, j]),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)[list(OBSERVABLE_COLUMNS)]


__all__ = [
    "ATOL",
    "METHOD",
    "RTOL",
    "ReferenceModel",
    "compile_reference",
    "integrate_arm",
    "reference_model",
    "reference_simulate",
]
