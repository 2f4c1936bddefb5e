"""Sharing one DC between test sessions that run at the same time.

Several suites use the lab's DC (this package's tests, the collection's integration tests,
later the scenario tests) and ``make test`` or a developer may run them side by side. A
*lease* says "I am using the DC": ordinary users hold a shared lock on ``lease.lock`` for their
whole session; a session that stops, restarts or resets the DC (the lifecycle tests, a
scenario run that resets) takes it exclusively and so waits for the others and they for it.

When the last lease ends, the DC is stopped if a lease started it. A DC started by a direct
``up()`` (``python -m lab up``) before the leases began is left running.
"""

from __future__ import annotations

import contextlib
import fcntl
import pathlib
import time

from . import lifecycle
from .settings import DcPaths, DcSettings


def _acquire(handle, mode: int, timeout: float, path: pathlib.Path) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(handle, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    "the lab Samba DC is held by another session (%s) for more than %.0f s"
                    % (path, timeout)
                ) from None
            time.sleep(0.2)


@contextlib.contextmanager
def lease(state_dir: pathlib.Path, exclusive: bool = False, timeout: float = 900.0,
          settings: DcSettings | None = None):
    """``with lease(state_dir) as facts:`` — the DC is up and nobody else stops or resets it.

    ``exclusive=True`` for callers that stop, restart or reset the DC themselves.
    """
    paths = DcPaths(pathlib.Path(state_dir).resolve())
    paths.root.mkdir(parents=True, exist_ok=True)
    lock_path = paths.root / "lease.lock"
    with open(lock_path, "a") as handle:
        _acquire(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH, timeout, lock_path)
        try:
            inherited = lifecycle.lease_started(paths)
            facts, started_here = lifecycle.up_for_lease(state_dir, settings)
            # Responsible for stopping it: this lease started the DC, or an earlier lease did
            # (its holder may have ended while this one waited, leaving the DC to us).
            responsible = started_here or inherited
            yield facts
        finally:
            # Stop only when no other lease holds the DC (an exclusive lock is free) and a lease
            # started it. Converting to exclusive first drops the shared lock, so two sessions
            # ending together cannot deadlock.
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                last = True
            except BlockingIOError:
                last = False
            if last and (responsible or lifecycle.lease_started(paths)):
                lifecycle.down(state_dir)
            fcntl.flock(handle, fcntl.LOCK_UN)
