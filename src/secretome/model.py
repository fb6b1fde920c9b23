"""The mechanistic ODE model: Antimony modules, parameter table, observables.

The model lives as data under ``models/`` (see ``docs/model.md``):

- one Antimony file per module (``MODULES``, composed in that order inside one
  ``model secretome ... end``) plus ``functions.ant`` with the normalised
  regulatory functions;
- ``parameters.csv``: every free parameter with scope, nominal value, bounds,
  unit, estimate flag and source;
- ``observables.csv``: each measured readout and the model symbol behind it;
- ``conserved.csv``: named sums of species that the reactions conserve.

The Antimony files never hold numbers for table parameters: :func:`load_model`
appends the nominal values (for the first cell line and MSC source of
:data:`CELL_LINES` / :data:`MSC_SOURCES`) so the SBML is self-contained, and
:func:`parameter_values` gives the values of any other context, which each
simulation backend (:mod:`secretome.compiled`, :mod:`secretome.libroadrunner`) sets
before it integrates. Time is in hours. This module composes and describes the
model; it never simulates it.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import antimony
import libsbml
import pandas as pd

from secretome.errors import Problem, SecretomeError, ValidationError
from secretome.io import atomic_write
from secretome.paths import models_dir as _default_models_dir
from secretome.sbml_export import annotated_sbml

MODULES: tuple[str, ...] = (
    "secretome",
    "receptors",
    "jak_stat",
    "pi3k_akt_mtor",
    "ras_erk",
    "p53_nfkb",
    "cell_fate",
    "observables",
)
"""Antimony modules (``models/<name>.ant``) in composition order."""

FUNCTIONS_FILE = "functions.ant"
PARAMETER_FILE = "parameters.csv"
OBSERVABLE_FILE = "observables.csv"
CONSERVED_FILE = "conserved.csv"
#: Facts the model reads as parameters (optional; :func:`context_facts`).
CELL_LINE_FILE = "cell_lines.csv"
MSC_SOURCE_FILE = "msc_sources.csv"
ACTIVITY_FILE = "species_activity.csv"
#: Receptor chains of ``cell_lines.csv`` -> the model parameter of their level.
RECEPTOR_CHAINS = {
    "gc": "rc_gc",
    "il2rb": "rc_il2rb",
    "il4ra": "rc_il4ra",
    "il13ra1": "rc_il13ra1",
}
#: TP53 and CDKN2A status words of ``cell_lines.csv`` -> switch values.
TP53_STATUS = {"wild_type": 1.0, "mutant": 0.0}
CDKN2A_STATUS = {"present": 1.0, "deleted": 0.0}
MODEL_ID = "secretome"

CELL_LINES: tuple[str, ...] = ("AGS", "A431", "MDA-MB-231", "KG1a_CD34")
MSC_SOURCES: tuple[str, ...] = ("human_adipose", "rat_bone_marrow")

#: Columns of ``parameters.csv``.
PARAMETER_COLUMNS: tuple[str, ...] = (
    "name",
    "scope",
    "context",
    "value",
    "lower",
    "upper",
    "unit",
    "estimate",
    "source",
    "description",
)
SCOPES: tuple[str, ...] = ("shared", "cell_line", "msc_source", "input")
ASSAYS: tuple[str, ...] = ("qpcr", "western", "annexin", "mtt", "elisa", "wound", "cell_cycle")
#: Assays that report a % of all cells in the treated arm (not treated / control).
PERCENT_ASSAYS: tuple[str, ...] = ("annexin", "cell_cycle")
FORMS: tuple[str, ...] = (
    "mrna",
    "rna",
    "protein",
    "phospho",
    "cleaved_pro_ratio",
    "secreted",
    "cells",
)
OBSERVABLE_COLUMNS: tuple[str, ...] = (
    "name",
    "assay",
    "hgnc",
    "form",
    "variable",
    "shares_law_with",
    "fixed_by_construction",
    "description",
)


@dataclass(frozen=True)
class Observable:
    """A measured readout and the model symbol that holds its state quantity.

    Attributes
    ----------
    name : str
        Observable id, matched by the evidence base (e.g. ``"mrna_JAK2"``).
    assay : str
        One of :data:`ASSAYS`.
    hgnc : str
        HGNC symbol(s) of the gene measured, ``";"``-separated; ``""`` for cells.
    form : str
        One of :data:`FORMS`.
    variable : str
        Assignment-rule variable in the model (e.g. ``"obs_mrna_JAK2"``).
    shares_law_with : str
        Another observable whose model law this one shares (the same regulator
        through the same form of rate law, so the two move together by
        construction); ``""`` when its law is its own. Agreement counts count a
        group of such readouts once (:func:`secretome.comparison.agreement_counts`).
    fixed_by_construction : bool
        The model cannot change this readout (e.g. a total that the reactions
        conserve): its agreement says nothing about the model and is not counted.
    description : str
        What the readout is, in words.
    """

    name: str
    assay: str
    hgnc: str
    form: str
    variable: str
    description: str
    shares_law_with: str = ""
    fixed_by_construction: bool = False

    @property
    def law(self) -> str:
        """The observable that names this one's law group (itself when not shared)."""
        return self.shares_law_with or self.name


@dataclass(frozen=True)
class ConservedTotal:
    """A named sum of species that the reaction network conserves."""

    name: str
    species: tuple[str, ...]
    description: str


@dataclass(frozen=True, eq=False)
class ModelSpec:
    """The composed model and its tables; immutable, shared between workers.

    Attributes
    ----------
    antimony : str
        Composed Antimony text, with the nominal parameter values appended.
    sbml : str
        SBML generated from ``antimony``.
    species : tuple of str
        Species ids, in SBML order.
    parameters : pandas.DataFrame
        The validated parameter table.
    observables : tuple of Observable
    conserved : tuple of ConservedTotal
    cell_lines, msc_sources : tuple of str
        Contexts known to the parameter table.
    modules : tuple of (str, str)
        ``(module name, module text)`` in composition order.
    """

    antimony: str
    sbml: str
    species: tuple[str, ...]
    parameters: pd.DataFrame
    observables: tuple[Observable, ...]
    conserved: tuple[ConservedTotal, ...]
    cell_lines: tuple[str, ...]
    msc_sources: tuple[str, ...]
    modules: tuple[tuple[str, str], ...]
    models_dir: Path


# ---------------------------------------------------------------------------
# Antimony composition


@dataclass(frozen=True)
class _Segment:
    file: Path
    first_line: int  # 1-based line of the composed text where the file starts
    n_lines: int


def _compose(directory: Path) -> tuple[str, list[_Segment]]:
    parts: list[str] = []
    segments: list[_Segment] = []
    line = 1

    def add(text: str, file: Path | None) -> None:
        nonlocal line
        if not text.endswith("\n"):
            text += "\n"
        n = text.count("\n")
        if file is not None:
            segments.append(_Segment(file, line, n))
        parts.append(text)
        line += n

    files = [directory / FUNCTIONS_FILE, *(directory / f"{m}.ant" for m in MODULES)]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise SecretomeError("model files missing: " + ", ".join(missing))
    add(files[0].read_text(encoding="utf-8"), files[0])
    add(f"\nmodel {MODEL_ID}()", None)
    for name, file in zip(MODULES, files[1:], strict=True):
        add(f"\n// ===== module {name} ({file.name}) =====", None)
        add(file.read_text(encoding="utf-8"), file)
    add("end", None)
    return "".join(parts), segments


def _locate(line: int, segments: list[_Segment]) -> str:
    for seg in segments:
        if seg.first_line <= line < seg.first_line + seg.n_lines:
            return f"{seg.file}, line {line - seg.first_line + 1}"
    return f"composed model, line {line}"


def _to_sbml(text: str, segments: list[_Segment] | None = None) -> str:
    antimony.clearPreviousLoads()
    code = antimony.loadAntimonyString(text)
    if code < 0:
        message = antimony.getLastError().strip()
        where = "Antimony"
        match = re.search(r"line (\d+)", message)
        if match and segments is not None:
            where = _locate(int(match.group(1)), segments)
            message = re.sub(r"^.*?line \d+:?\s*", "", message, count=1)
        raise SecretomeError(f"{where}: {message}")
    sbml = antimony.getSBMLString(MODEL_ID)
    if not sbml:
        raise SecretomeError(f"Antimony produced no SBML: {antimony.getLastError().strip()}")
    return sbml


def _resolve(directory: str | Path | None) -> Path:
    return Path(directory).resolve() if directory is not None else _default_models_dir().resolve()


def load_antimony(models_dir: str | Path | None = None) -> str:
    """Compose the Antimony modules into one model and check that it parses.

    Parameters
    ----------
    models_dir : path-like, optional
        Directory holding the ``.ant`` files; default :func:`secretome.paths.models_dir`.

    Returns
    -------
    str
        The composed text (functions, then ``model secretome() ... end``), without
        parameter values.

    Raises
    ------
    SecretomeError
        If a file is missing or malformed; the message names the file and line.
    """
    text, segments = _compose(_resolve(models_dir))
    _to_sbml(text, segments)
    return text


def _sbml_model(sbml: str) -> tuple[libsbml.SBMLDocument, libsbml.Model]:
    doc = libsbml.readSBMLFromString(sbml)
    return doc, doc.getModel()


def _free_parameters(model: libsbml.Model) -> set[str]:
    """Global parameters that have neither a value, a rule nor an initial assignment."""
    targets = {
        model.getInitialAssignment(i).getSymbol() for i in range(model.getNumInitialAssignments())
    }
    targets |= {model.getRule(i).getVariable() for i in range(model.getNumRules())}
    return {
        p.getId()
        for p in model.getListOfParameters()
        if p.getId() not in targets and not p.isSetValue()
    }


@functools.lru_cache(maxsize=8)
def _model_parameter_names(directory: Path) -> frozenset[str]:
    text, segments = _compose(directory)
    _, model = _sbml_model(_to_sbml(text, segments))
    return frozenset(_free_parameters(model))


# ---------------------------------------------------------------------------
# Parameter table


def _is_true(value: object) -> bool | None:
    s = str(value).strip().lower()
    return True if s == "true" else False if s == "false" else None


def _fact_row(name, scope, context, value, lower, upper, estimate, source, description):
    return {
        "name": name,
        "scope": scope,
        "context": context,
        "value": repr(float(value)),
        "lower": repr(float(lower)),
        "upper": repr(float(upper)),
        "unit": "1",
        "estimate": "true" if estimate else "false",
        "source": source,
        "description": description,
    }


def context_facts(directory: str | Path) -> tuple[pd.DataFrame, list[Problem]]:
    """Parameter rows made from the cell-line and cross-species tables, if present.

    ``cell_lines.csv`` gives per cell line its TP53 status (``tp53_wt``: 1 wild
    type, 0 mutant), its CDKN2A status (``cdkn2a``: 1 present, 0 deleted) and its
    receptor chain levels (``rc_gc``, ``rc_il2rb``, ``rc_il4ra``, ``rc_il13ra1``),
    each with its source; ``msc_sources.csv`` the species of each MSC source; and
    ``species_activity.csv`` the activity of a cytokine made by one species on
    another's cells, which becomes ``act_<cytokine>`` per MSC source for the
    species of the tumour cells. Facts are fixed (bounds equal to the value),
    except activities the table marks ``estimate``.

    Parameters
    ----------
    directory : path-like
        The model directory; a model without these tables gets no rows.

    Returns
    -------
    rows : pandas.DataFrame
        In the columns of :data:`PARAMETER_COLUMNS`, as strings.
    problems : list of Problem
        Each naming the table, row and field at fault.
    """
    directory = Path(directory)
    rows: list[dict] = []
    problems: list[Problem] = []
    lines_file = directory / CELL_LINE_FILE
    if not lines_file.is_file():
        return pd.DataFrame(columns=list(PARAMETER_COLUMNS)), problems
    lines = pd.read_csv(lines_file, dtype=str, keep_default_na=False)
    target_species = set()
    for i, r in lines.iterrows():
        where = f"{CELL_LINE_FILE}, row {int(i) + 2} (cell_line={r.get('cell_line', '?')})"
        line = r.get("cell_line", "")
        if line not in CELL_LINES:
            problems.append(
                Problem(where, "cell_line", f"unknown; known: {', '.join(CELL_LINES)}")
            )
            continue
        target_species.add(r.get("species", ""))
        for field_, table_, pname, words in (
            ("tp53", "tp53_source", "tp53_wt", TP53_STATUS),
            ("cdkn2a", "cdkn2a_source", "cdkn2a", CDKN2A_STATUS),
        ):
            word = r.get(field_, "")
            if word not in words:
                problems.append(Problem(where, field_, f"'{word}' not one of {', '.join(words)}"))
                continue
            if not r.get(table_, "").strip():
                problems.append(Problem(where, table_, "empty; give a source"))
            v = words[word]
            rows.append(
                _fact_row(
                    pname,
                    "cell_line",
                    line,
                    v,
                    v,
                    v,
                    False,
                    f"{CELL_LINE_FILE}: {word}; {r.get(table_, '')}",
                    f"{field_.upper()} status switch (1 = {next(iter(words))})",
                )
            )
        if not r.get("receptor_source", "").strip():
            problems.append(Problem(where, "receptor_source", "empty; give a source"))
        for chain, pname in RECEPTOR_CHAINS.items():
            try:
                v = float(r.get(chain, ""))
            except ValueError:
                v = float("nan")
            if not (math.isfinite(v) and v >= 0):
                problems.append(
                    Problem(where, chain, f"'{r.get(chain, '')}' is not a number >= 0")
                )
                continue
            rows.append(
                _fact_row(
                    pname,
                    "cell_line",
                    line,
                    v,
                    v,
                    v,
                    False,
                    f"{CELL_LINE_FILE}: {r.get('receptor_source', '')}",
                    f"relative level of the receptor chain {chain}",
                )
            )
    missing = [c for c in CELL_LINES if c not in set(lines.get("cell_line", []))]
    if missing:
        problems.append(Problem(CELL_LINE_FILE, "cell_line", f"no row for {', '.join(missing)}"))

    sources_file, activity_file = directory / MSC_SOURCE_FILE, directory / ACTIVITY_FILE
    for f in (sources_file, activity_file):
        if not f.is_file():
            problems.append(Problem(str(f), "", f"missing (needed beside {CELL_LINE_FILE})"))
    if problems or not sources_file.is_file() or not activity_file.is_file():
        return pd.DataFrame(rows, columns=list(PARAMETER_COLUMNS)), problems
    if len(target_species) != 1:
        problems.append(
            Problem(
                CELL_LINE_FILE,
                "species",
                "the model's activity parameters need one "
                f"species for every cell line, found {sorted(target_species)}",
            )
        )
        return pd.DataFrame(rows, columns=list(PARAMETER_COLUMNS)), problems
    target = target_species.pop()
    producer = dict(
        pd.read_csv(sources_file, dtype=str, keep_default_na=False)[
            ["msc_source", "species"]
        ].itertuples(index=False, name=None)
    )
    activity = pd.read_csv(activity_file, dtype=str, keep_default_na=False)
    for source in MSC_SOURCES:
        if source not in producer:
            problems.append(Problem(MSC_SOURCE_FILE, "msc_source", f"no row for {source}"))
            continue
        for cytokine in dict.fromkeys(activity["cytokine"]):
            hit = activity[
                (activity["cytokine"] == cytokine)
                & (activity["producer"] == producer[source])
                & (activity["target"] == target)
            ]
            where = f"{ACTIVITY_FILE} ({cytokine}, {producer[source]} on {target})"
            if len(hit) != 1:
                problems.append(Problem(where, "", f"needs exactly one row, found {len(hit)}"))
                continue
            r = hit.iloc[0]
            nums = pd.to_numeric(r[["activity", "lower", "upper"]], errors="coerce")
            if nums.isna().any() or not (0 < nums["lower"] <= nums["activity"] <= nums["upper"]):
                problems.append(Problem(where, "activity", "needs 0 < lower <= activity <= upper"))
                continue
            est = _is_true(r["estimate"])
            if est is None or not r["source"].strip():
                problems.append(Problem(where, "estimate/source", "true/false and a source"))
                continue
            rows.append(
                _fact_row(
                    f"act_{cytokine}",
                    "msc_source",
                    source,
                    nums["activity"],
                    nums["lower"],
                    nums["upper"],
                    est,
                    f"{ACTIVITY_FILE}: {r['source']}",
                    f"activity of {producer[source]} {cytokine} on {target} receptors",
                )
            )
    return pd.DataFrame(rows, columns=list(PARAMETER_COLUMNS)), problems


def load_parameter_table(
    path: str | Path | None = None, *, model_parameters: set[str] | frozenset[str] | None = None
) -> pd.DataFrame:
    """Read and validate ``parameters.csv``.

    Every problem is collected and reported at once, each naming the file, the
    row (counting the header as row 1, i.e. the line of the file) and the field.

    Parameters
    ----------
    path : path-like, optional
        The table; default ``models/parameters.csv``.
    model_parameters : set of str, optional
        Free parameters of the model to check the table against; default: those
        of the Antimony modules beside the table (or of ``models/`` if there are
        none beside it).

    Returns
    -------
    pandas.DataFrame
        The table with numeric ``value``, ``lower``, ``upper``, boolean
        ``estimate`` and ``context`` as ``""`` where empty.

    Raises
    ------
    ValidationError
        Listing every problem found.
    """
    path = Path(path) if path is not None else _default_models_dir() / PARAMETER_FILE
    fname = path.name
    if not path.is_file():
        raise SecretomeError(f"parameter table not found: {path}")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    problems: list[Problem] = []
    missing = [c for c in PARAMETER_COLUMNS if c not in raw.columns]
    for col in missing:
        problems.append(Problem(f"{path}", col, "required column missing"))
    if missing:
        raise ValidationError(problems, f"parameter table {path}")

    table = raw[list(PARAMETER_COLUMNS)].copy()
    for col in ("name", "scope", "context", "unit", "source", "description"):
        table[col] = table[col].str.strip()
    facts, fact_problems = context_facts(path.resolve().parent)
    problems += fact_problems
    n_rows = len(table)
    table = pd.concat([table, facts], ignore_index=True)
    numeric = {c: pd.to_numeric(table[c], errors="coerce") for c in ("value", "lower", "upper")}
    estimate = table["estimate"].map(_is_true)

    for i, row in table.iloc[:n_rows].iterrows():
        where = f"{fname}, row {int(i) + 2} (name={row['name'] or '?'})"
        if not row["name"]:
            problems.append(Problem(where, "name", "empty"))
        elif not re.fullmatch(r"[A-Za-z_]\w*", row["name"]):
            problems.append(Problem(where, "name", f"'{row['name']}' is not a valid model symbol"))
        scope, ctx = row["scope"], row["context"]
        if scope not in SCOPES:
            problems.append(Problem(where, "scope", f"'{scope}' not one of {', '.join(SCOPES)}"))
        elif scope in ("shared", "input") and ctx:
            problems.append(Problem(where, "context", f"must be empty for scope {scope}"))
        elif scope == "cell_line" and ctx not in CELL_LINES:
            problems.append(
                Problem(
                    where, "context", f"unknown cell line '{ctx}'; known: {', '.join(CELL_LINES)}"
                )
            )
        elif scope == "msc_source" and ctx not in MSC_SOURCES:
            problems.append(
                Problem(
                    where,
                    "context",
                    f"unknown MSC source '{ctx}'; known: {', '.join(MSC_SOURCES)}",
                )
            )
        values = {}
        for col in ("value", "lower", "upper"):
            v = numeric[col][i]
            if pd.isna(v) or not math.isfinite(v):
                problems.append(Problem(where, col, f"'{row[col]}' is not a finite number"))
                continue
            fixed = numeric["lower"][i] == numeric["upper"][i]
            if v < 0 or (v == 0 and scope != "input" and not fixed):
                problems.append(
                    Problem(where, col, f"{v:g} must be > 0 (>= 0 for inputs and fixed values)")
                )
            values[col] = v
        if len(values) == 3 and not values["lower"] <= values["value"] <= values["upper"]:
            problems.append(
                Problem(
                    where,
                    "value",
                    f"{values['value']:g} outside bounds "
                    f"[{values['lower']:g}, {values['upper']:g}]",
                )
            )
        if estimate[i] is None:
            problems.append(Problem(where, "estimate", f"'{row['estimate']}' is not true/false"))
        elif estimate[i] and scope == "input":
            problems.append(Problem(where, "estimate", "inputs are never estimated"))
        if not row["source"]:
            problems.append(
                Problem(where, "source", "empty; give a reference or 'assumed: <why>'")
            )
        if not row["unit"]:
            problems.append(Problem(where, "unit", "empty"))

    def row_name(i: int) -> str:
        return f"{fname}, row {int(i) + 2}" if i < n_rows else "the cell-line and activity tables"

    dup = table.duplicated(["name", "context"], keep="first")
    for i in table.index[dup]:
        problems.append(
            Problem(
                f"{row_name(i)} (name={table.at[i, 'name']})",
                "context",
                f"duplicate (name, context) = ({table.at[i, 'name']}, {table.at[i, 'context']!r})",
            )
        )
    for name, group in table.groupby("name", sort=False):
        scopes = set(group["scope"])
        first = f"{row_name(group.index[0])} (name={name})"
        if len(scopes) > 1:
            problems.append(Problem(first, "scope", f"mixed scopes {sorted(scopes)}"))
            continue
        scope = scopes.pop()
        expected = {"cell_line": CELL_LINES, "msc_source": MSC_SOURCES}.get(scope)
        if expected is not None:
            absent = [c for c in expected if c not in set(group["context"])]
            if absent:
                problems.append(Problem(first, "context", f"no row for {', '.join(absent)}"))

    if model_parameters is None:
        beside = path.resolve().parent
        directory = beside if (beside / FUNCTIONS_FILE).is_file() else _resolve(None)
        model_parameters = _model_parameter_names(directory)
    names = set(table["name"])
    for name in sorted(names - set(model_parameters)):
        i = table.index[table["name"] == name][0]
        problems.append(
            Problem(f"{row_name(i)} (name={name})", "name", "not a parameter of the model")
        )
    for name in sorted(set(model_parameters) - names):
        problems.append(Problem(fname, "name", f"model parameter '{name}' has no row"))

    if problems:
        raise ValidationError(problems, f"parameter table {path}")
    for col in ("value", "lower", "upper"):
        table[col] = numeric[col].astype(float)
    table["estimate"] = estimate.astype(bool)
    return table


# ---------------------------------------------------------------------------
# Observables and conserved totals


def _read_observables(path: Path, model: libsbml.Model) -> tuple[Observable, ...]:
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    problems: list[Problem] = []
    missing = [c for c in OBSERVABLE_COLUMNS if c not in raw.columns]
    for col in missing:
        problems.append(Problem(str(path), col, "required column missing"))
    if missing:
        raise ValidationError(problems, f"observable table {path}")
    rules = {model.getRule(i).getVariable() for i in range(model.getNumRules())}
    out = []
    for i, row in raw.iterrows():
        where = f"{path.name}, row {int(i) + 2} (name={row['name']})"
        if row["assay"] not in ASSAYS:
            problems.append(Problem(where, "assay", f"'{row['assay']}' not one of {ASSAYS}"))
        if row["form"] not in FORMS:
            problems.append(Problem(where, "form", f"'{row['form']}' not one of {FORMS}"))
        if row["variable"] not in rules:
            problems.append(
                Problem(
                    where, "variable", f"'{row['variable']}' is no assignment rule of the model"
                )
            )
        fixed = _is_true(row["fixed_by_construction"])
        if fixed is None:
            problems.append(
                Problem(
                    where,
                    "fixed_by_construction",
                    f"'{row['fixed_by_construction']}' is not true/false",
                )
            )
        fields = {c: row[c].strip() for c in OBSERVABLE_COLUMNS}
        out.append(Observable(**{**fields, "fixed_by_construction": bool(fixed)}))
    dups = raw["name"][raw["name"].duplicated()]
    for name in dups:
        problems.append(Problem(path.name, "name", f"duplicate observable '{name}'"))
    by_name = {o.name: o for o in out}
    for i, obs in enumerate(out):
        head = by_name.get(obs.shares_law_with)
        where = f"{path.name}, row {i + 2} (name={obs.name})"
        if obs.shares_law_with and head is None:
            msg = f"'{obs.shares_law_with}' is not an observable of this table"
            problems.append(Problem(where, "shares_law_with", msg))
        elif head is not None and (head.shares_law_with or head.name == obs.name):
            msg = f"'{head.name}' must head its group (its own shares_law_with empty)"
            problems.append(Problem(where, "shares_law_with", msg))
    if problems:
        raise ValidationError(problems, f"observable table {path}")
    return tuple(out)


def _read_conserved(path: Path, model: libsbml.Model) -> tuple[ConservedTotal, ...]:
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    species = {s.getId() for s in model.getListOfSpecies()}
    problems, out = [], []
    for i, row in raw.iterrows():
        members = tuple(row["species"].split())
        for s in members:
            if s not in species:
                problems.append(
                    Problem(f"{path.name}, row {int(i) + 2}", "species", f"unknown species '{s}'")
                )
        out.append(ConservedTotal(row["name"], members, row["description"]))
    if problems:
        raise ValidationError(problems, f"conserved totals {path}")
    return tuple(out)


# ---------------------------------------------------------------------------
# The model


def _format_value(v: float) -> str:
    return repr(float(v))


def _values_section(table: pd.DataFrame) -> str:
    lines = [
        "",
        f"// Nominal parameter values from {PARAMETER_FILE}"
        f" (cell line {CELL_LINES[0]}, MSC source {MSC_SOURCES[0]}).",
    ]
    default_ctx = {"cell_line": CELL_LINES[0], "msc_source": MSC_SOURCES[0]}
    for row in table.itertuples(index=False):
        want = default_ctx.get(row.scope, "")
        if row.context == want:
            lines.append(f"{row.name} = {_format_value(row.value)};")
    return "\n".join(lines) + "\n"


@functools.lru_cache(maxsize=8)
def _load_model_cached(directory: Path) -> ModelSpec:
    text, segments = _compose(directory)
    bare_sbml = _to_sbml(text, segments)
    _, bare = _sbml_model(bare_sbml)
    table = load_parameter_table(
        directory / PARAMETER_FILE, model_parameters=frozenset(_free_parameters(bare))
    )
    full = text.rstrip("\n")
    assert full.endswith("end")
    full = full[: -len("end")] + _values_section(table) + "end\n"
    sbml = _to_sbml(full)
    _, model = _sbml_model(sbml)
    observables = _read_observables(directory / OBSERVABLE_FILE, model)
    conserved = _read_conserved(directory / CONSERVED_FILE, model)
    modules = tuple((m, (directory / f"{m}.ant").read_text(encoding="utf-8")) for m in MODULES)
    return ModelSpec(
        antimony=full,
        sbml=sbml,
        species=tuple(s.getId() for s in model.getListOfSpecies()),
        parameters=table,
        observables=observables,
        conserved=conserved,
        cell_lines=CELL_LINES,
        msc_sources=MSC_SOURCES,
        modules=modules,
        models_dir=directory,
    )


def load_model(models_dir: str | Path | None = None) -> ModelSpec:
    """Compose, validate and compile the model (cached per directory).

    Parameters
    ----------
    models_dir : path-like, optional
        Directory with the model files; default :func:`secretome.paths.models_dir`.

    Returns
    -------
    ModelSpec
    """
    return _load_model_cached(_resolve(models_dir))


def parameter_values(
    spec: ModelSpec,
    cell_line: str,
    msc_source: str,
    overrides: Mapping[str, float] | None = None,
) -> dict[str, float]:
    """Values of every free parameter for one cell line and MSC source.

    Parameters
    ----------
    spec : ModelSpec
    cell_line : str
        One of ``spec.cell_lines``.
    msc_source : str
        One of ``spec.msc_sources``.
    overrides : mapping, optional
        Parameter name to value, applied last (inputs, fitted values).

    Returns
    -------
    dict
        Parameter name to value.

    Raises
    ------
    SecretomeError
        Unknown cell line, MSC source or parameter name (listing the known ones).
    """
    if cell_line not in spec.cell_lines:
        raise SecretomeError(
            f"unknown cell line '{cell_line}'; known: {', '.join(spec.cell_lines)}"
        )
    if msc_source not in spec.msc_sources:
        raise SecretomeError(
            f"unknown MSC source '{msc_source}'; known: {', '.join(spec.msc_sources)}"
        )
    t = spec.parameters
    keep = (
        t["scope"].isin(["shared", "input"])
        | ((t["scope"] == "cell_line") & (t["context"] == cell_line))
        | ((t["scope"] == "msc_source") & (t["context"] == msc_source))
    )
    values = dict(zip(t.loc[keep, "name"], t.loc[keep, "value"].astype(float), strict=True))
    if overrides:
        unknown = sorted(set(overrides) - set(values))
        if unknown:
            raise SecretomeError(
                f"unknown parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(values))}"
            )
        values.update({k: float(v) for k, v in overrides.items()})
    return values


def get_observable(spec: ModelSpec, name: str) -> Observable:
    """Return the observable called ``name``; unknown names list the known ones."""
    for obs in spec.observables:
        if obs.name == name:
            return obs
    known = ", ".join(o.name for o in spec.observables)
    raise SecretomeError(f"unknown observable '{name}'; known: {known}")


#: Integrator tolerances of every simulator (relative, absolute): the fit
#: differentiates by forward differences of 1e-3 in log10 units, so integration
#: errors must stay far below the differences (``docs/scaling.md``).
RTOL = 1e-8
ATOL = 1e-12
#: Bound on the magnitude of every state component; beyond it the integration
#: stops: the model blew up (every backend raises
#: :class:`~secretome.errors.SimulationFailed`). The model's species are scaled
#: so that control levels are of order 1 and cell numbers are relative to the
#: control population (``models/cell_fate.ant``): 1e10 means ten orders of
#: magnitude above control, e.g. 33 more doublings than the control cells in
#: a week, which no culture does. Such a solution only keeps growing
#: exponentially until it overflows double precision, where integrators stall or
#: fail; short of that it is returned as a result (sets within the table's bounds
#: overflow at 127 h or end at 9.5e83 viable cells: tests/test_numerical_edges.py).
#: Nominal and fitted parameters keep every state below 7 in every shipped
#: scenario; of 200 sets drawn within the bounds for each of the five, 97% keep
#: every state below 1e6, and 23 of the 1000 exceed 1e10.
MAX_STATE = 1e10


#: The compartment of the culture medium: a medium change replaces its species.
MEDIUM_COMPARTMENT = "medium"
#: A cytokine's level in fresh medium: its control level, 1 by the unit convention
#: of ``models/secretome.ant``.
MEDIUM_CONTROL_LEVEL = 1.0


@functools.cache
def medium_species(sbml: str) -> tuple[str, ...]:
    """Species in the ``medium`` compartment (the cytokines a medium change removes)."""
    _, m = _sbml_model(sbml)
    return tuple(
        s.getId() for s in m.getListOfSpecies() if s.getCompartment() == MEDIUM_COMPARTMENT
    )


def medium_reset_values(spec: ModelSpec) -> dict[str, float]:
    """Levels that a medium change restores: fresh medium holds each cytokine at
    its control level (:data:`MEDIUM_CONTROL_LEVEL`)."""
    return dict.fromkeys(medium_species(spec.sbml), MEDIUM_CONTROL_LEVEL)


@functools.cache
def context_values(spec: ModelSpec, cell_line: str, msc_source: str) -> Mapping[str, float]:
    """:func:`parameter_values` of one context without overrides, read-only and cached
    (selecting them from the table costs about a millisecond; every arm needs them)."""
    return MappingProxyType(parameter_values(spec, cell_line, msc_source))


@functools.cache
def variable_names(spec: ModelSpec) -> frozenset[str]:
    """Every model symbol a simulation can record: species, rule variables, parameters."""
    _, m = _sbml_model(spec.sbml)
    return frozenset(
        [s.getId() for s in m.getListOfSpecies()] + [p.getId() for p in m.getListOfParameters()]
    )


# ---------------------------------------------------------------------------
# Export


def context_tables(spec: ModelSpec) -> dict[str, list[dict[str, str]]]:
    """The model's context tables as read from its directory: ``cell_lines``,
    ``msc_sources`` and ``species_activity`` (file name without ``.csv``), each a
    list of rows (column -> text); a model without them gets an empty dict."""
    out: dict[str, list[dict[str, str]]] = {}
    for name in (CELL_LINE_FILE, MSC_SOURCE_FILE, ACTIVITY_FILE):
        path = Path(spec.models_dir) / name
        if path.is_file():
            table = pd.read_csv(path, dtype=str, keep_default_na=False)
            out[name.removesuffix(".csv")] = table.to_dict(orient="records")
    return out


def catalogue(spec: ModelSpec) -> dict:
    """JSON-serialisable listing of species, parameters, observables and the
    context tables (:func:`context_tables`)."""
    params = []
    for row in spec.parameters.to_dict(orient="records"):
        params.append(
            {
                k: (
                    bool(v)
                    if k == "estimate"
                    else float(v)
                    if k in ("value", "lower", "upper")
                    else v
                )
                for k, v in row.items()
            }
        )
    return {
        "species": list(spec.species),
        "parameters": params,
        "observables": [
            {
                "name": o.name,
                "assay": o.assay,
                "hgnc": o.hgnc,
                "shares_law_with": o.shares_law_with,
                "fixed_by_construction": o.fixed_by_construction,
                "description": o.description,
            }
            for o in spec.observables
        ],
        "tables": context_tables(spec),
    }


def sbml_errors(sbml: str) -> list[str]:
    """Messages of libSBML consistency problems of severity error or worse."""
    doc = libsbml.readSBMLFromString(sbml)
    doc.checkConsistency()
    out = []
    for i in range(doc.getNumErrors()):
        err = doc.getError(i)
        if err.getSeverity() >= libsbml.LIBSBML_SEV_ERROR:
            out.append(f"line {err.getLine()}: {err.getMessage().strip()}")
    return out


def write_sbml(spec: ModelSpec, path: str | Path) -> Path:
    """Write the model as SBML for other tools, after validating it.

    The SBML that Antimony generates with units, names, SBO terms, MIRIAM
    annotations and notes added (:func:`secretome.sbml_export.annotated_sbml`);
    the simulators use the same mathematics (``spec.sbml``).

    Parameters
    ----------
    spec : ModelSpec
        From :func:`load_model`.
    path : path-like
        Written atomically.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    SecretomeError
        If libSBML finds an error in the generated SBML."""
    sbml = annotated_sbml(spec)
    errors = sbml_errors(sbml)
    if errors:
        raise SecretomeError("generated SBML is invalid:\n" + "\n".join(errors))
    return atomic_write(path, sbml)


__all__ = [
    "CELL_LINES",
    "MODULES",
    "MSC_SOURCES",
    "ConservedTotal",
    "ModelSpec",
    "Observable",
    "catalogue",
    "context_tables",
    "context_values",
    "get_observable",
    "load_antimony",
    "load_model",
    "load_parameter_table",
    "medium_reset_values",
    "medium_species",
    "parameter_values",
    "variable_names",
    "write_sbml",
]
