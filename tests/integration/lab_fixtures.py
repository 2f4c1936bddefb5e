"""The lab parts integration tests run against, started when they are not up and stopped
afterwards only if the test session started them."""

import os
import pathlib
import sys
import uuid

REPO = pathlib.Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

STATE_DIR = pathlib.Path(os.environ.get("LAB_STATE_DIR", REPO / "lab" / ".state"))
TREE_DELETE = "1.2.840.113556.1.4.805"


def start_samba():
    """(facts, started_here)."""
    from lab import samba_dc

    samba_dc.install_packages()
    was_running = samba_dc.status(STATE_DIR)["running"]
    return samba_dc.up(STATE_DIR), not was_running


def stop_samba():
    from lab import samba_dc

    samba_dc.down(STATE_DIR)


def unique_ou(base_dn):
    return "OU=it-%s,%s" % (uuid.uuid4().hex[:8], base_dn)
