"""The lab's real Active Directory: a Samba AD DC bound to 127.0.0.1, with its own CA.

API for the lab CLI (all take the lab state folder, e.g. ``lab/.state``)::

    install_packages()        # apt-get the Samba packages when missing (root)
    up(state_dir) -> dict     # provision or restore, start, wait for LDAPS; the facts
    down(state_dir) -> dict   # stop by pid: TERM, wait, KILL
    reset(state_dir) -> dict  # back to the pristine snapshot, started; the facts
    status(state_dir) -> dict
    with lease(state_dir, exclusive=False) as facts:   # for test sessions sharing the DC

Suites that use the DC side by side should take a lease rather than call up/down: the DC is
stopped when the last lease ends if a lease started it, and an exclusive lease (needed to
stop, restart or reset it) waits for the others.

Standalone: ``python -m lab.samba_dc up|down|reset|status [--state-dir DIR]``.
"""

from .sharing import lease
from .lifecycle import down, facts, reset, status, up
from .packages import install_packages
from .settings import DcPaths, DcSettings

__all__ = ["DcPaths", "DcSettings", "down", "facts", "install_packages", "lease", "reset", "status", "up"]
