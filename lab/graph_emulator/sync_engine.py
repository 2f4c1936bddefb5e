"""The emulator's link to the sync simulator (``lab/sync_simulator``): where the AD is, the
connector space, and the cycles run by ``POST /_lab/sync`` and the Cloud Sync job endpoints.

The AD's connection facts (``ldap_server``, ``ldaps_port``, ``base_dn``, ``bind_dn``,
``bind_password``, ``ldap_ca_path``, and optionally ``scope``: the OUs to read, as Connect's
OU filtering does) are registered with ``PUT /_lab/ad`` (``python -m lab up`` does it) and kept
in ``ad.json`` beside the tenant.
"""

from __future__ import annotations

import json
import os
import pathlib

from lab.sync_simulator import connector_space, cycle

AD_KEYS = ("ldap_server", "ldaps_port", "base_dn", "bind_dn", "bind_password", "ldap_ca_path")


class SyncEngine:
    def __init__(self, tenant, graph_dir: pathlib.Path | None):
        self.tenant = tenant
        self.ad_path = graph_dir / "ad.json" if graph_dir else None
        self.space = connector_space.ConnectorSpace(graph_dir / "connector_space.json" if graph_dir else None)
        self.ad: dict | None = None
        self.last_result: dict | None = None
        if self.ad_path and self.ad_path.exists():
            self.ad = json.loads(self.ad_path.read_text())

    def register_ad(self, facts: dict) -> dict:
        missing = [key for key in AD_KEYS if not facts.get(key)]
        if missing:
            raise ValueError("AD facts: missing %s" % ", ".join(missing))
        scope = facts.get("scope")
        if scope is not None and (not isinstance(scope, list) or not all(isinstance(d, str) and d for d in scope)):
            raise ValueError("AD facts: scope must be a list of DNs (the OUs the sync reads)")
        self.ad = {key: facts[key] for key in AD_KEYS}
        if scope:
            self.ad["scope"] = scope
        if self.ad_path:
            descriptor = os.open(self.ad_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                json.dump(self.ad, handle, indent=1)
        return {key: ("********" if key == "bind_password" else value) for key, value in self.ad.items()}

    def forget_ad(self) -> None:
        """No AD any more: scheduled cycles then fail with "no AD registered" and touch nothing."""
        self.ad = None
        if self.ad_path and self.ad_path.exists():
            self.ad_path.unlink()

    def run(self, scope=None, only=None, profile="Delta") -> dict:
        if not self.ad:
            raise ValueError("no AD registered: PUT /_lab/ad with the DC's facts (python -m lab up does it)")
        if profile == "Initial":
            self.space.clear()  # a full import forgets nothing in AD, but re-evaluates every join
        result = cycle.run(self.tenant, self.space, self.ad, scope_dns=scope or self.ad.get("scope"), only=only,
                           profile=profile)
        self.last_result = result
        return result

    def reset(self) -> None:
        self.space.clear()

    # Cloud Sync job endpoints (synchronization.py) call this.
    def __call__(self, event, tenant, service_principal, job, payload):
        if not self.ad:
            return None
        if event == "start":
            result = self.run()
            self.last_result = result
            # synchronizationTaskExecution: state is Succeeded, Failed or EntryLevelErrors.
            return {"countExported": result["counts"]["provisioned"] + result["counts"]["joined"]
                    + result["counts"]["updated"] + result["counts"]["deleted"],
                    "countImported": result["counts"]["read"],
                    "state": "Succeeded" if result["result"] == "success" else "EntryLevelErrors",
                    "error": None if result["result"] == "success" else {
                        "code": "ExportErrors", "message": "%d objects failed to export" %
                        result["counts"]["export_errors"], "tenantActionable": True}}
        if event == "provisionOnDemand":
            try:
                result = self.run(only=payload["objectId"])
            except LookupError as missing:
                return {"status": "Failure", "error": str(missing)}
            failed = [e for e in result["errors"] if e["error"] != "DuplicateAttributeQuarantined"]
            return {"status": "Failure" if failed else "Success", "runResult": result}
        return None
