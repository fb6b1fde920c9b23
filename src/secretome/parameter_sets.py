"""Parameter sets: which values a run uses, checked against the table, and named.

Every command runs with one parameter set and names it in everything it writes
(standard output, CSV columns, figure titles, the HTML report):

* the **shipped fit** (``models/fitted_parameters.csv``, with its command, seed and
  objective in ``fitted_parameters.toml``): the default of every command, so
  ``secretome simulate`` and ``secretome reproduce`` give the same numbers;
* the table's **nominal** values (``models/parameters.csv``; ``--nominal``);
* a **file** of the user's (``--params FILE``, a ``name,value`` CSV).

:func:`check_values` holds every value to the parameter table: unknown names and
contexts, negative or non-finite values, a name given both bare and per context,
the inputs each scenario sets itself (``msc_density``, ``cm_fraction``), and values
outside the table's bounds (unless ``allow_outside_bounds``: the model's rate laws
and the fit were only ever checked within them) are refused, each named with its
value and bounds. :func:`secretome.simulation.simulate` itself does not check
bounds: the optimiser and the sensitivity analysis choose their points within
(or, with ``--factor``, knowingly around) them.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from secretome import model
from secretome.errors import SecretomeError
from secretome.io import read_parameter_file
from secretome.paths import models_dir
from secretome.simulation import split_key

FITTED_PARAMETERS = "fitted_parameters.csv"
FITTED_PROVENANCE = "fitted_parameters.toml"
#: Label of the table's nominal values.
NOMINAL_LABEL = f"nominal values of models/{model.PARAMETER_FILE} (not fitted)"
#: Model inputs that every scenario sets for each arm (its delivery), so a value
#: in a parameter file would be silently overwritten.
SCENARIO_INPUTS = ("msc_density", "cm_fraction")
#: Relative slack on the bounds: a fitted value on a bound comes back through
#: 10**log10 and an 8-digit file, a few parts in 1e9 away from it.
BOUND_RTOL = 1e-6
#: How messages tell a command-line user to use values outside the bounds anyway.
OUTSIDE_BOUNDS_HINT = (
    "to use values outside the bounds on purpose, pass --allow-outside-bounds "
    "(in Python: allow_outside_bounds=True)"
)


@dataclass(frozen=True)
class ParameterSet:
    """Parameter values and where they came from.

    Attributes
    ----------
    values : mapping or None
        ``name`` / ``name[context]`` -> value, overriding the table's nominal
        values; ``None`` for the nominal values themselves.
    label : str
        Where the values came from, in full (reports, ``provenance.json``).
    name : str
        A short name for CSV columns and figure titles: ``"shipped fit"``,
        ``"nominal"`` or the file's name.
    allow_outside_bounds : bool
        Whether its values were accepted outside the table's bounds.
    """

    values: Mapping[str, float] | None
    label: str
    name: str
    allow_outside_bounds: bool = False

    def as_dict(self) -> dict[str, float] | None:
        """The values as a plain dict (``None`` for the nominal set)."""
        return None if self.values is None else dict(self.values)


def nominal_parameters() -> ParameterSet:
    """The table's nominal values (``models/parameters.csv``).

    Returns
    -------
    ParameterSet
    """
    return ParameterSet(None, NOMINAL_LABEL, "nominal")


def shipped_fit() -> ParameterSet:
    """The fitted set committed under ``models/``, or the nominal set if there is none.

    Returns
    -------
    ParameterSet
        Labelled with the fit's command and objective from ``fitted_parameters.toml``.

    Raises
    ------
    SecretomeError
        The shipped file is unreadable or holds values the table refuses.
    """
    values_file = models_dir() / FITTED_PARAMETERS
    if not values_file.is_file():
        return nominal_parameters()
    values = read_parameter_file(values_file)
    check_values(values, where=f"models/{FITTED_PARAMETERS}")
    label = f"fitted (models/{FITTED_PARAMETERS})"
    meta_file = models_dir() / FITTED_PROVENANCE
    if meta_file.is_file():
        meta = tomllib.loads(meta_file.read_text(encoding="utf-8"))
        label += f": `{meta.get('command', '?')}`, objective {meta.get('objective', '?')}"
    return ParameterSet(MappingProxyType(values), label, "shipped fit")


def from_file(path: str | Path, *, allow_outside_bounds: bool = False) -> ParameterSet:
    """A ``name,value`` parameter file, read and checked (:func:`check_values`).

    Parameters
    ----------
    path : path-like
    allow_outside_bounds : bool
        Accept positive values outside the table's bounds.

    Returns
    -------
    ParameterSet
    """
    values = read_parameter_file(path)
    check_values(values, allow_outside_bounds=allow_outside_bounds, where=str(path))
    label = f"from {path}"
    if allow_outside_bounds and not within_bounds(values):
        label += " (values outside the table's bounds allowed)"
    return ParameterSet(MappingProxyType(values), label, Path(path).name, allow_outside_bounds)


def choose_parameters(
    path: str | Path | None = None, *, nominal: bool = False, allow_outside_bounds: bool = False
) -> ParameterSet:
    """The parameter set a command runs with: a file, the nominal values, or the shipped fit.

    Parameters
    ----------
    path : path-like, optional
        A parameter file (``--params``); checked with :func:`check_values`.
    nominal : bool
        The table's nominal values instead of the shipped fit (``--nominal``).
    allow_outside_bounds : bool
        Accept a file's values outside the table's bounds.

    Returns
    -------
    ParameterSet
        The file's values if given, else the nominal values if asked for, else
        :func:`shipped_fit` (the default of every command).

    Raises
    ------
    SecretomeError
        Both a file and ``nominal``, or a file that fails the checks.
    """
    if path is not None and nominal:
        raise SecretomeError("give either a parameter file or --nominal, not both")
    if path is not None:
        return from_file(path, allow_outside_bounds=allow_outside_bounds)
    return nominal_parameters() if nominal else shipped_fit()


def _inside(value: float, lower: float, upper: float) -> bool:
    return lower * (1 - BOUND_RTOL) <= value <= upper * (1 + BOUND_RTOL)


def _rows_for(table, name: str, context: str):
    rows = table[table["name"] == name]
    return rows[rows["context"] == context] if context else rows


def within_bounds(values: Mapping[str, float], spec: model.ModelSpec | None = None) -> bool:
    """Whether every value lies within the table's bounds of every row it applies to."""
    table = (spec or model.load_model()).parameters
    for key, value in values.items():
        name, context = split_key(key)
        for row in _rows_for(table, name, context).itertuples():
            if not _inside(float(value), row.lower, row.upper):
                return False
    return True


def check_values(
    values: Mapping[str, float],
    *,
    spec: model.ModelSpec | None = None,
    allow_outside_bounds: bool = False,
    where: str = "parameters",
) -> None:
    """Refuse parameter values the table does not allow, naming each one.

    Parameters
    ----------
    values : mapping
        ``name`` or ``name[context]`` -> value. A bare name applies in every
        context, so it must lie within the bounds of each of its rows.
    spec : ModelSpec, optional
        Default: the shipped model.
    allow_outside_bounds : bool
        Accept positive values outside the bounds (negative and non-finite values
        are refused regardless).
    where : str
        How the message names the values (e.g. the file).

    Raises
    ------
    SecretomeError
        One line listing every problem: unknown name or context, a value that is
        negative, not finite or outside the bounds (with name, value and bounds),
        a name given both bare and per context, or an input the scenario sets.
    """
    spec = spec or model.load_model()
    table = spec.parameters
    contexts = {*spec.cell_lines, *spec.msc_sources}
    problems: list[str] = []
    unknown: list[str] = []
    outside = False
    bare: set[str] = set()
    scoped: dict[str, list[str]] = {}
    for key, raw in values.items():
        name, context = split_key(str(key))
        rows = _rows_for(table, name, "")
        if rows.empty:
            unknown.append(str(key))
            continue
        if context:
            if context not in contexts:
                problems.append(
                    f"{key}: unknown context {context!r} (cell lines and MSC sources: "
                    f"{', '.join(sorted(contexts))})"
                )
                continue
            rows = rows[rows["context"] == context]
            if rows.empty:
                scope = table.loc[table["name"] == name, "scope"].iloc[0]
                problems.append(f"{key}: {name} has no row for {context} (its scope is {scope})")
                continue
            scoped.setdefault(name, []).append(str(key))
        else:
            bare.add(name)
        if name in SCENARIO_INPUTS:
            problems.append(
                f"{key}: set by each scenario's delivery for every arm (use the scenario "
                "or --doses / --msc-cells / --cm-fraction), not by a parameter file"
            )
            continue
        value = float(raw)
        if not math.isfinite(value):
            problems.append(f"{key} = {raw}: not a finite number")
            continue
        if value < 0:
            lo, hi = rows["lower"].min(), rows["upper"].max()
            problems.append(f"{key} = {value:g}: must not be negative (bounds [{lo:g}, {hi:g}])")
            continue
        if allow_outside_bounds:
            continue
        for row in rows.itertuples():
            if not _inside(value, row.lower, row.upper):
                outside = True
                ctx = f" for {row.context}" if row.context and not context else ""
                problems.append(
                    f"{key} = {value:g} is outside its bounds [{row.lower:g}, {row.upper:g}]{ctx}"
                )
                break
    for name in sorted(bare & set(scoped)):
        problems.append(
            f"{name} is given both bare and as {', '.join(scoped[name])}: which value applies "
            "there is ambiguous; give it once per context instead"
        )
    if unknown:
        problems.insert(
            0,
            f"unknown parameter(s) {', '.join(unknown)} (the table: models/"
            f"{model.PARAMETER_FILE}, or `secretome model --json`)",
        )
    if problems:
        hint = f"; {OUTSIDE_BOUNDS_HINT}" if outside else ""
        raise SecretomeError(f"{where}: " + "; ".join(problems) + hint)


__all__ = [
    "NOMINAL_LABEL",
    "ParameterSet",
    "check_values",
    "choose_parameters",
    "from_file",
    "nominal_parameters",
    "shipped_fit",
    "within_bounds",
]
