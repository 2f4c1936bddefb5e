"""The cloud objects of one cycle, by the keys the engine looks them up by.

A cycle meets each AD user with a hard match (immutable id), a soft match (a mailbox user's
primary SMTP address, a group's or contact's address, the UPN), the joined user (object id)
and the export's uniqueness checks (every address, every UPN).  Scanning the tenant for each of
them makes a cycle over 10,000 users take hours; these lookups take the lab's time, not a rule
of Microsoft's.  They answer exactly what the scans answered: a key's entries only grow (an
object is filed again under its new keys when the export changes it), and a lookup re-checks
its condition on each object as it is now and picks the first in the tenant's order (users,
then groups, then contacts, each in list order).

``begin(state)`` files the objects at the start of a cycle and ``end(state)`` drops the index;
in between ``active(state)`` returns it, and the lookups in matching.py, export.py and cycle.py
use it.  Outside a cycle (an offline prediction) they scan, as before.
"""

from __future__ import annotations

from lab.graph_emulator.tenant import smtp_addresses

USERS, GROUPS, CONTACTS = 0, 1, 2
_ACTIVE: dict[int, "CloudIndex"] = {}


def primary_address(obj) -> str | None:
    """A cloud object's primary SMTP address: its ``SMTP:`` proxy address, else ``mail``."""
    for proxy in obj.get("proxyAddresses") or []:
        if proxy.startswith("SMTP:"):
            return proxy[5:].lower()
    return (obj.get("mail") or "").lower() or None


class CloudIndex:
    def __init__(self, state: dict):
        self.state = state
        self.rank: dict[int, tuple[int, int]] = {}
        self.entries: dict[tuple[str, object], list[dict]] = {}
        for kind, name in ((USERS, "users"), (GROUPS, "groups"), (CONTACTS, "contacts")):
            for position, obj in enumerate(state[name]):
                self.rank[id(obj)] = (kind, position)
                self._file(obj)

    def note(self, obj: dict) -> None:
        """File ``obj`` (a user just provisioned, or changed by the export) under its keys now."""
        if id(obj) not in self.rank:
            self.rank[id(obj)] = (USERS, len(self.state["users"]) - 1)
        self._file(obj)

    def _file(self, obj: dict) -> None:
        keys = [("id", obj.get("id")), ("anchor", obj.get("onPremisesImmutableId")),
                ("upn", (obj.get("userPrincipalName") or "").lower()), ("primary", primary_address(obj))]
        keys += [("address", address) for address in smtp_addresses(obj)]
        for key in keys:
            if key[1]:
                found = self.entries.setdefault(key, [])
                if not found or found[-1] is not obj:
                    found.append(obj)

    def first(self, key: str, value, test, kinds=(USERS, GROUPS, CONTACTS)):
        """The first object in the tenant's order filed under ``(key, value)`` that is of one of
        ``kinds`` and passes ``test`` as it is now, or None."""
        best = None
        for obj in self.entries.get((key, value), ()):
            rank = self.rank[id(obj)]
            if rank[0] in kinds and (best is None or rank < self.rank[id(best)]) and test(obj):
                best = obj
        return best


def begin(state: dict) -> CloudIndex:
    _ACTIVE[id(state)] = index = CloudIndex(state)
    return index


def end(state: dict) -> None:
    _ACTIVE.pop(id(state), None)


def active(state: dict) -> CloudIndex | None:
    index = _ACTIVE.get(id(state))
    return index if index is not None and index.state is state else None
