"""Run ansible against this checkout as the collection ``syncfix.entra``, with the lab's facts.

The benches, the demo and the end-to-end tests all drive ``ansible-playbook`` on the working
tree (no build, no install): a collection root under ``build/`` links to the checkout.
"""

from __future__ import annotations

import os
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parents[1]


def collections_root() -> pathlib.Path:
    """``build/unit-collections``, whose ``ansible_collections/syncfix/entra`` is this checkout."""
    root = REPO / "build" / "unit-collections"
    link = root / "ansible_collections" / "syncfix" / "entra"
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO)
    return root


def ansible_env(**extra) -> dict:
    """The environment for ansible-playbook: this checkout as the collection, this Python for modules."""
    return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections_root()), ANSIBLE_NOCOLOR="1",
                ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
                ANSIBLE_PYTHON_INTERPRETER=sys.executable, **extra)


def remediation_vars(dc: dict, graph: dict, service_principal: dict, **overrides) -> dict:
    """The remediation role's connection variables for the lab's DC and Graph emulator, its
    cycle run by the emulator's Cloud Sync job (``service_principal`` from the emulator state)."""
    variables = {
        "ad_server": ["%s:%s" % (dc["ldap_server"], dc["ldaps_port"])], "ad_bind_dn": dc["bind_dn"],
        "ad_bind_password": dc["bind_password"], "ad_ca_path": dc["ldap_ca_path"],
        "tenant_id": graph["tenant_id"], "client_id": graph["client_id"], "client_secret": graph["client_secret"],
        "graph_endpoint": graph["graph_endpoint"], "authority_host": graph["authority_host"],
        "allow_custom_authority": True,
        "graph_ca_path": graph["ca_path"],
        "remediation_sync_engine": "cloud_sync",
        "remediation_cycle_options": {"service_principal_id": service_principal["id"],
                                      "job_id": service_principal["synchronization"]["jobs"][0]["id"],
                                      "timeout": 60, "poll_interval": 1},
    }
    variables.update(overrides)
    return variables
