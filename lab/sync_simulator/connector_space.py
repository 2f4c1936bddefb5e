"""The connector space: which AD user (by source anchor) the engine has joined to which cloud
user. Matching is evaluated only for objects new to the engine ("Microsoft Entra Connect:
When you have an existing tenant"), so the joins must survive between cycles: kept in a JSON
file beside the tenant."""

from __future__ import annotations

import json
import os
import pathlib


class ConnectorSpace:
    def __init__(self, path: pathlib.Path | None):
        self.path = path
        self.joins: dict[str, dict] = {}
        if path and path.exists():
            self.joins = json.loads(path.read_text())

    def get(self, anchor: str) -> dict | None:
        return self.joins.get(anchor)

    def join(self, anchor: str, cloud_id: str, dn: str) -> None:
        self.joins[anchor] = {"cloud_id": cloud_id, "dn": dn}

    def drop(self, anchor: str) -> None:
        self.joins.pop(anchor, None)

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
