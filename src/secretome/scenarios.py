"""In-silico experiments as data: one TOML file per experiment (``experiments/scenarios/``).

A scenario names the tumour cells, the MSC source and how the secretome reaches
the tumour cells (transwell co-culture or conditioned medium), how long, when
samples are taken, and any perturbation. :func:`load_scenario` validates a file
and reports every problem, each naming the file and the field. The format is
documented in ``docs/scenarios.md``.

A scenario turns into model inputs with :func:`model_inputs`; the simulation
stage (:mod:`secretome.simulation`) runs a treated arm per dose and a control arm.
"""

from __future__ import annotations

import itertools
import math
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from secretome import model
from secretome.errors import Problem, SecretomeError, ValidationError
from secretome.paths import experiments_dir

DELIVERY_MODES = ("transwell", "conditioned_medium")
PERTURBATION_TYPES = ("neutralise", "inhibit", "receptor")
#: Perturbation targets and the model input each sets.
PERTURBATION_TARGETS: dict[str, dict[str, str]] = {
    "neutralise": {"IL2": "neutralise_IL2", "IL4": "neutralise_IL4"},
    "inhibit": {
        "JAK2": "inhib_JAK2",
        "PI3K": "inhib_PI3K",
        "MEK": "inhib_MEK",
        "MTOR": "inhib_MTOR",
    },
    "receptor": {"IL2R": "scale_IL2R", "IL4R": "scale_IL4R"},
}
ARMS = ("both", "treated")
#: MSC density unit of the model input ``msc_density`` (MSCs per mL).
MSC_DENSITY_UNIT = 1e5

_TOP_KEYS = {
    "name",
    "study",
    "description",
    "cell_line",
    "msc_source",
    "delivery",
    "preincubation_h",
    "duration_h",
    "sampling_h",
    "medium_changes_h",
    "perturbations",
}
_DELIVERY_KEYS = {"mode", "msc_cells", "msc_per_tumour_cell", "tumour_cells", "medium_ml"}
_DELIVERY_KEYS |= {"cm_fraction", "well_capacity_cells", "well_capacity_source"}
_PERTURBATION_KEYS = {"type", "target", "fraction", "scale", "arms"}


@dataclass(frozen=True)
class Perturbation:
    """A change applied to the cells: a cytokine neutralised, a node inhibited, a receptor scaled.

    ``amount`` is the fraction removed (neutralise, inhibit; 0–1) or the receptor
    level multiplier (receptor; > 0). ``arms`` is ``"both"`` (the control arm gets it
    too, so fold changes isolate the secretome) or ``"treated"``.

    Attributes
    ----------
    type : str
        One of :data:`PERTURBATION_TYPES`.
    target : str
        A key of ``PERTURBATION_TARGETS[type]`` (e.g. ``"IL2"``, ``"MEK"``).
    amount : float
        Fraction removed, or receptor level multiplier (see above).
    arms : str
        ``"both"`` or ``"treated"``.
    """

    type: str
    target: str
    amount: float
    arms: str = "both"

    @property
    def model_input(self) -> str:
        return PERTURBATION_TARGETS[self.type][self.target]


@dataclass(frozen=True)
class Scenario:
    """One in-silico experiment. Build with :func:`load_scenario` or :func:`parse_scenario`.

    Doses: in a transwell scenario ``msc_cells`` may list several MSC numbers; in a
    conditioned-medium scenario ``cm_fraction`` may list several fractions. Each dose
    is one treated arm; all share one control arm.

    Attributes
    ----------
    name, study, description : str
        The scenario's id, the paper key it reproduces (``""`` for a new
        experiment) and a sentence for reports.
    cell_line, msc_source : str
        Contexts of the parameter table (e.g. ``"KG1a_CD34"``, ``"rat_bone_marrow"``).
    mode : str
        ``"transwell"`` or ``"conditioned_medium"``.
    duration_h, preincubation_h : float
        Exposure and MSC pre-incubation, hours.
    sampling_h, medium_changes_h : tuple of float
        Sampling and medium-change times, hours from the start of exposure.
    msc_cells, cm_fraction : tuple of float
        The doses (see above); ``tumour_cells`` and ``medium_ml`` describe the well.
    well_capacity_cells : float or None
        Tumour cells the well holds at confluence (adherent) or at the line's
        maximal density (suspension); with ``tumour_cells`` it sets the model
        input ``capacity`` (growth stops when the well is full).
    well_capacity_source : str
        Where that number comes from (a paper's sentence, a vendor's table, or
        "assumed" with a reason).
    perturbations : tuple of Perturbation
    source : str
        The file it was read from.
    """

    name: str
    cell_line: str
    msc_source: str
    mode: str
    duration_h: float
    sampling_h: tuple[float, ...]
    msc_cells: tuple[float, ...] = ()
    tumour_cells: float | None = None
    medium_ml: float = 2.0
    well_capacity_cells: float | None = None
    well_capacity_source: str = ""
    cm_fraction: tuple[float, ...] = ()
    preincubation_h: float = 0.0
    medium_changes_h: tuple[float, ...] = ()
    perturbations: tuple[Perturbation, ...] = ()
    study: str = ""
    description: str = ""
    source: str = field(default="", compare=False)

    @property
    def doses(self) -> tuple[float, ...]:
        """The dose axis: MSC cells per well (transwell) or CM fraction (conditioned medium)."""
        return self.msc_cells if self.mode == "transwell" else self.cm_fraction

    @property
    def dose_unit(self) -> str:
        return "msc_cells" if self.mode == "transwell" else "cm_fraction"

    def with_changes(self, **changes: Any) -> Scenario:
        """A copy with fields changed, validated again (used by CLI flags and sweeps)."""
        return _validated(replace(self, **changes), self.source or self.name)


def model_inputs(
    scenario: Scenario, dose: float | None, *, arm: str = "treated"
) -> dict[str, float]:
    """The model's input parameters for one arm of a scenario.

    Parameters
    ----------
    scenario : Scenario
    dose : float or None
        One of ``scenario.doses`` for the treated arm; ignored for the control arm.
    arm : {"treated", "control"}
        The control arm has no MSCs and no conditioned medium, but keeps the
        perturbations whose ``arms`` is ``"both"``.
    """
    if arm not in ("treated", "control"):
        raise ValueError(f"arm must be 'treated' or 'control', not {arm!r}")
    inputs = {"msc_density": 0.0, "cm_fraction": 0.0}
    if arm == "treated":
        if dose is None:
            raise ValueError("the treated arm needs a dose")
        if scenario.mode == "transwell":
            inputs["msc_density"] = dose / scenario.medium_ml / MSC_DENSITY_UNIT
        else:
            inputs["cm_fraction"] = dose
    for p in scenario.perturbations:
        if arm == "treated" or p.arms == "both":
            inputs[p.model_input] = p.amount
    return inputs


# --- parsing and validation ------------------------------------------------------------


def _number(
    problems: list[Problem], where: str, key: str, value: Any, *, positive: bool = False
) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(Problem(where, key, f"{value!r} is not a number"))
        return None
    x = float(value)
    if not math.isfinite(x):
        problems.append(Problem(where, key, f"{value!r} is not a finite number"))
        return None
    if x < 0 or (positive and x == 0):
        problems.append(Problem(where, key, f"{value!r} must be {'> 0' if positive else '>= 0'}"))
        return None
    return x


def _numbers(
    problems: list[Problem], where: str, key: str, value: Any, *, positive: bool = False
) -> tuple[float, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        problems.append(Problem(where, key, "is an empty list"))
    out = [_number(problems, where, key, v, positive=positive) for v in items]
    return tuple(x for x in out if x is not None)


def _unknown_keys(
    problems: list[Problem], where: str, table: Mapping[str, Any], known: Iterable[str], prefix=""
) -> None:
    known = sorted(known)
    for key in table:
        if key not in known:
            msg = f"unknown field; known fields are {', '.join(known)}"
            problems.append(Problem(where, prefix + key, msg))


def parse_scenario(doc: Mapping[str, Any], where: str = "scenario") -> Scenario:
    """Build a validated :class:`Scenario` from a parsed TOML document.

    Raises
    ------
    ValidationError
        Listing every problem, each naming ``where`` and the field.
    """
    problems: list[Problem] = []
    _unknown_keys(problems, where, doc, _TOP_KEYS)
    for key in ("cell_line", "msc_source", "delivery", "duration_h", "sampling_h"):
        if key not in doc:
            problems.append(Problem(where, key, "is required"))

    def text(key: str, default: str = "") -> str:
        v = doc.get(key, default)
        if not isinstance(v, str):
            problems.append(Problem(where, key, f"{v!r} must be text"))
            return default
        return v

    delivery = doc.get("delivery", {})
    if not isinstance(delivery, dict):
        problems.append(Problem(where, "delivery", "must be a table ([delivery])"))
        delivery = {}
    _unknown_keys(problems, where, delivery, _DELIVERY_KEYS, prefix="delivery.")
    mode = delivery.get("mode", "")
    if mode not in DELIVERY_MODES:
        msg = f"{mode!r} is not a delivery mode; use {' or '.join(DELIVERY_MODES)}"
        problems.append(Problem(where, "delivery.mode", msg))

    def dnum(key: str, **kw) -> float | None:
        return _number(problems, where, f"delivery.{key}", delivery[key], **kw)

    tumour = dnum("tumour_cells", positive=True) if "tumour_cells" in delivery else None
    medium = dnum("medium_ml", positive=True) if "medium_ml" in delivery else 2.0
    capacity = (
        dnum("well_capacity_cells", positive=True) if "well_capacity_cells" in delivery else None
    )
    capacity_source = str(delivery.get("well_capacity_source", "")).strip()
    if capacity is not None:
        if tumour is None:
            msg = "well_capacity_cells needs delivery.tumour_cells (the cells seeded)"
            problems.append(Problem(where, "delivery.tumour_cells", msg))
        elif capacity <= tumour:
            msg = f"{capacity:g} cells is no more than the {tumour:g} seeded: the well holds more"
            problems.append(Problem(where, "delivery.well_capacity_cells", msg))
        if not capacity_source:
            msg = "give the source of well_capacity_cells (or 'assumed: <why>')"
            problems.append(Problem(where, "delivery.well_capacity_source", msg))
    msc: tuple[float, ...] = ()
    cm: tuple[float, ...] = ()
    if mode == "transwell":
        if "cm_fraction" in delivery:
            problems.append(Problem(where, "delivery.cm_fraction", "is for conditioned_medium"))
        if ("msc_cells" in delivery) == ("msc_per_tumour_cell" in delivery):
            msg = "give exactly one of msc_cells or msc_per_tumour_cell"
            problems.append(Problem(where, "delivery.msc_cells", msg))
        elif "msc_cells" in delivery:
            msc = _numbers(problems, where, "delivery.msc_cells", delivery["msc_cells"])
        else:
            ratio = _numbers(
                problems, where, "delivery.msc_per_tumour_cell", delivery["msc_per_tumour_cell"]
            )
            if tumour is None:
                msg = "msc_per_tumour_cell needs delivery.tumour_cells"
                problems.append(Problem(where, "delivery.tumour_cells", msg))
            else:
                msc = tuple(r * tumour for r in ratio)
    elif mode == "conditioned_medium":
        for key in ("msc_cells", "msc_per_tumour_cell"):
            if key in delivery:
                problems.append(Problem(where, f"delivery.{key}", "is for transwell co-culture"))
        if "cm_fraction" not in delivery:
            problems.append(Problem(where, "delivery.cm_fraction", "is required"))
        else:
            # the upper limit is the model input's bound (checked in _validated)
            cm = _numbers(
                problems, where, "delivery.cm_fraction", delivery["cm_fraction"], positive=True
            )

    duration = (
        _number(problems, where, "duration_h", doc["duration_h"], positive=True)
        if "duration_h" in doc
        else None
    )
    pre = (
        _number(problems, where, "preincubation_h", doc["preincubation_h"])
        if "preincubation_h" in doc
        else 0.0
    )
    sampling = (
        _numbers(problems, where, "sampling_h", doc["sampling_h"], positive=True)
        if "sampling_h" in doc
        else ()
    )
    changes = (
        _numbers(problems, where, "medium_changes_h", doc["medium_changes_h"], positive=True)
        if "medium_changes_h" in doc
        else ()
    )

    perts = []
    raw_perts = doc.get("perturbations", [])
    if not isinstance(raw_perts, list):
        problems.append(Problem(where, "perturbations", "must be a list ([[perturbations]])"))
        raw_perts = []
    for i, p in enumerate(raw_perts):
        perts.extend(_parse_perturbation(problems, where, i, p))

    if problems:
        raise ValidationError(problems, what=where)
    scenario = Scenario(
        name=text("name", Path(where).stem),
        study=text("study"),
        description=text("description"),
        cell_line=text("cell_line"),
        msc_source=text("msc_source"),
        mode=mode,
        msc_cells=msc,
        tumour_cells=tumour,
        medium_ml=medium if medium is not None else 2.0,
        well_capacity_cells=capacity,
        well_capacity_source=capacity_source,
        cm_fraction=cm,
        preincubation_h=pre or 0.0,
        duration_h=duration or 0.0,
        sampling_h=tuple(sorted(sampling)),
        medium_changes_h=tuple(sorted(changes)),
        perturbations=tuple(perts),
        source=where,
    )
    return _validated(scenario, where)


def _parse_perturbation(problems: list[Problem], where: str, i: int, p: Any) -> list[Perturbation]:
    key = f"perturbations[{i}]"
    if not isinstance(p, dict):
        problems.append(Problem(where, key, "must be a table"))
        return []
    _unknown_keys(problems, where, p, _PERTURBATION_KEYS, prefix=f"{key}.")
    ptype = p.get("type", "")
    if ptype not in PERTURBATION_TYPES:
        msg = f"{ptype!r} is not a perturbation type; use {', '.join(PERTURBATION_TYPES)}"
        problems.append(Problem(where, f"{key}.type", msg))
        return []
    targets = PERTURBATION_TARGETS[ptype]
    target = p.get("target", "")
    if target not in targets:
        msg = f"unknown {ptype} target {target!r}; known targets are {', '.join(targets)}"
        problems.append(Problem(where, f"{key}.target", msg))
    arms = p.get("arms", "both")
    if arms not in ARMS:
        problems.append(Problem(where, f"{key}.arms", f"{arms!r} must be 'both' or 'treated'"))
    if ptype == "receptor":
        if "scale" not in p:
            problems.append(Problem(where, f"{key}.scale", "is required (receptor multiplier)"))
            return []
        amount = _number(problems, where, f"{key}.scale", p["scale"], positive=True)
    else:
        amount = _number(problems, where, f"{key}.fraction", p.get("fraction", 1.0))
        if amount is not None and amount > 1:
            msg = f"{amount:g} must be a fraction between 0 and 1"
            problems.append(Problem(where, f"{key}.fraction", msg))
            amount = None
    if amount is None or target not in targets or arms not in ARMS:
        return []
    return [Perturbation(ptype, target, amount, arms)]


def _validated(s: Scenario, where: str) -> Scenario:
    """Cross-field checks, and names checked against the model's parameter table."""
    problems: list[Problem] = []
    spec = model.load_model()
    if s.cell_line not in spec.cell_lines:
        msg = f"unknown cell line {s.cell_line!r}; known: {', '.join(spec.cell_lines)}"
        problems.append(Problem(where, "cell_line", msg))
    if s.msc_source not in spec.msc_sources:
        msg = f"unknown MSC source {s.msc_source!r}; known: {', '.join(spec.msc_sources)}"
        problems.append(Problem(where, "msc_source", msg))
    if not s.duration_h > 0:
        problems.append(Problem(where, "duration_h", "must be > 0"))
    if not s.sampling_h:
        problems.append(Problem(where, "sampling_h", "needs at least one time"))
    for t in (*s.sampling_h, *s.medium_changes_h):
        if t > s.duration_h:
            field_ = "sampling_h" if t in s.sampling_h else "medium_changes_h"
            msg = f"{t:g} h is after the end of the exposure (duration_h = {s.duration_h:g})"
            problems.append(Problem(where, field_, msg))
    if not s.doses:
        problems.append(Problem(where, "delivery", "needs at least one dose"))
    if any(x < 0 for x in s.doses):
        problems.append(Problem(where, "delivery", "doses must not be negative"))
    if len(set(s.doses)) != len(s.doses):
        problems.append(Problem(where, "delivery", f"repeated dose in {list(s.doses)}"))
    if s.medium_ml <= 0:
        problems.append(Problem(where, "delivery.medium_ml", "must be > 0"))
    targets = [p.model_input for p in s.perturbations]
    for t in sorted({t for t in targets if targets.count(t) > 1}):
        problems.append(Problem(where, "perturbations", f"{t} is set more than once"))
    dose_field = "delivery.msc_cells" if s.mode == "transwell" else "delivery.cm_fraction"
    problems += [Problem(where, dose_field, m) for m in dose_limit_problems(s, s.doses, spec)]
    limits = input_bounds(spec)
    for i, p in enumerate(s.perturbations):
        lo, hi = limits[p.model_input]
        if not lo <= p.amount <= hi:
            key = "scale" if p.type == "receptor" else "fraction"
            msg = f"{p.amount:g} is outside the model's range [{lo:g}, {hi:g}] of {p.model_input}"
            problems.append(Problem(where, f"perturbations[{i}].{key}", msg))
    if problems:
        raise ValidationError(problems, what=where)
    return s


def input_bounds(spec: model.ModelSpec | None = None) -> dict[str, tuple[float, float]]:
    """The bounds of every model input (scope ``input`` of ``models/parameters.csv``)."""
    table = (spec or model.load_model()).parameters
    inputs = table[table["scope"] == "input"]
    return {r.name: (float(r.lower), float(r.upper)) for r in inputs.itertuples()}


def dose_limit_problems(
    scenario: Scenario, doses: Iterable[float], spec: model.ModelSpec | None = None
) -> list[str]:
    """Doses beyond what the model input they set allows (``msc_density`` or ``cm_fraction``).

    A transwell dose of ``n`` MSCs in ``medium_ml`` mL is the input
    ``msc_density = n / medium_ml / 1e5``; a conditioned-medium dose is ``cm_fraction``
    itself. Their bounds in ``models/parameters.csv`` are the model's limits.

    Returns
    -------
    list of str
        One message per dose out of range (empty when all are allowed).
    """
    limits = input_bounds(spec)
    out = []
    for x in doses:
        if scenario.mode == "transwell":
            lo, hi = limits["msc_density"]
            density = x / scenario.medium_ml / MSC_DENSITY_UNIT
            if not lo <= density <= hi:
                most = hi * scenario.medium_ml * MSC_DENSITY_UNIT
                out.append(
                    f"{x:g} MSCs in {scenario.medium_ml:g} mL is {density:g} x 1e5 MSCs/mL, "
                    f"beyond the model's limit of {hi:g} (msc_density in models/parameters.csv): "
                    f"at most {most:g} MSCs per well"
                )
        else:
            lo, hi = limits["cm_fraction"]
            if not lo <= x <= hi:
                out.append(
                    f"CM fraction {x:g} is outside the model's range [{lo:g}, {hi:g}] "
                    "(cm_fraction in models/parameters.csv)"
                )
    return out


def _option_numbers(problems: list[str], option: str, values, *, zero_ok: bool) -> None:
    for x in values:
        if not math.isfinite(x):
            problems.append(f"{option}: {x:g} is not a finite number")
        elif x < 0 or (x == 0 and not zero_ok):
            problems.append(f"{option}: {x:g} must be {'>= 0' if zero_ok else '> 0'}")
    if len(set(values)) != len(values):
        problems.append(f"{option}: a value is repeated in {', '.join(f'{x:g}' for x in values)}")


def modify(
    scenario: Scenario,
    *,
    doses: Iterable[float] | None = None,
    msc_cells: float | None = None,
    cm_fraction: float | None = None,
    duration: float | None = None,
    times: Iterable[float] | None = None,
    neutralise: Iterable[str] = (),
) -> Scenario:
    """A scenario changed by ``secretome simulate``'s options, each checked and named.

    Parameters
    ----------
    scenario : Scenario
    doses : iterable of float, optional
        ``--doses``: MSCs per well (transwell) or CM fractions (conditioned medium).
    msc_cells, cm_fraction : float, optional
        ``--msc-cells`` / ``--cm-fraction``: one dose (only for that delivery mode;
        not together with ``doses``).
    duration : float, optional
        ``--duration`` (hours). Alone, the scenario is sampled at its end; medium
        changes after it are dropped.
    times : iterable of float, optional
        ``--times`` (hours); none may be after the end of the exposure (the
        scenario's duration, or ``duration``): running longer than the paper did
        takes an explicit ``duration``.
    neutralise : iterable of str
        ``--neutralise``: cytokines neutralised in both arms (``IL2``, ``IL4``).

    Returns
    -------
    Scenario
        Validated like a file (the doses within the model's limits).

    Raises
    ------
    SecretomeError
        One line naming each option at fault and the limit it broke.
    """
    problems: list[str] = []
    changes: dict[str, Any] = {}
    dose_option = None
    if doses is not None:
        dose_option, new_doses = "--doses", tuple(float(x) for x in doses)
        if not new_doses:
            problems.append("--doses: the list is empty")
    for option, value, mode in (
        ("--msc-cells", msc_cells, "transwell"),
        ("--cm-fraction", cm_fraction, "conditioned_medium"),
    ):
        if value is None:
            continue
        if scenario.mode != mode:
            other = "--cm-fraction" if mode == "transwell" else "--msc-cells"
            kind = "transwell" if mode == "transwell" else "conditioned-medium"
            problems.append(f"{option} is for {kind} scenarios; use {other} (or --doses)")
            continue
        if dose_option is not None:
            problems.append(f"{dose_option} and {option} both set the dose; give one")
            continue
        dose_option, new_doses = option, (float(value),)
    if dose_option is not None and not problems:
        _option_numbers(problems, dose_option, new_doses, zero_ok=scenario.mode == "transwell")
        if not problems:
            problems += [f"{dose_option}: {m}" for m in dose_limit_problems(scenario, new_doses)]
        changes[scenario.dose_unit] = new_doses
    end = scenario.duration_h
    if duration is not None:
        before = len(problems)
        _option_numbers(problems, "--duration", [float(duration)], zero_ok=False)
        if len(problems) > before:
            raise SecretomeError("; ".join(problems))
        end = float(duration)
        changes["duration_h"] = end
        changes["medium_changes_h"] = tuple(t for t in scenario.medium_changes_h if t < end)
        if times is None:
            changes["sampling_h"] = (end,)
    if times is not None:
        new_times = tuple(float(x) for x in times)
        if not new_times:
            problems.append("--times: the list is empty")
        _option_numbers(problems, "--times", new_times, zero_ok=False)
        late = [t for t in new_times if math.isfinite(t) and t > end]
        if late and duration is None:
            problems.append(
                f"--times: {', '.join(f'{t:g}' for t in late)} h is after the end of "
                f"{scenario.name}'s exposure ({end:g} h); to simulate longer than the "
                f"experiment, give --duration {max(late):g} as well"
            )
        elif late:
            problems.append(
                f"--times: {', '.join(f'{t:g}' for t in late)} h is after --duration {end:g} h"
            )
        changes["sampling_h"] = tuple(sorted(new_times))
    added = []
    for target in dict.fromkeys(neutralise):
        if target not in PERTURBATION_TARGETS["neutralise"]:
            known = ", ".join(PERTURBATION_TARGETS["neutralise"])
            problems.append(f"--neutralise: unknown cytokine {target!r}; known: {known}")
            continue
        already = [p for p in scenario.perturbations if p.model_input == f"neutralise_{target}"]
        if already:
            problems.append(f"--neutralise {target}: {scenario.name} already neutralises it")
            continue
        added.append(Perturbation("neutralise", target, 1.0, "both"))
    if added:
        changes["perturbations"] = scenario.perturbations + tuple(added)
    if problems:
        raise SecretomeError("; ".join(problems))
    return scenario.with_changes(**changes) if changes else scenario


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario TOML file (format: ``docs/scenarios.md``).

    Parameters
    ----------
    path : path-like
        A TOML file, or the name of a shipped scenario (e.g.
        ``"farahzadi2024_KG1a_CD34"``, see :func:`shipped_scenarios`).

    Returns
    -------
    Scenario

    Raises
    ------
    SecretomeError
        No such file or shipped name (the shipped names are listed), not TOML, or
        invalid (:class:`~secretome.errors.ValidationError` naming every field at
        fault).
    """
    p = Path(path)
    if not p.exists() and p.suffix == "" and len(p.parts) == 1:
        p = scenarios_dir() / f"{p.name}.toml"
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = ", ".join(s.stem for s in shipped_scenario_files())
        raise SecretomeError(
            f"{path}: no such scenario file (shipped scenarios: {known})"
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise SecretomeError(f"{p}: not valid TOML ({exc})") from None
    except OSError as exc:  # a directory, no permission
        raise SecretomeError(f"{p}: cannot read it ({exc.strerror or exc})") from None
    return parse_scenario(doc, str(p))


def capacity_input(scenario: Scenario) -> float | None:
    """The model input ``capacity``: cells the well holds over cells seeded.

    ``None`` when the scenario does not state its well's capacity. Models that
    limit growth by the well (model v2) read it; simulation sets it in both arms,
    which share the well.
    """
    if scenario.well_capacity_cells is None or not scenario.tumour_cells:
        return None
    return scenario.well_capacity_cells / scenario.tumour_cells


def segments(
    scenario: Scenario, times: np.ndarray
) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """The stretches between medium changes, for every simulation backend.

    Yields, for each stretch, its index ``k``, the times to integrate to (its ends
    included) and a boolean mask of which of them are output ``times``. A medium
    change at a stretch's start is applied after sampling that time, so the next
    stretch does not report it again.
    """
    bounds = [0.0, *scenario.medium_changes_h, scenario.duration_h]
    for k, (t0, t1) in enumerate(itertools.pairwise(bounds)):
        seg = times[(times >= t0) & (times <= t1)]
        seg = np.unique(np.concatenate([[t0], seg, [t1]]))
        keep = np.isin(seg, times)
        if k > 0:
            keep[0] = False
        yield k, seg, keep


def scenarios_dir() -> Path:
    return experiments_dir() / "scenarios"


def shipped_scenario_files() -> list[Path]:
    """The scenario files shipped with the package, sorted by name."""
    return sorted(scenarios_dir().glob("*.toml"))


def shipped_scenarios() -> list[Scenario]:
    """Every shipped scenario, validated: one per paper experiment, sorted by name.

    Returns
    -------
    list of Scenario
    """
    return [load_scenario(p) for p in shipped_scenario_files()]
