"""Ctrl-C and SIGTERM that never land inside compiled code.

Python runs a signal handler between two bytecodes of the main thread. Inside a
Numba function that calls back into the interpreter (to unpickle a constant,
for one) that moment can come while the compiled code owns half-built objects:
a handler that raises there leaves a ``SystemError`` ("returned a result with an
exception set") at best and a corrupted interpreter at worst. So the command
line installs :func:`handler` for SIGINT and SIGTERM (:func:`stop_on_signals`),
and ``secretome.compiled`` runs every compiled call inside :func:`deferred`: a
signal that arrives during one is held and raised as :class:`KeyboardInterrupt`
when the call returns (a simulation takes milliseconds). Outside compiled code
the handler raises at once, like Python's own Ctrl-C.

Only the main thread is guarded, because only the main thread runs handlers.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_depth = 0  # compiled calls under way in the main thread
_pending: int | None = None  # a signal held until they return


def handler(signum: int, frame: object) -> None:
    """Raise :class:`KeyboardInterrupt`, or hold it while the main thread is in compiled code."""
    global _pending
    if _depth:
        _pending = signum
        return
    raise KeyboardInterrupt


def enter() -> bool:
    """Mark a compiled call as under way; returns whether it is the main thread's."""
    global _depth
    if threading.current_thread() is not threading.main_thread():
        return False
    _depth += 1
    return True


def leave(entered: bool) -> None:
    """End a compiled call started by :func:`enter`; raise a signal held meanwhile."""
    global _depth, _pending
    if not entered:
        return
    _depth -= 1
    if _depth == 0 and _pending is not None:
        _pending = None
        raise KeyboardInterrupt


@contextmanager
def deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM (once :func:`stop_on_signals` is in force) until the block ends."""
    entered = enter()
    try:
        yield
    finally:
        leave(entered)


@contextmanager
def stop_on_signals(signals: tuple[int, ...] = (signal.SIGINT, signal.SIGTERM)) -> Iterator[None]:
    """Turn ``signals`` into :class:`KeyboardInterrupt` through :func:`handler` within the block.

    SIGTERM (a batch system's stop, ``kill PID``) then stops a command like
    Ctrl-C: finished work is on disk, workers are stopped. The previous handlers
    come back afterwards. Outside the main thread this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
