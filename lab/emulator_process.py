"""Run the Graph emulator as a background process and stop it again by pid.

``start`` launches ``python -m lab.graph_emulator`` in its own session (so a terminal's
Ctrl-C or the end of ``make`` does not take it down), waits until it has written
``<state_dir>/graph/server.json`` with its own pid, and returns those facts. ``stop`` sends
SIGTERM (the emulator saves the tenant on the way out), then SIGKILL after a grace period.
Both are used by ``python -m lab`` and by test sessions that need a private emulator.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parent.parent
START_TIMEOUT = 20.0


class EmulatorError(RuntimeError):
    pass


def server_file(state_dir: pathlib.Path) -> pathlib.Path:
    return pathlib.Path(state_dir) / "graph" / "server.json"


def is_emulator(pid: int) -> bool:
    """True when ``pid`` is a live Graph emulator; a recycled pid must never be killed."""
    try:
        cmdline = pathlib.Path("/proc/%d/cmdline" % pid).read_bytes().split(b"\0")
    except OSError:
        return False
    return b"lab.graph_emulator" in cmdline


def running(state_dir: pathlib.Path) -> dict | None:
    """The facts of the emulator serving ``state_dir``, or None when none runs."""
    try:
        facts = json.loads(server_file(state_dir).read_text())
    except (OSError, ValueError):
        return None
    return facts if is_emulator(int(facts.get("graph_pid") or 0)) else None


def start(state_dir: pathlib.Path, port: int = 0, options: dict | None = None) -> dict:
    """Start an emulator on ``port`` (0: a free one) unless one already serves ``state_dir``."""
    state_dir = pathlib.Path(state_dir).resolve()
    current = running(state_dir)
    if current:
        return current
    graph_dir = state_dir / "graph"
    graph_dir.mkdir(parents=True, exist_ok=True)
    server_file(state_dir).unlink(missing_ok=True)
    command = [sys.executable, "-m", "lab.graph_emulator", "--state-dir", str(state_dir), "--port", str(port)]
    for name, value in (options or {}).items():
        command += ["--option", "%s=%s" % (name, json.dumps(value))]
    log_path = graph_dir / "emulator.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(command, cwd=REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                   start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        facts = running(state_dir)
        if facts and facts["graph_pid"] == process.pid:
            return facts
        if process.poll() is not None:
            raise EmulatorError("the Graph emulator exited with status %s before listening; see %s:\n%s"
                                % (process.returncode, log_path, _tail(log_path)))
        time.sleep(0.05)
    process.kill()
    raise EmulatorError("the Graph emulator did not listen within %.0f s; see %s" % (START_TIMEOUT, log_path))


def stop(state_dir: pathlib.Path, grace: float = 10.0) -> int | None:
    """Stop the emulator serving ``state_dir``; the pid stopped, or None when none ran."""
    facts = running(state_dir)
    if not facts:
        server_file(state_dir).unlink(missing_ok=True)
        return None
    pid = int(facts["graph_pid"])
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and is_emulator(pid):
        _reap(pid)
        time.sleep(0.05)
    if is_emulator(pid):
        os.kill(pid, signal.SIGKILL)
        while is_emulator(pid):
            _reap(pid)
            time.sleep(0.05)
    server_file(state_dir).unlink(missing_ok=True)
    return pid


def _reap(pid: int) -> None:
    # When this process started the emulator, it stays a zombie (still in /proc) until waited for.
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def _tail(path: pathlib.Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
