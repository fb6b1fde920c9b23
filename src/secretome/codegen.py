"""Turn the composed model's SBML into source code for its right-hand side.

Two modules generate code from the SBML that :func:`secretome.model.load_model`
builds: :mod:`secretome.reference` (plain Python, integrated by SciPy, the
accuracy and speed reference) and :mod:`secretome.compiled` (Numba, integrated by
:mod:`secretome.bdf`, the fast simulation backend). Both take their functions from
:func:`generate`:

* ``rhs(t, y, p)``: assignment rules in dependency order, then every reaction's
  kinetic law, then d[S]/dt = Σ stoichiometry × rate / compartment size;
* ``initial(p)``: species' initial concentrations, with the initial assignments
  (and the assignment rules they read) evaluated for the parameter values ``p``,
  as libRoadRunner's ``reset()`` does;
* ``observe(t, y, p)``: the values of the requested assignment-rule variables.

Only the constructs the model uses are translated (arithmetic, powers, ``ln``,
``exp``, ``piecewise``, ``>``, ``<``, function definitions, constant
compartments, assignment rules, initial assignments); anything else is refused by
name, so a model change the generator cannot follow fails loudly instead of
giving a wrong simulation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import libsbml

from secretome.errors import SecretomeError

#: Code flavours :func:`generate` writes.
FLAVOURS = ("python", "numba")


@dataclass(frozen=True)
class GeneratedModel:
    """Generated source and what its vectors mean.

    Attributes
    ----------
    source : str
        Module source defining ``rhs``, ``initial`` and ``observe``.
    species : tuple of str
        State variables, in the order of ``y``.
    parameters : tuple of str
        Constant global parameters, in the order of ``p``.
    defaults : tuple of float
        The SBML's values of ``parameters``.
    observed : tuple of str
        Assignment-rule variables that ``observe`` returns, in that order.
    pattern : tuple of tuple of int
        Structural sparsity of the Jacobian: for each species (column), the
        species whose derivative can depend on it, directly or through
        assignment rules.
    """

    source: str
    species: tuple[str, ...]
    parameters: tuple[str, ...]
    defaults: tuple[float, ...]
    observed: tuple[str, ...]
    pattern: tuple[tuple[int, ...], ...]


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
            "is not supported by the code generator"
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
        raise SecretomeError("the code generator does not support: " + "; ".join(problems))


def generate(sbml: str, observed: tuple[str, ...] | None, flavour: str) -> GeneratedModel:
    """Generate the model's functions from an SBML text.

    Parameters
    ----------
    sbml : str
        SBML of the composed model (``ModelSpec.sbml``).
    observed : tuple of str or None
        Assignment-rule variables that ``observe`` returns (``None``: every one,
        in the SBML's order).
    flavour : {"python", "numba"}
        ``"python"``: ``y`` is a NumPy array, ``p`` a tuple, results are lists.
        ``"numba"``: ``y`` and ``p`` are arrays, results are arrays, and every
        function is compiled with ``numba.njit(cache=True)``.
    """
    if flavour not in FLAVOURS:
        raise ValueError(f"flavour must be one of {FLAVOURS}, not {flavour!r}")
    doc = libsbml.readSBMLFromString(sbml)
    m = doc.getModel()
    _check_supported(m)
    species = tuple(s.getId() for s in m.getListOfSpecies())
    rules = {r.getVariable(): r.getMath() for r in m.getListOfRules()}
    params = tuple(p.getId() for p in m.getListOfParameters() if p.getId() not in rules)
    observed = tuple(rules) if observed is None else tuple(observed)
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
    numba = flavour == "numba"
    deco = ['@njit(cache=True, error_model="numpy")'] if numba else []

    def returns(items: list[str]) -> str:
        body = ", ".join(items)
        return f"    return np.array([{body}])" if numba else f"    return [{body}]"

    lines = ["import math"]
    if numba:
        lines += ["import numpy as np", "from numba import njit"]
    for f in m.getListOfFunctionDefinitions():
        lam = f.getMath()
        args = [lam.getChild(i).getName() for i in range(lam.getNumBvars())]
        local = _Translator({**names, **{a: f"a_{a}" for a in args}}, functions)
        body = local(lam.getChild(lam.getNumChildren() - 1), f"function {f.getId()}")
        lines += deco
        lines.append(f"def f_{f.getId()}({', '.join(f'a_{a}' for a in args)}):")
        lines.append(f"    return {body}")

    if numba:  # Numba cannot unpack arrays into tuples
        unpack_p = "\n".join(f"    {names[p]} = p[{i}]" for i, p in enumerate(params))
        unpack_y = "\n".join(f"    {names[s]} = y[{i}]" for i, s in enumerate(species))
    else:  # tuple unpacking is the fastest way in plain Python
        unpack_p = f"    ({', '.join(names[p] for p in params)},) = p"
        unpack_y = f"    ({', '.join(names[s] for s in species)},) = y.tolist()"
    rule_order = _ordered(rules, set(species) | set(params), "assignment rules")
    rule_lines = [f"    {names[v]} = {tr(rules[v], f'rule {v}')}" for v in rule_order]

    # d[S]/dt: every reaction's rate (amount per time) times stoichiometry, over volume
    terms: dict[str, list[str]] = {s: [] for s in species}
    reads: dict[str, set[str]] = {s: set() for s in species}  # species each derivative reads
    rule_reads = _rule_species(rules, rule_order, set(species))
    rate_lines = []
    for k, r in enumerate(m.getListOfReactions()):
        law = r.getKineticLaw().getMath()
        rate_lines.append(f"    v{k} = {tr(law, f'reaction {r.getId()}')}")
        used = _symbols(law)
        depends = (used & set(species)).union(*(rule_reads[v] for v in used if v in rules))
        for sr, sign in [(x, -1.0) for x in r.getListOfReactants()] + [
            (x, 1.0) for x in r.getListOfProducts()
        ]:
            terms[sr.getSpecies()].append(f"{sign * sr.getStoichiometry()!r} * v{k}")
            reads[sr.getSpecies()] |= depends
    size = {c.getId(): float(c.getSize()) for c in m.getListOfCompartments()}
    derivs = []
    for s in m.getListOfSpecies():
        total = " + ".join(terms[s.getId()]) or "0.0"
        derivs.append(f"({total}) / {size[s.getCompartment()]!r}")
    # the right-hand side evaluates only the rules its reactions read (directly or
    # through other rules), not those behind observables alone
    needed: set[str] = set()
    pending = set().union(*(_symbols(r.getKineticLaw().getMath()) for r in m.getListOfReactions()))
    while pending:
        v = pending.pop()
        if v in rules and v not in needed:
            needed.add(v)
            pending |= _symbols(rules[v])
    rhs_rules = [line for v, line in zip(rule_order, rule_lines, strict=True) if v in needed]
    lines += [*deco, "def rhs(t, y, p):", unpack_p, unpack_y, *rhs_rules, *rate_lines]
    lines.append(returns(derivs))

    lines += [*deco, "def observe(t, y, p):", unpack_p, unpack_y, *rule_lines]
    lines.append(returns([names[v] for v in observed]))

    # initial state: initial assignments (and the rules they read) for the values p
    inits = {a.getSymbol(): a.getMath() for a in m.getListOfInitialAssignments()}
    fixed = {s.getId() for s in m.getListOfSpecies() if s.getId() not in inits}
    init_order = _ordered({**rules, **inits}, fixed | set(params), "initial assignments")
    lines += [*deco, "def initial(p):", unpack_p, "    t = 0.0"]
    for s in m.getListOfSpecies():
        if s.getId() in fixed:
            lines.append(f"    {names[s.getId()]} = {float(s.getInitialConcentration())!r}")
    for v in init_order:
        expr = inits.get(v, rules.get(v))
        lines.append(f"    {names[v]} = {tr(expr, f'initial value of {v}')}")
    lines.append(returns([names[s] for s in species]))

    pattern = tuple(tuple(i for i, s in enumerate(species) if col in reads[s]) for col in species)
    return GeneratedModel(
        source="\n".join(lines) + "\n",
        species=species,
        parameters=params,
        defaults=tuple(float(m.getParameter(p).getValue()) for p in params),
        observed=observed,
        pattern=pattern,
    )


def _rule_species(
    rules: Mapping[str, libsbml.ASTNode], order: list[str], species: set[str]
) -> dict[str, set[str]]:
    """For each assignment rule, the species it reads directly or through other rules."""
    out: dict[str, set[str]] = {}
    for v in order:  # dependency order: every rule read is already resolved
        used = _symbols(rules[v])
        out[v] = (used & species).union(*(out[u] for u in used if u in out))
    return out


__all__ = ["FLAVOURS", "GeneratedModel", "generate"]
