"""Ctrl-C and SIGTERM land between compiled calls, never inside one.

Regression: SIGTERM to `secretome profile` in a fresh clone's CI run arrived while
the Numba integrator was running, and the handler's KeyboardInterrupt came back as
``SystemError: CPUDispatcher(...) returned a result with an exception set``: a
traceback and exit 1 instead of "interrupted" and exit 130. Raised from a plain
handler, a signal at a random moment of an integration gave a SystemError in about
60 % of 400 tries on this model.
"""

from __future__ import annotations

import signal
import time

import numpy as np
import pytest

from secretome import compiled, interrupts, model

pytestmark = pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs setitimer")


@pytest.fixture(scope="module")
def week():
    cm = compiled.compile_model(model.load_model().sbml)
    p = cm.parameter_vector({})
    return cm, p, cm.initial(p), np.linspace(0.0, 168.0, 5)


def test_a_signal_during_a_compiled_call_becomes_a_keyboard_interrupt(week):
    cm, p, y0, t = week
    start = time.perf_counter()
    cm.integrate(p, 0.0, y0, t, model.RTOL, model.ATOL)
    duration = time.perf_counter() - start
    rng = np.random.default_rng(0)
    raised = []
    with interrupts.stop_on_signals((signal.SIGALRM,)):
        for _ in range(100):
            try:
                # one alarm at a random moment of the call (or just after it)
                signal.setitimer(signal.ITIMER_REAL, rng.uniform(1e-5, duration))
                cm.integrate(p, 0.0, y0, t, model.RTOL, model.ATOL)
                time.sleep(60)  # a late alarm (due within `duration`) ends this at once
            except KeyboardInterrupt as exc:
                raised.append(type(exc))
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    assert raised == [KeyboardInterrupt] * 100  # every alarm; no SystemError escaped
    assert interrupts._pending is None and interrupts._depth == 0


def test_the_previous_handlers_come_back():
    before = signal.getsignal(signal.SIGALRM)
    with interrupts.stop_on_signals((signal.SIGALRM,)):
        assert signal.getsignal(signal.SIGALRM) is interrupts.handler
    assert signal.getsignal(signal.SIGALRM) is before


def test_a_signal_outside_compiled_code_raises_at_once():
    with interrupts.stop_on_signals((signal.SIGALRM,)):
        with pytest.raises(KeyboardInterrupt):
            signal.setitimer(signal.ITIMER_REAL, 0.001)
            time.sleep(5)  # interrupted long before this ends


def test_a_held_signal_is_raised_when_the_block_ends():
    with interrupts.stop_on_signals((signal.SIGALRM,)):
        with pytest.raises(KeyboardInterrupt):
            with interrupts.deferred():
                signal.setitimer(signal.ITIMER_REAL, 0.001)
                time.sleep(0.05)  # the alarm arrives here and is held
                held = interrupts._pending
        assert held == signal.SIGALRM
