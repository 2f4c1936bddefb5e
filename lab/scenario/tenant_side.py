"""A scenario's tenant side as the Graph emulator's tenant-state document.

The scenario already uses Graph's property names. Its ``world`` sets Duplicate Attribute
Resiliency's two switches (on for ``resiliency``, off for ``strict``). The one addition is ``deletedDaysAgo`` on
a cloud user. Entra purges a soft-deleted user after 30 days, so a fixed ``deletedDateTime``
would stop describing a recycle-bin user a month after it was written. ``deletedDaysAgo`` is
turned into a date relative to the moment of loading.
"""

from __future__ import annotations

import copy
import datetime


def tenant_state(scenario: dict, now: datetime.datetime | None = None) -> dict:
    now = now or datetime.datetime.now(datetime.timezone.utc)
    tenant = copy.deepcopy(scenario.get("tenant") or {})
    features = tenant.setdefault("features", {})
    for name in ("quarantineUponProxyAddressesConflictEnabled", "quarantineUponUpnConflictEnabled"):
        features.setdefault(name, scenario.get("world", "resiliency") == "resiliency")
    for user in tenant.get("users") or []:
        days = user.pop("deletedDaysAgo", None)
        if days is not None:
            user["deletedDateTime"] = (now - datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return tenant
