"""Named steps a write passes through, for whoever listens.

Loads announce their progress here (``step("signins inserted")``): the transaction's begin
and commit, a batch opened and closed, the rows of each table written, the marts rebuilt,
the read copy published. Nothing listens in normal use, and a step then costs one function
call. The crash tests listen: in a forked child that already holds the imports, a listener
kills the process with SIGKILL at a chosen step (or a chosen delay after it), so every kill
lands inside the load (``tests/test_crash.py``).
"""

from __future__ import annotations

from collections.abc import Callable

_listeners: list[Callable[[str], None]] = []


def on_step(listener: Callable[[str], None]) -> Callable[[], None]:
    """Call ``listener(name)`` at every step from now on; returns a function that stops it."""
    _listeners.append(listener)

    def stop() -> None:
        if listener in _listeners:
            _listeners.remove(listener)

    return stop


def step(name: str) -> None:
    """A write reached the step ``name`` (tells the listeners, if any)."""
    for listener in list(_listeners):
        listener(name)
