"""The sync simulator without a DC: AD users built in Python, a tenant in memory, cycles through
``cycle.apply`` (the same function the LDAP-reading cycle calls). For rule tests and for
comparing a prediction with what the engine does, thousands of times a second.

    world = World({"features": {"blockSoftMatchEnabled": True}, "users": [...]})
    result = world.sync(ad_user("vp"))
"""

from __future__ import annotations

import time
import uuid

from lab.graph_emulator.tenant import Tenant, default_state

from . import connector_space, cycle
from .ad_source import AdUser

DOMAINS = [{"id": "contoso.onmicrosoft.com", "isInitial": True}, {"id": "contoso.com"}]


def ad_user(sam, primary=None, upn=None, aliases=(), guid=None, consistency=None, admin_description=None,
            usn=None) -> AdUser:
    """An AD user as the connector reads it; ``primary`` defaults to ``<sam>@contoso.com``."""
    primary = primary if primary is not None else "%s@contoso.com" % sam
    guid = guid or uuid.uuid4()
    proxies = (["SMTP:" + primary] if primary else []) + ["smtp:" + a for a in aliases]
    return AdUser(dn="CN=%s,OU=Staff,DC=contoso,DC=test" % sam, guid=guid,
                  consistency_guid=consistency.bytes_le if consistency else guid.bytes_le,
                  sam=sam, upn=upn or "%s@contoso.com" % sam, mail=primary or None, mail_nickname=sam,
                  proxy_addresses=proxies, display_name=sam.title(), given_name=None, surname=None, enabled=True,
                  usn_created=usn or int(time.monotonic_ns() % 10**12), sid=None,
                  admin_description=admin_description)


class World:
    """A tenant document, a connector space and the cycle between them and some AD users."""

    def __init__(self, tenant=None, now=None):
        self.now = now or time.time()
        document = dict(default_state(), domains=DOMAINS)
        document.update(tenant or {})
        self.tenant = Tenant("11111111-2222-3333-4444-555555555555", None, lambda: self.now)
        self.tenant.load(document, save=False)
        self.space = connector_space.ConnectorSpace(None)

    def sync(self, *users, profile="Delta"):
        return cycle.apply(self.tenant, self.space, list(users), profile=profile)

    def users(self, deleted=False):
        return {u["userPrincipalName"]: u for u in self.tenant.state["users"]
                if bool(u.get("deletedDateTime")) == deleted}

    def user(self, upn):
        return next(u for u in self.tenant.state["users"] if u["userPrincipalName"] == upn)


def scenario_world(data: dict, now=None) -> tuple[World, list]:
    """A scenario file's two sides, in memory: (the world, its AD users in creation order)."""
    from lab.scenario import tenant_side  # the loader's own reading of the tenant side

    world = World(tenant_side.tenant_state(data), now=now)
    users = []
    for index, user in enumerate((data.get("ad") or {}).get("users") or []):
        primary = next((p[5:] for p in user.get("proxyAddresses") or [] if p.startswith("SMTP:")), "")
        built = ad_user(user["sAMAccountName"], primary=primary, upn=user.get("userPrincipalName"),
                        consistency=uuid.UUID(user["msDSConsistencyGuid"]) if user.get("msDSConsistencyGuid") else None,
                        admin_description=user.get("adminDescription"), usn=index + 1)
        built.proxy_addresses = list(user.get("proxyAddresses") or [])
        built.mail, built.display_name = user.get("mail"), user.get("displayName")
        built.mail_nickname = user.get("mailNickname")
        built.enabled = user.get("enabled", True)
        users.append(built)
    return world, users
