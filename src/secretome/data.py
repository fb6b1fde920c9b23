"""The evidence base: every result the three experimental papers report, as a tidy table.

One row per observation (schema in ``docs/data.md``). :func:`load_evidence` reads a
CSV file and validates it; every problem found is collected and reported at once,
each naming the file, the row (with its ``id``) and the field at fault.

The column names and the allowed values of the categorical columns are defined
here once (``COLUMNS``, ``ASSAYS``, ...) and used everywhere else.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from secretome.errors import Problem, SecretomeError, ValidationError
from secretome.paths import evidence_file, models_dir

# --- schema -------------------------------------------------------------------------

#: Columns of the evidence table, in order, with a one-line meaning (docs/data.md).
COLUMNS: dict[str, str] = {
    "id": "unique identifier of the observation",
    "study": "paper key, e.g. farahzadi2024",
    "cell_line": "tumour cells: AGS, A431, MDA-MB-231, KG1a_CD34",
    "msc_source": "human_adipose or rat_bone_marrow",
    "delivery": "transwell (co-culture) or conditioned_medium",
    "msc_cells": "MSCs per well (transwell), where stated or inferred (see note)",
    "tumour_cells": "tumour cells seeded per well, where stated",
    "cm_fraction": "conditioned-medium fraction of the well volume (single-dose rows)",
    "doses": "';'-separated doses, increasing (ordering rows, and no-change across doses)",
    "dose_unit": "unit of doses (cm_fraction)",
    "time_h": "time after the start of exposure, hours",
    "arm": "treated, or control (a control-arm value stated in the paper)",
    "assay": "qpcr, western, annexin, mtt, elisa, wound",
    "readout": "gene or protein as named in the paper",
    "hgnc": "HGNC symbol(s), ';'-separated; empty when none applies",
    "form": "mrna, protein, phospho, cleaved_pro_ratio, secreted, cells",
    "scale": "scale of value: fold_change, percent_cells, percent_of_control, ...",
    "kind": "quantitative, direction, no_change or ordering",
    "direction": "up or down (none for no_change); for ordering rows, along increasing dose",
    "value": "the number stated in the text (quantitative rows only)",
    "sd": "standard deviation stated in the text, same scale as value",
    "n": "number of replicates stated",
    "p_upper": "p-value bound stated (p < p_upper)",
    "fit": "true if the row enters the calibration objective, false for caveat rows",
    "source": "section or figure of the paper",
    "quote": "the sentence(s) read, verbatim; non-adjacent parts joined by ' … '",
    "note": "caveats, inconsistencies, readings chosen",
}

ASSAYS = ("qpcr", "western", "annexin", "mtt", "elisa", "wound")
KINDS = ("quantitative", "direction", "no_change", "ordering")
FORMS = ("mrna", "protein", "phospho", "cleaved_pro_ratio", "secreted", "cells")
DELIVERIES = ("transwell", "conditioned_medium")
ARMS = ("treated", "control")
DIRECTIONS = ("up", "down", "none")
DOSE_UNITS = ("cm_fraction",)

#: Scales and the range their values may take (inclusive bounds; None = unbounded).
SCALES: dict[str, tuple[float | None, float | None]] = {
    "fold_change": (0.0, None),  # strictly positive, checked separately
    "percent_cells": (0.0, 100.0),
    "percent_of_control": (0.0, None),
    "percent_change_vs_control": (-100.0, None),
    "relative_migration": (0.0, None),
}
#: The value on each scale that means "no change from control".
NEUTRAL = {
    "fold_change": 1.0,
    "percent_of_control": 100.0,
    "percent_change_vs_control": 0.0,
    "relative_migration": 1.0,
}
#: Which scales each assay reports on.
ASSAY_SCALES: dict[str, tuple[str, ...]] = {
    "qpcr": ("fold_change",),
    "western": ("fold_change",),
    "elisa": ("fold_change",),
    "annexin": ("percent_cells",),
    "mtt": ("percent_of_control", "percent_change_vs_control"),
    "wound": ("relative_migration",),
}

QUOTE_SEPARATOR = " … "
_ID_RE = re.compile(r"^[A-Za-z0-9_.\-]+$")
_NUMBER_RE = re.compile(r"(?<![\d.])\d+(?:\.\d+)?")
_REQUIRED = ("id", "study", "cell_line", "msc_source", "delivery", "time_h", "arm", "assay")
_REQUIRED += ("readout", "form", "scale", "kind", "fit", "source", "quote")


@dataclass(frozen=True)
class _Row:
    """Accessor for one raw row that records problems against its location."""

    where: str
    raw: dict[str, str]
    problems: list[Problem]
    #: Numbers already read: a field is read (and its problem reported) once.
    parsed: dict[str, float | None] = dataclasses.field(default_factory=dict)

    def bad(self, field: str, message: str) -> None:
        if message.startswith("is empty") and any(
            p.where == self.where and p.field == field and p.message.startswith("is empty")
            for p in self.problems
        ):
            return  # an empty field is one problem, however many checks need it
        self.problems.append(Problem(self.where, field, message))

    def text(self, field: str) -> str:
        return self.raw.get(field, "").strip()

    def number(self, field: str, *, required: bool = False) -> float | None:
        if field not in self.parsed:
            self.parsed[field] = self._number(field, required)
        return self.parsed[field]

    def _number(self, field: str, required: bool) -> float | None:
        s = self.text(field)
        if not s:
            if required:
                self.bad(field, "is empty; a number is required")
            return None
        try:
            x = float(s)
        except ValueError:
            self.bad(field, f"{s!r} is not a number")
            return None
        if not math.isfinite(x):
            self.bad(field, f"{s!r} is not a finite number")
            return None
        return x

    def choice(self, field: str, allowed: Iterable[str], *, required: bool = True) -> str:
        s = self.text(field)
        allowed = tuple(allowed)
        if not s:
            if required:
                self.bad(field, f"is empty; expected one of {', '.join(allowed)}")
            return s
        if s not in allowed:
            self.bad(field, f"unknown value {s!r}; expected one of {', '.join(allowed)}")
        return s


def numbers_in(text: str) -> list[float]:
    """All decimal numbers written in ``text`` (used to check values against quotes)."""
    return [float(m) for m in _NUMBER_RE.findall(text)]


def _check_row(row: _Row) -> None:
    for field in _REQUIRED:
        if not row.text(field):
            row.bad(field, "is empty; this field is required")
    rid = row.text("id")
    if rid and not _ID_RE.match(rid):
        row.bad("id", f"{rid!r} may contain only letters, digits, '_', '.' and '-'")

    assay = row.choice("assay", ASSAYS)
    kind = row.choice("kind", KINDS)
    row.choice("form", FORMS)
    row.choice("delivery", DELIVERIES)
    row.choice("arm", ARMS)
    scale = row.choice("scale", SCALES)
    direction = row.choice("direction", DIRECTIONS, required=False)
    fit = row.text("fit").lower()
    if fit and fit not in ("true", "false"):
        row.bad("fit", f"{row.text('fit')!r} must be true or false")

    if assay in ASSAY_SCALES and scale in SCALES and scale not in ASSAY_SCALES[assay]:
        row.bad(
            "scale", f"{scale!r} is not a scale of {assay}; use {', '.join(ASSAY_SCALES[assay])}"
        )

    time_h = row.number("time_h", required=True)
    if time_h is not None and time_h <= 0:
        row.bad("time_h", f"{time_h:g} must be positive (hours after the start of exposure)")
    for field in ("msc_cells", "tumour_cells"):
        x = row.number(field)
        if x is not None and x <= 0:
            row.bad(field, f"{x:g} must be positive")
    n = row.number("n")
    if n is not None and (n < 1 or n != int(n)):
        row.bad("n", f"{row.text('n')!r} must be a whole number of replicates >= 1")
    p = row.number("p_upper")
    if p is not None and not 0 < p <= 1:
        row.bad("p_upper", f"{p:g} is not a p-value bound in (0, 1]")
    sd = row.number("sd")
    if sd is not None and sd < 0:
        row.bad("sd", f"{sd:g} must not be negative")

    cm = row.number("cm_fraction")
    if cm is not None and not 0 < cm <= 2:
        row.bad("cm_fraction", f"{cm:g} must be in (0, 2]")
    doses = _check_doses(row)
    delivery = row.text("delivery")
    if delivery == "conditioned_medium" and cm is None and not doses:
        row.bad("cm_fraction", "conditioned-medium rows need cm_fraction or doses")
    if delivery == "transwell" and cm is not None:
        row.bad("cm_fraction", "must be empty for transwell co-culture")

    value = row.number("value")
    if kind == "quantitative":
        if value is None and "value" not in {pr.field for pr in row.problems}:
            row.bad("value", "quantitative rows need the value stated in the text")
    elif row.text("value"):
        row.bad("value", f"must be empty for {kind} rows (only stated numbers are values)")
    if kind != "quantitative" and row.text("sd"):
        row.bad("sd", f"must be empty for {kind} rows")

    if kind in ("direction", "ordering") and direction not in ("up", "down"):
        row.bad("direction", f"{kind} rows need direction up or down")
    if kind == "no_change" and direction != "none":
        row.bad("direction", "no_change rows need direction none")
    if kind == "ordering" and len(doses) < 2:
        row.bad("doses", "ordering rows need at least two doses")
    if row.text("arm") == "control" and direction not in ("", "none"):
        row.bad("direction", "control-arm rows carry no direction")

    if value is not None and scale in SCALES:
        lo, hi = SCALES[scale]
        if scale == "fold_change" and value <= 0:
            row.bad("value", f"{value:g} is not a fold change (must be > 0)")
        elif (lo is not None and value < lo) or (hi is not None and value > hi):
            rng = f"[{lo:g}, {hi:g}]" if hi is not None else f">= {lo:g}"
            row.bad("value", f"{value:g} is outside the {scale} scale {rng}")
        elif scale in NEUTRAL and direction in ("up", "down"):
            neutral = NEUTRAL[scale]
            if (direction == "up") != (value > neutral):
                row.bad(
                    "direction",
                    f"{direction!r} contradicts value {value:g} "
                    f"({scale}; no change is {neutral:g})",
                )

    quote = row.text("quote")
    stated = numbers_in(quote)
    for field in ("value", "sd"):
        x = row.number(field)
        if x is not None and quote and not any(math.isclose(x, q) for q in stated):
            row.bad(field, f"{row.text(field)} does not appear in the quoted sentence")


def _check_doses(row: _Row) -> list[float]:
    s = row.text("doses")
    if not s:
        if row.text("dose_unit"):
            row.bad("dose_unit", "given without doses")
        return []
    row.choice("dose_unit", DOSE_UNITS)
    try:
        doses = [float(x) for x in s.split(";")]
    except ValueError:
        row.bad("doses", f"{s!r} must be numbers separated by ';'")
        return []
    if any(not math.isfinite(d) or d <= 0 for d in doses):
        row.bad("doses", f"{s!r}: every dose must be a positive number")
    if any(b <= a for a, b in itertools.pairwise(doses)):
        row.bad("doses", f"{s!r} must be strictly increasing")
    return doses


def _check_table(raw: pd.DataFrame, name: str, problems: list[Problem]) -> None:
    """Checks across rows: duplicate ids, treated/control percent pairs."""
    seen: dict[str, int] = {}
    for i, rid in enumerate(raw["id"], start=1):
        rid = rid.strip()
        if rid and rid in seen:
            problems.append(
                Problem(f"{name}, row {i} (id={rid})", "id", f"duplicate of row {seen[rid]}")
            )
        seen.setdefault(rid, i)

    # A percent-of-cells result's direction is relative to the matching control row.
    key = ["study", "cell_line", "assay", "readout", "time_h"]
    pct = raw[(raw["scale"].str.strip() == "percent_cells") & (raw["kind"] == "quantitative")]
    for _, group in pct.groupby(key):
        control = group[group["arm"].str.strip() == "control"]
        if len(control) != 1:
            continue
        try:
            c = float(control["value"].iloc[0])
            treated = [
                (i, float(r["value"]), r) for i, r in group.iterrows() if r["arm"] == "treated"
            ]
        except ValueError:
            continue  # already reported as a non-number
        for i, v, r in treated:
            d = r["direction"].strip()
            if d in ("up", "down") and (d == "up") != (v > c):
                where = f"{name}, row {i + 1} (id={r['id'].strip()})"
                msg = f"{d!r} contradicts value {v:g} against the control row's {c:g}"
                problems.append(Problem(where, "direction", msg))


def validate_evidence(raw: pd.DataFrame, name: str = "evidence table") -> list[Problem]:
    """Return every problem in a raw (all-string) evidence table; empty if valid.

    Parameters
    ----------
    raw : pandas.DataFrame
        The table as read, every cell a string (``dtype=str``).
    name : str
        How problems name the table (usually its file name).

    Returns
    -------
    list of Problem
        Each names the row and field at fault; :func:`load_evidence` raises them
        together as one :class:`~secretome.errors.ValidationError`."""
    missing = [c for c in COLUMNS if c not in raw.columns]
    unknown = [c for c in raw.columns if c not in COLUMNS]
    problems = [Problem(name, c, "required column is missing") for c in missing]
    problems += [
        Problem(name, c, f"unknown column; the schema has {', '.join(COLUMNS)}") for c in unknown
    ]
    if missing:
        return problems
    if raw.empty:
        return [*problems, Problem(name, "", "the table has no rows")]
    for i, rec in enumerate(raw.to_dict("records"), start=1):
        rid = str(rec.get("id", "")).strip()
        where = f"{name}, row {i}" + (f" (id={rid})" if rid else "")
        _check_row(_Row(where, rec, problems))
    _check_table(raw, name, problems)
    return problems


def _typed(raw: pd.DataFrame) -> pd.DataFrame:
    df = raw.copy()
    for c in df.columns:
        df[c] = df[c].str.strip()
    for c in ("msc_cells", "tumour_cells", "cm_fraction", "time_h", "value", "sd", "p_upper"):
        df[c] = pd.to_numeric(df[c].replace("", None), errors="raise").astype(float)
    df["n"] = pd.to_numeric(df["n"].replace("", None)).astype("Int64")
    df["fit"] = df["fit"].str.lower() == "true"
    return df


def load_evidence(path: str | Path | None = None) -> pd.DataFrame:
    """Read and validate an evidence table.

    Parameters
    ----------
    path : str or Path, optional
        A CSV file with the columns of :data:`COLUMNS`. Defaults to the shipped
        ``experiments/data/evidence.csv``.

    Returns
    -------
    pandas.DataFrame
        One row per observation; numeric columns as floats (NaN where not stated),
        ``n`` as nullable integers, ``fit`` as booleans, text columns stripped.

    Raises
    ------
    ValidationError
        Listing every problem, each with file, row (and id) and field.
    SecretomeError
        If the file cannot be read as CSV.
    """
    path = Path(path) if path is not None else evidence_file()
    name = path.name if path == evidence_file() else str(path)
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except FileNotFoundError:
        raise SecretomeError(f"{path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SecretomeError(f"{path}: not a readable CSV table ({exc})") from None
    except OSError as exc:  # a directory, no permission
        raise SecretomeError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    problems = validate_evidence(raw, name)
    if problems:
        raise ValidationError(problems, what=str(path))
    return _typed(raw)


#: The model's observables table: which (assay, HGNC symbols, form) it can answer.
OBSERVABLES_FILE = "observables.csv"


def check_readouts(
    table: pd.DataFrame, name: str = "evidence table", observables: str | Path | None = None
) -> list[Problem]:
    """Warnings for rows whose readout no model observable measures.

    A row is compared with the model through the observable of the same assay,
    HGNC symbol(s) and form (``models/observables.csv``). A symbol that is not a
    gene the model observes (a typo such as ``NOTAGENE``, or a gene outside the
    model) is valid evidence but cannot be compared; these are warnings, not
    errors, so a table of new results still loads.

    Parameters
    ----------
    table : pandas.DataFrame
        A validated evidence table (:func:`load_evidence`).
    name : str
        How warnings name the table.
    observables : path-like, optional
        The observables table; default ``models/observables.csv``.

    Returns
    -------
    list of Problem
        One per row that no observable answers, naming the row, the field
        (``hgnc``, or ``form`` when the gene is observed in another form) and the
        known alternatives.
    """
    path = Path(observables) if observables is not None else models_dir() / OBSERVABLES_FILE
    known = pd.read_csv(path, dtype=str, keep_default_na=False)
    triples = {
        (a.strip(), h.strip(), f.strip())
        for a, h, f in zip(known["assay"], known["hgnc"], known["form"], strict=True)
    }
    warnings = []
    for i, row in enumerate(table.to_dict("records"), start=1):
        key = (row["assay"], row["hgnc"], row["form"])
        if key in triples:
            continue
        where = f"{name}, row {i} (id={row['id']})"
        same_gene = sorted(f"{f} ({a})" for a, h, f in triples if h == row["hgnc"])
        if row["hgnc"] and same_gene:
            msg = (
                f"the model observes {row['hgnc']} only as {', '.join(same_gene)}, not as "
                f"{row['form']} ({row['assay']}); this row cannot be compared with the model"
            )
            warnings.append(Problem(where, "form", msg))
            continue
        genes = sorted({h for a, h, _ in triples if a == row["assay"] and h})
        listed = f"; {row['assay']} genes the model observes: {', '.join(genes)}" if genes else ""
        msg = (
            f"{row['hgnc'] or '(empty)'} is not a gene symbol the model observes for "
            f"{row['assay']} {row['form']}{listed}; this row cannot be compared with the model"
        )
        warnings.append(Problem(where, "hgnc", msg))
    return warnings


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    """Count observations per study and assay, split by kind.

    Parameters
    ----------
    table : pandas.DataFrame
        An evidence table from :func:`load_evidence`.

    Returns
    -------
    pandas.DataFrame
        Index (study, assay); one column per kind plus ``total`` and ``cell_lines``.
    """
    counts = (
        table.groupby(["study", "assay", "kind"])
        .size()
        .unstack("kind", fill_value=0)
        # keep the documented order of kinds, whichever are present
        .reindex(columns=list(KINDS), fill_value=0)
    )
    counts["total"] = counts.sum(axis=1)
    lines = table.groupby(["study", "assay"])["cell_line"].agg(lambda s: ", ".join(sorted(set(s))))
    counts["cell_lines"] = lines
    return counts


def format_summary(summary: pd.DataFrame) -> str:
    """Render :func:`summarise` output as a plain-text table for the terminal."""
    lines = []
    header = f"{'study':<20}{'assay':<10}" + "".join(f"{k:>14}" for k in KINDS)
    header += f"{'total':>8}  cell lines"
    lines.append(header)
    lines.append("-" * len(header))
    for (study, assay), r in summary.iterrows():
        cells = "".join(f"{int(r[k]):>14}" for k in KINDS)
        lines.append(f"{study:<20}{assay:<10}{cells}{int(r['total']):>8}  {r['cell_lines']}")
    lines.append("-" * len(header))
    totals = "".join(f"{int(summary[k].sum()):>14}" for k in KINDS)
    lines.append(f"{'all':<30}{totals}{int(summary['total'].sum()):>8}")
    return "\n".join(lines)
