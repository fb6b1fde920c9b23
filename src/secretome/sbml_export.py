"""The model as SBML a curator accepts: units, names, SBO terms, annotations, notes.

:func:`annotated_sbml` turns the plain SBML that Antimony generates (what the
simulators use, ``ModelSpec.sbml``) into the SBML that leaves the package
(``secretome model --sbml``, the PEtab and COMBINE exports). The mathematics is
unchanged; what is added comes from tables under ``models/``:

* **units** (``units.csv``): time in hours; every concentration is a
  *dimensionless* multiple of its control level (each species is in units of its
  level in the untreated control, DESIGN.md §2), so substance, volume and extent
  are dimensionless and compartments have size 1. Each parameter of
  ``parameters.csv`` gets the SBML unit its ``unit`` column maps to in
  ``units.csv``; every literal number is dimensionless; every derived quantity
  (assignment rule) gets the unit libSBML derives from its formula. libSBML's
  unit-consistency check then reports nothing (``tests/test_sbml_export.py``).
* **names, SBO terms and MIRIAM annotations** (``annotations.csv``): one row per
  compartment, species and function, and per reaction or parameter either by id
  or by a pattern (``re:<regex>``; the first match wins, rows by id first).
  Identifiers are compact identifiers (``uniprot:P40763``,
  ``hgnc.symbol:STAT3``) written as ``https://identifiers.org/`` URIs under the
  BioModels qualifier of their column (``is``, ``is_version_of``,
  ``has_version``, ``has_part``, ``is_encoded_by``, ``has_taxon``).
  Table parameters are named by their ``description``; observables by
  ``observables.csv`` (with their HGNC symbols as ``bqbiol:isPropertyOf``). A row
  that names no element of the model (or a pattern that matches none) is an
  error: a removed element's row cannot linger.
* **notes**: provenance (package version, a digest of the model files, the
  sources), the unit convention, the values of every cell-line and MSC-source
  parameter in every context (the SBML's own values are those of the default
  context), the context facts (TP53 and CDKN2A status, receptor chains,
  cross-species activities) with their sources, and ``model_notes.md``.

This module sits below :mod:`secretome.model` (it takes the model's parts, not the
model), so :func:`secretome.model.write_sbml` can write the annotated SBML.
"""

from __future__ import annotations

import hashlib
import html
import importlib.metadata
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import libsbml
import pandas as pd

from secretome.errors import Problem, SecretomeError, ValidationError

ANNOTATION_FILE = "annotations.csv"
UNIT_FILE = "units.csv"
NOTES_FILE = "model_notes.md"
#: Columns of ``annotations.csv``; the qualifier columns hold space-separated
#: compact identifiers.
ANNOTATION_COLUMNS = (
    "element",
    "id",
    "name",
    "sbo",
    "is",
    "is_version_of",
    "has_version",
    "has_part",
    "is_encoded_by",
    "has_taxon",
    "note",
)
#: BioModels biology qualifier of each identifier column.
QUALIFIERS: dict[str, int] = {
    "is": libsbml.BQB_IS,
    "is_version_of": libsbml.BQB_IS_VERSION_OF,
    "has_version": libsbml.BQB_HAS_VERSION,
    "has_part": libsbml.BQB_HAS_PART,
    "is_encoded_by": libsbml.BQB_IS_ENCODED_BY,
    "has_taxon": libsbml.BQB_HAS_TAXON,
}
ELEMENTS = ("model", "compartment", "species", "reaction", "parameter", "function")
UNIT_COLUMNS = ("unit", "sbml_unit", "definition", "meaning")
#: Resolver of compact identifiers (``prefix:accession``).
IDENTIFIERS_ORG = "https://identifiers.org/"
TIME_UNIT = "hour"
#: Substance, volume and extent: every level is a multiple of its control level.
LEVEL_UNIT = "dimensionless"
#: Prefix of a pattern in the ``id`` column of ``annotations.csv``.
PATTERN_PREFIX = "re:"
#: SBO term of an observable's variable (quantitative systems description parameter).
OBSERVABLE_SBO = 2
#: How :func:`secretome.model.context_facts` begins the source of a fact's parameter row.
FACT_SOURCES = ("cell_lines.csv:", "species_activity.csv:")

_CURIE = re.compile(r"[a-z][a-z0-9._]*:\S+")
_SBO = re.compile(r"SBO:(\d{7})")


@dataclass(frozen=True)
class Annotation:
    """One row of ``annotations.csv``: how to describe a model element (or a pattern of them).

    Attributes
    ----------
    element : str
        One of :data:`ELEMENTS`.
    key : str
        The element's id, or the pattern's text (``re:...``).
    pattern : re.Pattern or None
        The compiled pattern, ``None`` for a row about one id.
    name : str
        The element's name; a template for patterns (``{1}``: the pattern's first
        group, ``{reactants}``, ``{products}``: the reaction's species names).
    sbo : int or None
    terms : tuple of (str, str)
        (qualifier column, compact identifier) pairs.
    note : str
    """

    element: str
    key: str
    pattern: re.Pattern | None
    name: str
    sbo: int | None
    terms: tuple[tuple[str, str], ...]
    note: str


@dataclass(frozen=True)
class UnitSpec:
    """An SBML unit definition that a ``unit`` of ``parameters.csv`` maps to.

    Attributes
    ----------
    sbml_unit : str
        The unit definition's id (``"dimensionless"`` is SBML's own).
    parts : tuple of (str, float, float)
        (base unit kind, exponent, multiplier) of each factor.
    meaning : str
    """

    sbml_unit: str
    parts: tuple[tuple[str, float, float], ...]
    meaning: str


# ---------------------------------------------------------------------------
# Tables


def _read(path: Path, columns: Sequence[str]) -> tuple[pd.DataFrame, list[Problem]]:
    if not path.is_file():
        raise SecretomeError(f"{path}: no such file")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise ValidationError(
            [Problem(str(path), c, "required column missing") for c in missing], str(path)
        )
    return raw[list(columns)].map(str.strip), []


def load_annotations(models_dir: str | Path) -> tuple[Annotation, ...]:
    """Read and validate ``annotations.csv``; every problem is reported at once.

    Parameters
    ----------
    models_dir : path-like
        The model directory.

    Returns
    -------
    tuple of Annotation
        In file order.

    Raises
    ------
    ValidationError
        Naming the row and field of each problem (unknown element, malformed SBO
        term or identifier, a pattern that does not compile, a repeated id).
    """
    path = Path(models_dir) / ANNOTATION_FILE
    table, problems = _read(path, ANNOTATION_COLUMNS)
    out, seen = [], set()
    for i, row in table.iterrows():
        where = f"{ANNOTATION_FILE}, row {int(i) + 2} ({row['element']} {row['id']})"
        if row["element"] not in ELEMENTS:
            problems.append(Problem(where, "element", f"not one of {', '.join(ELEMENTS)}"))
        pattern = None
        if row["id"].startswith(PATTERN_PREFIX):
            try:
                pattern = re.compile(row["id"][len(PATTERN_PREFIX) :])
            except re.error as exc:
                problems.append(Problem(where, "id", f"pattern does not compile ({exc})"))
        elif not re.fullmatch(r"[A-Za-z_]\w*", row["id"]):
            problems.append(Problem(where, "id", "not an SBML id nor a re: pattern"))
        elif (row["element"], row["id"]) in seen:
            problems.append(Problem(where, "id", "repeated"))
        seen.add((row["element"], row["id"]))
        sbo = None
        if row["sbo"]:
            match = _SBO.fullmatch(row["sbo"])
            if match is None:
                problems.append(Problem(where, "sbo", f"{row['sbo']!r} is not SBO:nnnnnnn"))
            else:
                sbo = int(match.group(1))
        terms = []
        for column in QUALIFIERS:
            for curie in row[column].split():
                if not _CURIE.fullmatch(curie):
                    problems.append(
                        Problem(where, column, f"{curie!r} is not a compact identifier")
                    )
                terms.append((column, curie))
        out.append(
            Annotation(
                row["element"], row["id"], pattern, row["name"], sbo, tuple(terms), row["note"]
            )
        )
    if problems:
        raise ValidationError(problems, str(path))
    return tuple(out)


def load_units(models_dir: str | Path) -> dict[str, UnitSpec]:
    """Read and validate ``units.csv``: ``parameters.csv`` unit text -> SBML unit.

    Parameters
    ----------
    models_dir : path-like

    Returns
    -------
    dict
        Unit text (as written in ``parameters.csv``) -> :class:`UnitSpec`.

    Raises
    ------
    ValidationError
        Unknown base unit kinds, malformed factors, or one SBML unit id defined
        two ways.
    """
    path = Path(models_dir) / UNIT_FILE
    table, problems = _read(path, UNIT_COLUMNS)
    out: dict[str, UnitSpec] = {}
    defined: dict[str, tuple] = {}
    for i, row in table.iterrows():
        where = f"{UNIT_FILE}, row {int(i) + 2} ({row['unit']})"
        parts = []
        for factor in row["definition"].split():
            kind, _, rest = factor.partition(":")
            exponent, _, multiplier = rest.partition(":")
            try:
                part = (kind, float(exponent), float(multiplier or 1.0))
            except ValueError:
                problems.append(Problem(where, "definition", f"{factor!r} is not kind:exp:mult"))
                continue
            if libsbml.UnitKind_forName(kind) == libsbml.UNIT_KIND_INVALID:
                problems.append(Problem(where, "definition", f"unknown SBML unit kind {kind!r}"))
            parts.append(part)
        sid = row["sbml_unit"]
        if sid == LEVEL_UNIT and parts:
            problems.append(Problem(where, "definition", "dimensionless takes no definition"))
        if sid != LEVEL_UNIT and not parts:
            problems.append(Problem(where, "definition", "empty"))
        if defined.setdefault(sid, tuple(parts)) != tuple(parts):
            problems.append(Problem(where, "definition", f"{sid} is defined differently above"))
        if row["unit"] in out:
            problems.append(Problem(where, "unit", "repeated"))
        out[row["unit"]] = UnitSpec(sid, tuple(parts), row["meaning"])
    if problems:
        raise ValidationError(problems, str(path))
    return out


# ---------------------------------------------------------------------------
# Units


def _dimensionless() -> libsbml.UnitDefinition:
    ud = libsbml.UnitDefinition(3, 2)
    u = ud.createUnit()
    u.setKind(libsbml.UNIT_KIND_DIMENSIONLESS)
    u.setExponent(1)
    u.setScale(0)
    u.setMultiplier(1)
    return ud


def _maths(m: libsbml.Model) -> Iterable[libsbml.ASTNode]:
    for r in m.getListOfRules():
        yield r.getMath()
    for a in m.getListOfInitialAssignments():
        yield a.getMath()
    for r in m.getListOfReactions():
        yield r.getKineticLaw().getMath()
    for f in m.getListOfFunctionDefinitions():
        yield f.getMath()


def _numbers_dimensionless(node: libsbml.ASTNode | None) -> None:
    if node is None:
        return
    if node.isNumber() and not node.hasUnits():
        node.setUnits(LEVEL_UNIT)
    for i in range(node.getNumChildren()):
        _numbers_dimensionless(node.getChild(i))


def _add_unit_definitions(m: libsbml.Model, units: Mapping[str, UnitSpec]) -> None:
    for spec in {u.sbml_unit: u for u in units.values()}.values():
        if spec.sbml_unit == LEVEL_UNIT or m.getUnitDefinition(spec.sbml_unit) is not None:
            continue
        ud = m.createUnitDefinition()
        ud.setId(spec.sbml_unit)
        ud.setName(spec.meaning)
        for kind, exponent, multiplier in spec.parts:
            u = ud.createUnit()
            u.setKind(libsbml.UnitKind_forName(kind))
            u.setExponent(exponent)
            u.setScale(0)
            u.setMultiplier(multiplier)
    if m.getUnitDefinition(TIME_UNIT) is None:
        raise SecretomeError(f"{UNIT_FILE} defines no '{TIME_UNIT}' (the model's time unit)")


def _derived_units(m: libsbml.Model) -> list[str]:
    """Give every rule- or initial-assignment-defined parameter the unit of its formula.

    Returns the parameters whose unit could not be derived."""
    defs = {
        m.getParameter(t).getId(): e
        for t, e in [(r.getVariable(), r) for r in m.getListOfRules()]
        + [(a.getSymbol(), a) for a in m.getListOfInitialAssignments()]
        if m.getParameter(t) is not None and not m.getParameter(t).isSetUnits()
    }
    known = [(LEVEL_UNIT, _dimensionless())] + [
        (ud.getId(), ud) for ud in m.getListOfUnitDefinitions()
    ]
    while defs:
        m.populateListFormulaUnitsData()  # libSBML caches formula units: refresh per round
        ready = {p: e for p, e in defs.items() if not e.containsUndeclaredUnits()}
        if not ready:
            break
        for pid, element in ready.items():
            derived = element.getDerivedUnitDefinition()
            unit = next(
                (uid for uid, ud in known if libsbml.UnitDefinition.areEquivalent(derived, ud)),
                None,
            )
            if unit is None:  # a unit no table names: define it from the formula
                ud = derived.clone()
                ud.setId(f"unit_of_{pid}")
                m.addUnitDefinition(ud)
                unit = ud.getId()
                known.append((unit, m.getUnitDefinition(unit)))
            m.getParameter(pid).setUnits(unit)
            del defs[pid]
    return sorted(defs)


def _add_units(
    m: libsbml.Model, parameters: pd.DataFrame, units: Mapping[str, UnitSpec]
) -> list[Problem]:
    problems = []
    _add_unit_definitions(m, units)
    m.setTimeUnits(TIME_UNIT)
    for setter in (m.setSubstanceUnits, m.setVolumeUnits, m.setExtentUnits):
        setter(LEVEL_UNIT)
    for c in m.getListOfCompartments():
        c.setUnits(LEVEL_UNIT)
    for row in parameters.drop_duplicates("name").itertuples(index=False):
        p = m.getParameter(row.name)
        if p is None:
            continue
        if row.unit not in units:
            problems.append(
                Problem(
                    f"parameters.csv ({row.name})",
                    "unit",
                    f"{row.unit!r} is not a unit of {UNIT_FILE}; add a row there",
                )
            )
            continue
        p.setUnits(units[row.unit].sbml_unit)
    for math in _maths(m):
        _numbers_dimensionless(math)
    for pid in _derived_units(m):
        problems.append(Problem(pid, "unit", "cannot be derived from its formula"))
    return problems


# ---------------------------------------------------------------------------
# Names, SBO terms, CV terms


def _match(
    rows: Sequence[Annotation], element: str, sid: str
) -> tuple[Annotation, re.Match | None] | None:
    for row in rows:
        if row.element == element and row.pattern is None and row.key == sid:
            return row, None
    for row in rows:
        if row.element == element and row.pattern is not None:
            match = row.pattern.search(sid)
            if match is not None:
                return row, match
    return None


def _fill(template: str, match: re.Match | None, **names: str) -> str:
    groups = {str(i): g for i, g in enumerate(match.groups(), start=1)} if match else {}
    return re.sub(
        r"\{(\w+)\}", lambda mo: groups.get(mo.group(1), names.get(mo.group(1), "")), template
    )


def _set_terms(element: libsbml.SBase, terms: Iterable[tuple[str, str]]) -> None:
    if not element.isSetMetaId():
        element.setMetaId(f"meta_{element.getId() or 'model'}")
    for qualifier, curie in terms:
        term = libsbml.CVTerm(libsbml.BIOLOGICAL_QUALIFIER)
        term.setBiologicalQualifierType(QUALIFIERS[qualifier])
        term.addResource(IDENTIFIERS_ORG + curie)
        if element.addCVTerm(term) != libsbml.LIBSBML_OPERATION_SUCCESS:
            raise SecretomeError(f"cannot annotate {element.getId()} with {curie}")


def _describe(
    element: libsbml.SBase, rows: Sequence[Annotation], kind: str, **names: str
) -> Annotation | None:
    found = _match(rows, kind, element.getId())
    if found is None:
        return None
    row, match = found
    if row.name and not element.isSetName():
        element.setName(_fill(row.name, match, **names))
    if row.sbo is not None:
        element.setSBOTerm(row.sbo)
    if row.terms:
        _set_terms(element, row.terms)
    return row


def _species_names(m: libsbml.Model, refs) -> str:
    names = []
    for ref in refs:
        s = m.getSpecies(ref.getSpecies())
        names.append(s.getName() if s.isSetName() else s.getId())
    return " and ".join(names)


def _annotate_elements(
    m: libsbml.Model,
    rows: Sequence[Annotation],
    parameters: pd.DataFrame,
    observables: Sequence[Any],
) -> list[Problem]:
    problems = []
    for kind, elements in (
        ("compartment", m.getListOfCompartments()),
        ("species", m.getListOfSpecies()),
        ("function", m.getListOfFunctionDefinitions()),
    ):
        for e in elements:
            row = _describe(e, rows, kind)
            if row is None or not e.isSetName():
                problems.append(Problem(ANNOTATION_FILE, kind, f"no row names {e.getId()}"))
    for r in m.getListOfReactions():
        row = _describe(
            r,
            rows,
            "reaction",
            reactants=_species_names(m, r.getListOfReactants()),
            products=_species_names(m, r.getListOfProducts()),
        )
        if row is None or not r.isSetName():
            problems.append(Problem(ANNOTATION_FILE, "reaction", f"no row names {r.getId()}"))
    # the description of the first context: the one whose values the SBML carries
    first = parameters.drop_duplicates("name")
    described = dict(zip(first["name"], first["description"], strict=True))
    by_variable = {o.variable: o for o in observables}
    for p in m.getListOfParameters():
        pid = p.getId()
        if pid in described:
            p.setName(described[pid])
        obs = by_variable.get(pid)
        if obs is not None:
            p.setName(f"readout {obs.name} ({obs.assay}): {obs.description}")
            p.setSBOTerm(OBSERVABLE_SBO)
            symbols = [s for s in obs.hgnc.split(";") if s]
            if symbols:
                _set_terms(p, [])
                for symbol in symbols:
                    term = libsbml.CVTerm(libsbml.BIOLOGICAL_QUALIFIER)
                    term.setBiologicalQualifierType(libsbml.BQB_IS_PROPERTY_OF)
                    term.addResource(f"{IDENTIFIERS_ORG}hgnc.symbol:{symbol}")
                    p.addCVTerm(term)
            continue
        _describe(p, rows, "parameter")
        if not p.isSetName():
            problems.append(Problem(ANNOTATION_FILE, "parameter", f"no row names {pid}"))
    problems += _stale_rows(m, rows)
    model_row = _match(rows, "model", m.getId())
    if model_row is not None:
        row = model_row[0]
        if row.name:
            m.setName(row.name)
        if row.terms:
            _set_terms(m, row.terms)
    return problems


def _stale_rows(m: libsbml.Model, rows: Sequence[Annotation]) -> list[Problem]:
    """Rows of ``annotations.csv`` that describe nothing in the model (a removed
    element's row, a pattern that matches no id): left in place they would go stale
    silently when the model changes."""
    ids = {
        "model": [m.getId()],
        "compartment": [e.getId() for e in m.getListOfCompartments()],
        "species": [e.getId() for e in m.getListOfSpecies()],
        "reaction": [e.getId() for e in m.getListOfReactions()],
        "parameter": [e.getId() for e in m.getListOfParameters()],
        "function": [e.getId() for e in m.getListOfFunctionDefinitions()],
    }
    problems = []
    for row in rows:
        known = ids.get(row.element, [])
        if row.pattern is None and row.key not in known:
            message = f"no {row.element} '{row.key}' in the model; remove the row"
        elif row.pattern is not None and not any(row.pattern.search(i) for i in known):
            message = f"the pattern matches no {row.element} of the model; remove the row"
        else:
            continue
        problems.append(Problem(f"{ANNOTATION_FILE} ({row.element} {row.key})", "id", message))
    return problems


# ---------------------------------------------------------------------------
# Notes


def _digest(models_dir: Path) -> str:
    h = hashlib.sha256()
    for f in sorted(models_dir.glob("*")):
        if f.is_file() and f.suffix in (".ant", ".csv"):
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _version() -> str:
    try:
        return importlib.metadata.version("secretome")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - source tree only
        return "unknown"


def context_table(parameters: pd.DataFrame) -> pd.DataFrame:
    """Every cell-line and MSC-source parameter's value in every context.

    Parameters
    ----------
    parameters : pandas.DataFrame
        The parameter table (:func:`secretome.model.load_parameter_table`).

    Returns
    -------
    pandas.DataFrame
        One row per scoped parameter (``name``, ``scope``, ``unit``), one column
        per context, in the table's order.
    """
    scoped = parameters[parameters["scope"].isin(["cell_line", "msc_source"])]
    wide = scoped.pivot_table(index="name", columns="context", values="value", sort=False)
    meta = scoped.drop_duplicates("name").set_index("name")[["scope", "unit"]]
    contexts = list(dict.fromkeys(scoped["context"]))
    return meta.join(wide[contexts]).reset_index()


def _facts_notes(parameters: pd.DataFrame) -> str:
    """The context facts (TP53 and CDKN2A status, receptor chains, cross-species
    activities) with the source of each value, as an XHTML list."""
    facts = parameters[parameters["source"].str.startswith(FACT_SOURCES)]
    if facts.empty:
        return ""
    esc = html.escape
    items = "".join(
        f"<li>{esc(r.name)} [{esc(r.context)}] = {r.value:.6g}: {esc(r.source)}</li>"
        for r in facts.itertuples(index=False)
    )
    return (
        "<p>Context facts (read from models/cell_lines.csv, msc_sources.csv and "
        "species_activity.csv into the parameters above), each with its source:</p>"
        f"<ul>{items}</ul>"
    )


def _notes(
    rows: Sequence[Annotation],
    parameters: pd.DataFrame,
    models_dir: Path,
    default_context: tuple[str, str],
    units: Mapping[str, UnitSpec],
) -> str:
    esc = html.escape
    model_row = next((r for r in rows if r.element == "model"), None)
    contexts = context_table(parameters)
    ctx_cols = [c for c in contexts.columns if c not in ("name", "scope", "unit")]
    head = "".join(f"<th>{esc(c)}</th>" for c in ["parameter", "scope", "unit", *ctx_cols])
    body = "".join(
        "<tr>"
        + "".join(
            f"<td>{esc(str(v))}</td>"
            if not isinstance(v, float)
            else "<td></td>"  # a parameter of the other scope: no value in this context
            if pd.isna(v)
            else f"<td>{v:.6g}</td>"
            for v in (r["name"], r["scope"], r["unit"], *(r[c] for c in ctx_cols))
        )
        + "</tr>"
        for _, r in contexts.iterrows()
    )
    extra = (
        (models_dir / NOTES_FILE).read_text(encoding="utf-8")
        if (models_dir / NOTES_FILE).is_file()
        else ""
    )
    unit_list = "; ".join(
        f"{esc(k)} = {esc(v.sbml_unit)}" for k, v in units.items() if v.sbml_unit != LEVEL_UNIT
    )
    parts = [
        '<body xmlns="http://www.w3.org/1999/xhtml">',
        f"<p>Generated by secretome {esc(_version())} from the Antimony modules and tables "
        f"of models/ (content digest {_digest(models_dir)}); edit those, not this file.</p>",
        f"<p>Provenance: {esc(model_row.note)}.</p>" if model_row and model_row.note else "",
        "<p>Units: time is in hours. Every concentration is dimensionless: a multiple of the "
        "species' level in the untreated control (cytokines: of the control medium; cell "
        "numbers: of the tumour cells seeded; receptors: of a reference receptor level "
        "scaled by the cell line's chain levels; active forms: of the total, through the "
        "control active fractions fa_X). Substance, volume and extent are therefore "
        "dimensionless and compartments have size 1. "
        f"Other units: {unit_list}.</p>",
        f"<p>Contexts: the parameter values in this file are those of cell line "
        f"{esc(default_context[0])} and MSC source {esc(default_context[1])}. For another "
        "context set the parameters below to its column (the COMBINE archive of "
        "`secretome export-omex` does this per scenario). Scenario inputs: msc_density = "
        "MSCs per mL of medium / 1e5 (transwell), cm_fraction = fraction of conditioned "
        "medium (both 0 in the control arm), capacity = cells the well holds / cells "
        "seeded (each scenario's from its well and seeding).</p>",
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>",
        _facts_notes(parameters),
        f"<pre>{esc(extra)}</pre>" if extra else "",
        "</body>",
    ]
    return "".join(parts)


# ---------------------------------------------------------------------------
# Entry points


def annotate(
    sbml: str,
    *,
    parameters: pd.DataFrame,
    observables: Sequence[Any],
    models_dir: str | Path,
    default_context: tuple[str, str],
) -> str:
    """Add units, names, SBO terms, annotations and notes to the model's SBML.

    Parameters
    ----------
    sbml : str
        The plain SBML (``ModelSpec.sbml``); its mathematics is not changed.
    parameters : pandas.DataFrame
        The parameter table (names, units, descriptions, per-context values).
    observables : sequence
        The observables (``name``, ``assay``, ``hgnc``, ``variable``,
        ``description`` of each).
    models_dir : path-like
        Where ``annotations.csv``, ``units.csv`` and ``model_notes.md`` are.
    default_context : (str, str)
        The cell line and MSC source whose values the SBML carries.

    Returns
    -------
    str
        The annotated SBML.

    Raises
    ------
    ValidationError
        A table is malformed, a parameter's unit is not in ``units.csv``, a
        derived unit cannot be worked out, an element has no name, or a row of
        ``annotations.csv`` names no element of the model (every problem at once).
    """
    models_dir = Path(models_dir)
    rows = load_annotations(models_dir)
    units = load_units(models_dir)
    doc = libsbml.readSBMLFromString(sbml)
    m = doc.getModel()
    problems = _add_units(m, parameters, units)
    problems += _annotate_elements(m, rows, parameters, observables)
    for r in m.getListOfReactions():
        # Antimony writes '->' as reversible; every rate law here is a product of
        # non-negative levels and positive constants, so no flux runs backwards
        r.setReversible(False)
    if problems:
        raise ValidationError(problems, "annotated SBML")
    if m.setNotes(_notes(rows, parameters, models_dir, default_context, units)) != 0:
        raise SecretomeError("the model notes are not valid XHTML")
    return libsbml.writeSBMLToString(doc)


def annotated_sbml(spec: Any) -> str:
    """:func:`annotate` applied to a model (a :class:`secretome.model.ModelSpec`).

    Parameters
    ----------
    spec : ModelSpec
        The composed model; its SBML carries the first cell line and MSC source.

    Returns
    -------
    str
    """
    return annotate(
        spec.sbml,
        parameters=spec.parameters,
        observables=spec.observables,
        models_dir=spec.models_dir,
        default_context=(spec.cell_lines[0], spec.msc_sources[0]),
    )


def complete_units(sbml: str) -> str:
    """Give the rule-defined parameters and numbers added after :func:`annotate` their units.

    The PEtab export adds control-level parameters to the annotated SBML; this
    keeps its unit check clean.

    Parameters
    ----------
    sbml : str

    Returns
    -------
    str
    """
    doc = libsbml.readSBMLFromString(sbml)
    m = doc.getModel()
    for math in _maths(m):
        _numbers_dimensionless(math)
    missing = _derived_units(m)
    if missing:
        raise SecretomeError(f"cannot derive the units of {', '.join(missing)}")
    return libsbml.writeSBMLToString(doc)


@dataclass(frozen=True)
class SbmlCheck:
    """What libSBML's consistency checks (units included) report about an SBML text.

    Attributes
    ----------
    errors : tuple of str
        Messages of severity error or fatal.
    warnings : dict
        Category -> number of warnings (e.g. ``"SBML unit consistency"``).
    messages : tuple of str
        Every message, ``"<severity> <id> (<category>): <text>"``.
    """

    errors: tuple[str, ...]
    warnings: dict[str, int]
    messages: tuple[str, ...]

    @property
    def unit_warnings(self) -> int:
        return self.warnings.get("SBML unit consistency", 0)


def check(sbml: str) -> SbmlCheck:
    """Run every libSBML consistency check, the unit checks included.

    Parameters
    ----------
    sbml : str

    Returns
    -------
    SbmlCheck
    """
    doc = libsbml.readSBMLFromString(sbml)
    doc.setConsistencyChecks(libsbml.LIBSBML_CAT_UNITS_CONSISTENCY, True)
    doc.checkConsistency()
    errors, messages, warnings = [], [], {}
    for i in range(doc.getNumErrors()):
        err = doc.getError(i)
        text = " ".join(err.getMessage().split())
        messages.append(
            f"{err.getSeverityAsString()} {err.getErrorId()} ({err.getCategoryAsString()}): {text}"
        )
        if err.getSeverity() >= libsbml.LIBSBML_SEV_ERROR:
            errors.append(f"line {err.getLine()}: {text}")
        elif err.getSeverity() == libsbml.LIBSBML_SEV_WARNING:
            cat = err.getCategoryAsString()
            warnings[cat] = warnings.get(cat, 0) + 1
    return SbmlCheck(tuple(errors), warnings, tuple(messages))


__all__ = [
    "ANNOTATION_FILE",
    "UNIT_FILE",
    "Annotation",
    "SbmlCheck",
    "UnitSpec",
    "annotate",
    "annotated_sbml",
    "check",
    "complete_units",
    "context_table",
    "load_annotations",
    "load_units",
]
