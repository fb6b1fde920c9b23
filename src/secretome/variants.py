"""Model variants: competing hypotheses as small files on top of the composed model.

A variant is one TOML file (``models/variants/<name>.toml``; the file's stem is the
variant's name) that changes the calibration problem of ``experiments/fit.toml``
by three kinds of switch, each a list of parameter names from
``models/parameters.csv`` (a bare ``name`` means every context of that
parameter, ``name[context]`` one cell line's or MSC source's row):

``[fix]``
    ``name = value``: the parameter is held at ``value`` (linear units; 0 is
    allowed and is how a link or a module is removed, since every regulatory
    weight and input gain of the model enters as a power law or a product that
    is neutral at 0) and removed from the fitted set.
``estimate = [...]``
    parameters added to the fitted set (bounds and start from the table).
``hold = [...]``
    parameters removed from the fitted set and held at their table value
    (parameters a variant makes inert, so that they are not counted as
    estimated by AICc and BIC).

Every file also states its ``hypothesis`` (one sentence) and its ``source`` (a
citation, or ``"assumed: <reason>"``). ``docs/selection.md`` documents the
shipped variants and the format.

:func:`load_variant` reads and checks one file against the parameter table and
the base configuration; every problem is reported in one
:class:`~secretome.errors.SecretomeError` naming the file and the key at fault.
:meth:`Variant.fit_config` and :attr:`Variant.fixed` give what a fit of the
variant needs: the fit configuration and the fixed values to pass to
:class:`~secretome.objective.Objective`.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from secretome import model
from secretome.errors import SecretomeError
from secretome.objective import FitConfig, load_fit_config
from secretome.paths import models_dir
from secretome.simulation import split_key

#: Keys a variant file may hold.
VARIANT_KEYS = ("hypothesis", "source", "fix", "estimate", "hold")


@dataclass(frozen=True)
class Variant:
    """One hypothesis: the switches of a variant file, checked.

    Attributes
    ----------
    name : str
        The file's stem.
    hypothesis : str
        The hypothesis in one sentence.
    source : str
        A citation, or ``"assumed: <reason>"``.
    fix : tuple of (str, float)
        Parameters held at a value (keys ``name`` or ``name[context]``).
    estimate : tuple of str
        Parameter keys added to the fitted set.
    hold : tuple of str
        Parameter keys removed from the fitted set, held at their table value.
    parameters : tuple of str
        The fitted parameter keys (``name`` or ``name[context]``, one per table
        row) after the switches, in the base configuration's order, additions last.
    path : str
        The file it was read from (empty for a variant made in code).
    """

    name: str
    hypothesis: str
    source: str
    fix: tuple[tuple[str, float], ...]
    estimate: tuple[str, ...]
    hold: tuple[str, ...]
    parameters: tuple[str, ...]
    path: str = ""

    @property
    def fixed(self) -> dict[str, float]:
        """The fixed values, as :class:`~secretome.objective.Objective` takes them."""
        return dict(self.fix)

    def fit_config(self, base: FitConfig) -> FitConfig:
        """The base configuration with this variant's fitted parameters."""
        return replace(base, parameters=self.parameters)

    def describe(self) -> str:
        """What the variant changes, in one line (``fix a=0; estimate b; hold c``)."""
        parts = []
        if self.fix:
            parts.append("fix " + ", ".join(f"{k}={v:g}" for k, v in self.fix))
        if self.estimate:
            parts.append("estimate " + ", ".join(self.estimate))
        if self.hold:
            parts.append("hold " + ", ".join(self.hold))
        return "; ".join(parts) or "the base calibration unchanged"


def variants_dir() -> Path:
    """The shipped variants: ``models/variants/`` (beside the model's modules)."""
    return models_dir() / "variants"


def shipped_variant_files() -> list[Path]:
    """Every ``*.toml`` in :func:`variants_dir`, sorted by name."""
    d = variants_dir()
    return sorted(d.glob("*.toml")) if d.is_dir() else []


def _table_keys(spec: model.ModelSpec) -> tuple[dict[str, list[str]], set[str], set[str]]:
    """(name -> its keys, every key, input names) of the parameter table."""
    table = spec.parameters
    by_name: dict[str, list[str]] = {}
    inputs = set()
    for name, scope, context in zip(
        table["name"], table["scope"], table["context"].fillna("").astype(str), strict=True
    ):
        if scope == "input":
            inputs.add(name)
            continue
        by_name.setdefault(name, []).append(f"{name}[{context}]" if context else name)
    keys = {k for ks in by_name.values() for k in ks}
    return by_name, keys, inputs


def _expand(
    entry: str, by_name: dict[str, list[str]], keys: set[str], inputs: set[str]
) -> tuple[list[str], str | None]:
    """Table keys an entry names, or a problem."""
    if entry in inputs:
        return [], (
            f"{entry} is a scenario input, not a parameter (remove a factor with its "
            "secretion and conditioned-medium parameters, e.g. sec_OF and cm_OF)"
        )
    if entry in by_name:
        return list(by_name[entry]), None
    if entry in keys:
        return [entry], None
    name, context = split_key(entry) if "[" in entry else (entry, "")
    if name in by_name and context:
        known = ", ".join(by_name[name])
        return [], f"{name} has no row for context {context!r}; rows: {known}"
    return [], "not a parameter of models/parameters.csv"


def load_variant(
    path: str | Path,
    base: FitConfig | None = None,
    spec: model.ModelSpec | None = None,
) -> Variant:
    """Read a variant file and check it against the parameter table and the base fit.

    Parameters
    ----------
    path : path-like
        A TOML file (format: the module docstring).
    base : FitConfig, optional
        The calibration the switches apply to; default ``experiments/fit.toml``.
    spec : ModelSpec, optional
        Default: the shipped model.

    Returns
    -------
    Variant

    Raises
    ------
    SecretomeError
        One error naming the file and every key at fault: unknown keys, unknown
        parameter names, inputs, values that are not finite numbers >= 0, a
        ``hold`` of a parameter the base does not fit, or a parameter switched
        two ways.
    """
    p = Path(path)
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SecretomeError(f"{p}: no such variant file") from None
    except tomllib.TOMLDecodeError as exc:
        raise SecretomeError(f"{p}: not valid TOML ({exc})") from None
    base = base or load_fit_config()
    spec = spec or model.load_model()
    return variant_from_dict(doc, p.stem, base, spec, where=str(p))


def variant_from_dict(
    doc: Mapping,
    name: str,
    base: FitConfig,
    spec: model.ModelSpec | None = None,
    where: str | None = None,
) -> Variant:
    """Check a parsed variant document (what :func:`load_variant` reads) and build it.

    Parameters
    ----------
    doc : mapping
        The keys of :data:`VARIANT_KEYS`.
    name : str
        The variant's name.
    base : FitConfig
        The calibration the switches apply to.
    spec : ModelSpec, optional
        Default: the shipped model.
    where : str, optional
        Named in error messages (default: ``variant <name>``).

    Returns
    -------
    Variant

    Raises
    ------
    SecretomeError
        As :func:`load_variant`.
    """
    spec = spec or model.load_model()
    where = where or f"variant {name}"
    by_name, keys, inputs = _table_keys(spec)
    problems: list[str] = []
    for k in doc:
        if k not in VARIANT_KEYS:
            problems.append(f"unknown key '{k}' (known: {', '.join(VARIANT_KEYS)})")
    text = {}
    for k in ("hypothesis", "source"):
        v = doc.get(k)
        if not isinstance(v, str) or not v.strip():
            problems.append(f"key '{k}': must be a non-empty string")
        text[k] = v.strip() if isinstance(v, str) else ""

    base_keys: list[str] = []
    for entry in base.parameters:
        expanded, _ = _expand(entry, by_name, keys, inputs)
        base_keys += [k for k in expanded if k not in base_keys]

    fix: list[tuple[str, float]] = []
    fixed_keys: dict[str, str] = {}  # table key -> the entry that fixed it
    fix_doc = doc.get("fix", {})
    if not isinstance(fix_doc, Mapping):
        problems.append("key 'fix': must be a table of name = value")
        fix_doc = {}
    for entry, value in fix_doc.items():
        expanded, problem = _expand(entry, by_name, keys, inputs)
        if problem:
            problems.append(f"key 'fix.{entry}': {problem}")
            continue
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < 0
        ):
            problems.append(f"key 'fix.{entry}': {value!r} must be a finite number >= 0")
            continue
        fix.append((entry, float(value)))
        fixed_keys.update(dict.fromkeys(expanded, entry))

    lists: dict[str, list[str]] = {}
    for section in ("estimate", "hold"):
        given = doc.get(section, [])
        if not isinstance(given, list) or not all(isinstance(x, str) for x in given):
            problems.append(f"key '{section}': must be a list of parameter names")
            given = []
        out: list[str] = []
        for entry in given:
            expanded, problem = _expand(entry, by_name, keys, inputs)
            if problem:
                problems.append(f"key '{section}': '{entry}': {problem}")
                continue
            for k in expanded:
                if k in fixed_keys:
                    problems.append(
                        f"key '{section}': '{entry}' is also fixed by 'fix.{fixed_keys[k]}'"
                    )
                elif section == "hold" and k not in base_keys:
                    problems.append(
                        f"key 'hold': '{k}' is not fitted in {base.source or 'the base'}; "
                        "nothing to hold"
                    )
                elif k not in out:
                    out.append(k)
        lists[section] = out
    both = sorted(set(lists["estimate"]) & set(lists["hold"]))
    if both:
        problems.append(f"keys 'estimate' and 'hold' both name {', '.join(both)}")
    if problems:
        raise SecretomeError(f"{where}: " + "; ".join(problems))

    removed = set(fixed_keys) | set(lists["hold"])
    fitted = [k for k in base_keys if k not in removed]
    fitted += [k for k in lists["estimate"] if k not in fitted]
    if not fitted:
        raise SecretomeError(f"{where}: the switches leave no parameter to fit")
    return Variant(
        name=name,
        hypothesis=text["hypothesis"],
        source=text["source"],
        fix=tuple(fix),
        estimate=tuple(lists["estimate"]),
        hold=tuple(lists["hold"]),
        parameters=tuple(fitted),
        path=where if where != f"variant {name}" else "",
    )


def load_variants(
    paths: Iterable[str | Path] | None = None,
    base: FitConfig | None = None,
    spec: model.ModelSpec | None = None,
) -> list[Variant]:
    """Read several variant files (default: every shipped one), checking them all.

    Parameters
    ----------
    paths : iterable of path-like, optional
        Variant files, or directories of them; default :func:`shipped_variant_files`.
    base : FitConfig, optional
        Default: ``experiments/fit.toml``.
    spec : ModelSpec, optional
        Default: the shipped model.

    Returns
    -------
    list of Variant

    Raises
    ------
    SecretomeError
        Every file's problems in one message, or two files with the same name.
    """
    files: list[Path] = []
    for p in [Path(x) for x in paths] if paths is not None else shipped_variant_files():
        files += sorted(p.glob("*.toml")) if p.is_dir() else [p]
    if not files:
        raise SecretomeError(f"no variant files (looked in {variants_dir()})")
    base = base or load_fit_config()
    spec = spec or model.load_model()
    out, problems = [], []
    for f in files:
        try:
            out.append(load_variant(f, base, spec))
        except SecretomeError as exc:
            problems.append(str(exc))
    names = [v.name for v in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        problems.append(f"two variant files share the name(s) {', '.join(twice)}")
    if problems:
        raise SecretomeError("\n".join(problems))
    return out
