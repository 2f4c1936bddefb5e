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


def samba_lease():
    """``with samba_lease() as facts``: the DC is up, and no other session stops or resets it
    meanwhile; it is stopped at the end only if a lease started it (``make lab-up`` keeps it)."""
    from lab import samba_dc

    samba_dc.install_packages()
    return samba_dc.lease(STATE_DIR)


def unique_ou(base_dn):
    return "OU=it-%s,%s" % (uuid.uuid4().hex[:8], base_dn)


def import_collection_from_checkout():
    """Make ``ansible_collections.syncfix.entra`` importable from this checkout (for adapter tests)."""
    root = REPO / "build" / "unit-collections"
    link = root / "ansible_collections" / "syncfix" / "entra"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO)
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
