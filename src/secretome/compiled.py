"""The fast simulation backend: the model compiled with Numba, integrated by BDF.

:func:`compile_model` has :func:`secretome.codegen.generate` write the model's
right-hand side, initial state and assignment rules as Numba source;
:func:`build_module` puts the integrator of :mod:`secretome.bdf` in front of it,
writes the module to the cache directory (:func:`cache_dir`) under a name made
from a hash of everything that shapes the machine code (the source and the
Numba version) and imports it. Numba keeps the compiled code beside it,
so the first process on a machine compiles (45-95 s; it says so on stderr
first) and every later one loads (well under a second). A cache that cannot be
read (a truncated or garbled file) is removed and compiled again, with one
line on stderr, instead of failing every later run.

The backend agrees with libRoadRunner (CVODE) to within 1e-5 relative on every
paper scenario, nominal and fitted, and on random parameter sets across the
table's bounds (``tests/test_compiled.py``); ``docs/scaling.md`` has the speed.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pickle
import sys
import tempfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType

import numba
import numpy as np

from secretome import bdf, interrupts, model
from secretome.codegen import generate
from secretome.errors import SecretomeError, SimulationFailed
from secretome.io import atomic_write
from secretome.scenarios import Scenario, segments

#: Most integrator steps per segment (libRoadRunner's CVODE default). A treated arm
#: of 7 days takes at most ~800 across 1000 parameter sets drawn within the
#: table's bounds of five scenarios, and a step of the model costs ~10 µs, so a
#: stall that runs into this bound fails within about 0.2 s.
MAX_STEPS = 20000

_ENTRY = """

@njit(cache=True, error_model="numpy")
def observe_rows(t, y, p):
    first = observe(t[0], y[0], p)
    out = np.empty((t.size, first.size))
    out[0] = first
    for i in range(1, t.size):
        out[i] = observe(t[i], y[i], p)
    return out
"""


def cache_dir() -> Path:
    """Where generated modules and Numba's compiled code are kept:
    ``SECRETOME_CACHE_DIR``, else ``$XDG_CACHE_HOME/secretome``, else
    ``~/.cache/secretome``."""
    env = os.environ.get("SECRETOME_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "secretome"


@dataclass(frozen=True, eq=False)  # hashed by identity: one per SBML text
class CompiledModel:
    """The model as compiled functions.

    Attributes
    ----------
    species : tuple of str
        State variables, in the order of ``y``.
    parameters : tuple of str
        Constant parameters, in the order of ``p``.
    defaults : numpy.ndarray
        The SBML's values of ``parameters``.
    rules : tuple of str
        Every assignment-rule variable, in the order :meth:`observe` returns them.
    module : module
        The generated module (``rhs``, ``initial``, ``observe``, ``solve``).
    path : pathlib.Path
        Its source file.
    groups, pat_ptr, pat_idx : numpy.ndarray
        The Jacobian's structure for the integrator (:func:`secretome.bdf.column_groups`).
    index : mapping
        Parameter name to its position in ``p``.
    """

    species: tuple[str, ...]
    parameters: tuple[str, ...]
    defaults: np.ndarray
    rules: tuple[str, ...]
    module: ModuleType
    path: Path
    groups: np.ndarray
    pat_ptr: np.ndarray
    pat_idx: np.ndarray
    index: Mapping[str, int]

    def parameter_vector(
        self, values: Mapping[str, float], base: np.ndarray | None = None
    ) -> np.ndarray:
        """``base`` (default: the SBML's values) with ``values`` set; unknown names
        are refused."""
        p = (self.defaults if base is None else base).copy()
        try:
            idx = np.fromiter((self.index[k] for k in values), dtype=np.int64, count=len(values))
        except KeyError as exc:
            raise SecretomeError(f"unknown parameter {exc.args[0]!r}") from None
        p[idx] = np.fromiter(values.values(), dtype=float, count=len(values))
        return p

    def initial(self, p: np.ndarray) -> np.ndarray:
        """Initial state for the parameter vector ``p`` (libRoadRunner's ``reset()``)."""
        with interrupts.deferred():  # Ctrl-C waits until the compiled call returns
            return self.module.initial(p)

    def integrate(
        self, p: np.ndarray, t0: float, y0: np.ndarray, t_out: np.ndarray, rtol: float, atol: float
    ) -> np.ndarray:
        """States at ``t_out`` (ascending, from ``t0``, in hours).

        Raises
        ------
        IntegrationError
            If the integrator stops early (:data:`MAX_STEPS`, step size, Newton or
            error-test failures, a non-finite right-hand side) or a state
            component exceeds :data:`secretome.model.MAX_STATE`; the message names the reason and
            where it stopped.
        """
        y0 = np.ascontiguousarray(y0, dtype=float)
        t_out = np.ascontiguousarray(t_out, dtype=float)
        with interrupts.deferred():  # Ctrl-C waits until the compiled call returns
            out, status, _, t = self.module.integrate(
                p,
                float(t0),
                y0,
                t_out,
                rtol,
                atol,
                MAX_STEPS,
                model.MAX_STATE,
                self.groups,
                self.pat_ptr,
                self.pat_idx,
            )
        if status == bdf.BLEW_UP:
            raise IntegrationError(
                f"state exceeded {model.MAX_STATE:g} at t = {t:.4g} h: the model blew up"
            )
        if status != bdf.SUCCESS:
            raise IntegrationError(f"{bdf.STATUS_MESSAGES[status]} (at t = {t:.4g} h)")
        return out

    def observe(self, t: np.ndarray, y: np.ndarray, p: np.ndarray) -> np.ndarray:
        """Every assignment rule (columns, in :attr:`rules` order) at each row of ``y``."""
        t = np.asarray(t, dtype=float)
        with interrupts.deferred():  # Ctrl-C waits until the compiled call returns
            return self.module.observe_rows(t, y, p)


class IntegrationError(SecretomeError):
    """The BDF integrator stopped before the last output time."""


def _import(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # Numba's cache looks the module up by name
    spec.loader.exec_module(module)
    return module


#: Said on stderr before a module is compiled for the first time on a machine.
COMPILE_NOTICE = "secretome: compiling the model for this machine, once: about 1 min ({where})"
#: What reading a damaged Numba cache file raises (a truncated or garbled index
#: ``.nbi`` or data ``.nbc`` file: unpickling errors, a bad version line, ...).
CACHE_ERRORS: tuple[type[BaseException], ...] = (
    EOFError,
    pickle.UnpicklingError,
    ValueError,
    TypeError,
    AttributeError,
    ImportError,
    IndexError,
    KeyError,
    zlib.error,
    OSError,
)


def _cache_files(path: Path, name: str) -> list[Path]:
    """Numba's cache files of the generated module ``name`` (index ``.nbi``, data ``.nbc``)."""
    places = [path.parent / "__pycache__"]
    if os.environ.get("NUMBA_CACHE_DIR"):
        places.append(Path(os.environ["NUMBA_CACHE_DIR"]))
    found: list[Path] = []
    for place in places:
        if place.is_dir():
            found += [f for f in place.rglob(f"{name}.*") if f.suffix in (".nbi", ".nbc")]
    return sorted(found)


def _load(path: Path, name: str, warm_up: Callable[[ModuleType], object] | None) -> ModuleType:
    """Import the generated module and make its first calls (``warm_up``).

    Numba compiles, or loads compiled code from its cache, on a function's first
    call. Without cached code this says on stderr that compiling takes a while. A
    cache whose files cannot be read fails that first call (:data:`CACHE_ERRORS`):
    its files are removed, the module imported afresh and compiled again, once,
    with one line on stderr; a second failure is raised.
    """
    cached = _cache_files(path, name)
    if not any(f.suffix == ".nbi" for f in cached):
        print(COMPILE_NOTICE.format(where=path.parent), file=sys.stderr, flush=True)
    module = _import(path, name)
    if warm_up is None:
        return module
    try:
        warm_up(module)
    except CACHE_ERRORS as exc:
        if not cached:
            raise  # nothing was read from a cache: not a damaged cache
        for f in _cache_files(path, name):
            f.unlink(missing_ok=True)
        print(
            f"secretome: the compiled-model cache in {path.parent} could not be read "
            f"({type(exc).__name__}: {exc}); removed it and compiling again: about 1 min",
            file=sys.stderr,
            flush=True,
        )
        sys.modules.pop(name, None)
        module = _import(path, name)
        warm_up(module)
    return module


def build_module(
    model_source: str, warm_up: Callable[[ModuleType], object] | None = None
) -> ModuleType:
    """The integrator (:mod:`secretome.bdf`'s source) followed by ``model_source``
    (which defines ``rhs``), written to the cache directory and imported.

    The file is content-addressed (hash of the source and the Numba version), so
    processes sharing a cache directory share the compiled code, and a changed
    model or integrator never meets stale machine code. ``warm_up(module)``, if
    given, makes the first calls at once, so that a damaged cache is found,
    removed and compiled again here (:func:`_load`).
    """
    source = Path(bdf.__file__).read_text(encoding="utf-8") + "\n\n" + model_source
    stamp = hashlib.sha256(f"{source}\0{numba.__version__}".encode()).hexdigest()[:16]
    name = f"secretome_model_{stamp}"
    try:
        directory = cache_dir()
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{name}.py"
        if not path.exists() or path.read_text(encoding="utf-8") != source:
            atomic_write(path, source)
    except OSError:  # e.g. a read-only home: compile in a private directory, no reuse
        path = Path(tempfile.mkdtemp(prefix="secretome-")) / f"{name}.py"
        path.write_text(source, encoding="utf-8")
    if name in sys.modules:
        return sys.modules[name]
    return _load(path, name, warm_up)


@cache
def compile_model(sbml: str) -> CompiledModel:
    """Generate, write and import the compiled model for an SBML text (cached).

    The module file is content-addressed, so processes sharing a cache
    directory share the compiled code and a changed model or integrator never
    meets a stale one. Every compiled function is called once here (a short
    integration from the initial state), so compiling, or repairing a damaged
    cache, happens before the first simulation.
    """
    gen = generate(sbml, None, "numba")
    groups, pat_ptr, pat_idx = bdf.column_groups(gen.pattern)

    def made(module: ModuleType) -> CompiledModel:
        return CompiledModel(
            species=gen.species,
            parameters=gen.parameters,
            defaults=np.array(gen.defaults, dtype=float),
            rules=gen.observed,
            module=module,
            path=Path(module.__file__),
            groups=groups,
            pat_ptr=pat_ptr,
            pat_idx=pat_idx,
            index={n: i for i, n in enumerate(gen.parameters)},
        )

    def warm_up(module: ModuleType) -> None:
        cm = made(module)
        p = cm.defaults.copy()
        y0 = cm.initial(p)
        try:
            cm.integrate(p, 0.0, y0, np.array([1e-3]), model.RTOL, model.ATOL)
        except IntegrationError:
            pass  # the defaults need not integrate; the code is compiled either way
        cm.observe(np.array([0.0]), np.vstack([y0]), p)

    return made(build_module(gen.source + _ENTRY, warm_up))


@cache
def _context_vector(
    cm: CompiledModel, spec: model.ModelSpec, cell_line: str, msc_source: str
) -> np.ndarray:
    """The parameter vector with one context's table values (cached, read-only)."""
    vector = cm.parameter_vector(model.context_values(spec, cell_line, msc_source))
    vector.flags.writeable = False  # shared: parameter_vector copies it
    return vector


@cache
def _columns(cm: CompiledModel, variables: tuple[str, ...]):
    """Where each variable comes from: (columns, indices) of species, rules, parameters."""
    where = {"s": ([], []), "r": ([], []), "p": ([], [])}
    lookup = {
        **{n: ("p", i) for i, n in enumerate(cm.parameters)},
        **{n: ("r", i) for i, n in enumerate(cm.rules)},
        **{n: ("s", i) for i, n in enumerate(cm.species)},
    }
    for col, name in enumerate(variables):
        kind, i = lookup[name]
        where[kind][0].append(col)
        where[kind][1].append(i)
    return tuple((np.array(c, dtype=int), np.array(i, dtype=int)) for c, i in where.values())


def run_arm(
    spec: model.ModelSpec,
    scenario: Scenario,
    params: Mapping[str, float],
    inputs: Mapping[str, float],
    variables: Sequence[str],
    times: np.ndarray,
) -> np.ndarray:
    """Simulate one arm of ``scenario``: a (times × variables) array.

    The backend interface, the same as :func:`secretome.libroadrunner.run_arm`
    (see there for the parameters): the context's table values, then ``params``,
    then the arm's ``inputs``, integrated between medium changes.

    Raises
    ------
    SimulationFailed
        If the integrator fails, stalls or blows up, or a value is not finite.
    """
    cm = compile_model(spec.sbml)
    context = _context_vector(cm, spec, scenario.cell_line, scenario.msc_source)
    p = cm.parameter_vector({**params, **inputs}, context)
    y = cm.initial(p)
    reset = model.medium_reset_values(spec)
    medium = [cm.species.index(name) for name in reset]
    pieces = []
    for k, seg, keep in segments(scenario, times):
        if k > 0:  # fresh medium: cytokines back to control
            y = y.copy()
            y[medium] = list(reset.values())
        try:
            out = cm.integrate(p, seg[0], y, seg, model.RTOL, model.ATOL)
        except IntegrationError as exc:
            raise SimulationFailed(f"integration failed in {scenario.name}: {exc}") from None
        pieces.append(out[keep])
        y = out[-1]
    states = np.vstack(pieces)  # one row per output time
    species, rules, parameters = _columns(cm, tuple(variables))
    block = np.empty((times.size, len(variables)))
    if species[0].size:
        block[:, species[0]] = states[:, species[1]]
    if rules[0].size:
        block[:, rules[0]] = cm.observe(times, states, p)[:, rules[1]]
    if parameters[0].size:
        block[:, parameters[0]] = p[parameters[1]]
    if not np.isfinite(block).all():
        raise SimulationFailed(f"non-finite values in {scenario.name}")
    return block


__all__ = [
    "MAX_STEPS",
    "CompiledModel",
    "IntegrationError",
    "build_module",
    "cache_dir",
    "compile_model",
    "run_arm",
]
