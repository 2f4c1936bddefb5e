"""The connector space: which AD object the engine has joined to which cloud user, and the
source anchor it was projected with. Matching is evaluated only for objects new to the engine
("Microsoft Entra Connect: When you have an existing tenant"), so the joins must survive
between cycles: kept in a JSON file beside the tenant.

Keyed by the AD object (its objectGUID, the AD connector's own anchor), not by the source
anchor: "Once an on-premises AD object is imported into Microsoft Entra Connect (that is,
imported into the AD Connector Space and projected into the Metaverse), you can't change its
sourceAnchor value anymore" ("Microsoft Entra Connect: Design concepts"). A rewritten
mS-DS-ConsistencyGuid therefore meets the remembered anchor, never a new match.
"""

from __future__ import annotations

import json
import os
import pathlib


class ConnectorSpace:
    def __init__(self, path: pathlib.Path | None):
        self.path = path
        self.joins: dict[str, dict] = {}
        if path and path.exists():
            joins = json.loads(path.read_text())
            # A file from before the joins carried their anchor (keyed by anchor) is forgotten.
            self.joins = {k: v for k, v in joins.items() if "anchor" in v}

    def get(self, guid) -> dict | None:
        return self.joins.get(str(guid).lower())

    def join(self, guid, cloud_id: str, dn: str, anchor: str) -> None:
        self.joins[str(guid).lower()] = {"cloud_id": cloud_id, "dn": dn, "anchor": anchor}

    def drop(self, guid) -> None:
        self.joins.pop(str(guid).lower(), None)

    def clear(self) -> None:
        self.joins = {}
        self.save()

    def save(self) -> None:
        if not self.path:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.joins, indent=1, sort_keys=True))
        os.replace(temporary, self.path)
