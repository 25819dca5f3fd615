"""A test stuck for good ends its process, with every thread's stack.

pytest-timeout's methods both need Python to run in the test's process: the signal method
raises from the main thread's next bytecode, the thread method dumps the stacks and exits
from a Python thread, which needs the GIL. A thread stuck in native code while holding
the GIL (the CI hang of a dialect test, where dropping a connection waited for a thread
that needed the GIL) stops both, and the run then hangs until CI's own limit.

``faulthandler``'s watchdog is a C thread that needs no GIL. Armed for each test
:data:`MARGIN` seconds after pytest-timeout's timeout for that test (its ``timeout``
marker, else ``--timeout``, else the ``timeout`` ini option; none or 0: not armed), it
writes every thread's Python stack to the process's stderr and ends the process with
status 1; pytest-xdist then reports the crashed worker (and the test it was running) and
starts a new one. The ini option ``dqlite_exit_timeout`` sets the delay instead (0: off).
It takes ``faulthandler``'s one timer: leave pytest's ``faulthandler_timeout`` unset.
"""

from __future__ import annotations

import faulthandler
import os
import sys
from collections.abc import Generator

import pytest

MARGIN = 30.0
"""Seconds past pytest-timeout's timeout: what pytest-timeout can end, it ends first."""

_STDERR = pytest.StashKey[int]()
"""A copy of the process's stderr, made before pytest captures it."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "dqlite_exit_timeout",
        "seconds after which a test still running ends its process, with every thread's "
        f"stack (0: never; default: pytest-timeout's timeout plus {MARGIN:g})",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    stderr = sys.__stderr__.fileno() if sys.__stderr__ is not None else 2
    config.stash[_STDERR] = os.dup(stderr)


def pytest_unconfigure(config: pytest.Config) -> None:
    fd = config.stash.get(_STDERR, None)
    if fd is not None:
        faulthandler.cancel_dump_traceback_later()
        os.close(fd)
        del config.stash[_STDERR]


def _seconds(value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0


def exit_timeout(item: pytest.Item) -> float:
    """Seconds after which ``item``, still running, ends its process (0: never)."""
    configured = str(item.config.getini("dqlite_exit_timeout")).strip()
    if configured:
        return _seconds(configured)
    marker = item.get_closest_marker("timeout")
    if marker is not None and (marker.args or "timeout" in marker.kwargs):
        timeout = _seconds(marker.args[0] if marker.args else marker.kwargs["timeout"])
    else:
        timeout = _seconds(item.config.getoption("timeout", None))
        if timeout <= 0:
            try:
                timeout = _seconds(item.config.getini("timeout"))
            except ValueError:  # pytest-timeout is not installed
                timeout = 0.0
    return timeout + MARGIN if timeout > 0 else 0.0


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, object, object]:
    fd = item.config.stash.get(_STDERR, None)
    seconds = exit_timeout(item)
    if fd is None or seconds <= 0:
        return (yield)
    faulthandler.dump_traceback_later(seconds, exit=True, file=fd)
    try:
        return (yield)
    finally:
        faulthandler.cancel_dump_traceback_later()
