"""Start and stop the ``samba`` daemon of one DC tree, and wait until LDAPS answers.

``samba -D`` daemonises into its own session and forks its service tasks (ldap, kdc, cldap,
prefork workers) into that session; their command lines are rewritten ("samba: task[ldap]"),
so the session id — the master's pid from the pid file — is what ties them to this DC.
Stopping: TERM the master, wait, then KILL whatever of the session is left.
"""

from __future__ import annotations

import errno
import os
import pathlib
import signal
import socket
import ssl
import subprocess
import time

from .settings import DcPaths


def read_pid(paths: DcPaths) -> int | None:
    try:
        return int(paths.pid_file.read_text().split()[0])
    except (FileNotFoundError, ValueError, IndexError):
        return None


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = pathlib.Path("/proc/%d/stat" % pid).read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) is in parentheses and may hold spaces.
    return raw[raw.rindex(")") + 2:].split()


def is_samba(pid: int) -> bool:
    """True when ``pid`` is a live (not zombie) process whose executable is samba."""
    fields = _stat_fields(pid)
    if fields is None or fields[0] == "Z":
        return False
    try:
        exe = os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return False
    return os.path.basename(exe).split(" ")[0] == "samba"


def running_pid(paths: DcPaths) -> int | None:
    """The master's pid when this DC's samba is running, else None."""
    pid = read_pid(paths)
    return pid if pid is not None and is_samba(pid) else None


def session_members(session_id: int) -> list[int]:
    """Every live process in session ``session_id`` (the master and its task processes)."""
    members = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        # After the command name: state, ppid, pgrp, session.
        if fields is not None and fields[0] != "Z" and int(fields[3]) == session_id:
            members.append(int(entry.name))
    return members


def masters_using(tree: pathlib.Path) -> list[int]:
    """Samba masters (session leaders) holding files under ``tree`` open, even deleted ones.

    The fallback when the pid file is gone (tree removed or restored under a running DC).
    """
    prefix = str(tree) + "/"
    masters = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        pid = int(entry.name)
        fields = _stat_fields(pid)
        if fields is None or int(fields[3]) != pid or not is_samba(pid):
            continue
        try:
            targets = [os.readlink(fd) for fd in (entry / "fd").iterdir()]
        except OSError:
            continue
        if any(target.startswith(prefix) for target in targets):
            masters.append(pid)
    return masters


def port_in_use(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
        except OSError as error:
            if error.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def who_listens(ports) -> str:
    """``ss`` lines for sockets on ``ports``: what to stop when a port is taken."""
    wanted = {":%d" % port for port in ports}
    result = subprocess.run(["ss", "-Htanup"], capture_output=True, text=True, check=False)
    lines = [line for line in result.stdout.splitlines()
             if any(len(line.split()) > 4 and line.split()[4].endswith(suffix) for suffix in wanted)]
    return "\n".join(lines)


def start(paths: DcPaths) -> int:
    """Start samba as a daemon on this tree and return the master's pid."""
    paths.pid_file.unlink(missing_ok=True)
    result = subprocess.run(
        ["samba", "--configfile=%s" % paths.smb_conf, "--log-basename=%s" % paths.log_file.parent, "-D"],
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(
            "samba failed to start (exit %d): %s; see %s"
            % (result.returncode, (result.stderr or result.stdout).strip(), paths.log_file)
        )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        pid = running_pid(paths)
        if pid is not None:
            return pid
        time.sleep(0.05)
    raise RuntimeError("samba wrote no pid file at %s within 10 s; see %s" % (paths.pid_file, paths.log_file))


def wait_ldaps(address: str, port: int, ca_path: pathlib.Path, pid: int, timeout: float = 30.0) -> float:
    """Wait until a TLS handshake that validates the server certificate succeeds on ``port``.

    Returns the seconds waited. Fails early when the daemon dies.
    """
    context = ssl.create_default_context(cafile=str(ca_path))
    started = time.monotonic()
    last_error: Exception | None = None
    while time.monotonic() - started < timeout:
        if not is_samba(pid):
            raise RuntimeError("samba (pid %d) exited while starting" % pid)
        try:
            with socket.create_connection((address, port), timeout=2) as raw:
                with context.wrap_socket(raw, server_hostname=address):
                    return time.monotonic() - started
        except (OSError, ssl.SSLError) as error:
            last_error = error
            time.sleep(0.1)
    raise TimeoutError("LDAPS on %s:%d not ready after %.0f s: %s" % (address, port, timeout, last_error))


def stop(pid: int, grace: float = 10.0) -> None:
    """TERM the master, wait up to ``grace`` seconds for its session to go, then KILL the rest."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not session_members(pid):
            return
        time.sleep(0.05)
    for member in session_members(pid):
        try:
            os.kill(member, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 5
    while session_members(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = session_members(pid)
    if left:
        raise RuntimeError("samba processes %s survived SIGKILL" % left)
