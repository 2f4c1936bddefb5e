"""Writing an AD user's state into the tenant: a new synced user, a join, or the attribute flow
of a user joined earlier, with Duplicate Attribute Resiliency.

"Identity synchronization and duplicate attribute resiliency": UPN and SMTP proxy addresses
are unique across users, groups and contacts. Instead of failing, a duplicate value is
quarantined: the proxy address is left out; the UPN becomes ``<prefix><4 digits>@<initial
domain>``. The conflict is recorded in ``onPremisesProvisioningErrors`` (PropertyConflict).
Documented exception: a user's ``smtp:`` value against a group's primary ``SMTP:`` still fails
the export.

Each switch is a Graph feature: ``quarantineUponProxyAddressesConflictEnabled`` and
``quarantineUponUpnConflictEnabled`` (on in every tenant: "Once Duplicate Attribute Resiliency
has been turned on it cannot be disabled"). Off, a duplicate fails the export with
AttributeValueMustBeUnique ("Understanding errors during Microsoft Entra synchronization"):
the world of the seed stories, kept reachable for scenarios that state it.

The lab's own model, stated here because the documentation doesn't spell it out:
- ``lab.softDeletedMailboxReservesAddresses`` (on by default; the seed articles' claim, no
  Microsoft page): a soft-deleted user with a mailbox keeps its SMTP addresses reserved in
  Exchange, where the directory's resiliency doesn't reach, so a new holder fails the export
  with AttributeValueMustBeUnique until the user is purged.
- A UPN whose suffix isn't a verified domain of the tenant is replaced with the initial
  onmicrosoft.com domain ("Prepare a non-routable domain for directory synchronization").
- The resiliency page's hourly timer, which releases a quarantined value once its conflict is
  gone, is modelled as the next cycle's attribute flow: every cycle recomputes the values.
"""

from __future__ import annotations

import uuid

from lab.graph_emulator.tenant import now_iso, smtp_addresses

from . import cloud_index
from .cloud_index import USERS
from .matching import features, primary_smtp


class ExportError(Exception):
    def __init__(self, error: str, attribute: str, value: str, holder: dict | None, detail: str):
        super().__init__(detail)
        self.error, self.attribute, self.value, self.holder, self.detail = error, attribute, value, holder, detail


def _initial_domain(state) -> str:
    return next(d["id"] for d in state["domains"] if d.get("isInitial"))


def _address_holder(state, address, exclude_id):
    reserves = (state.get("lab") or {}).get("softDeletedMailboxReservesAddresses", True)

    def holds(obj):
        if obj["id"] == exclude_id:
            return False
        if obj.get("deletedDateTime") and not (obj.get("mailbox") and reserves):
            return False  # a soft-deleted user holds no address, unless its mailbox reserves them
        return address in smtp_addresses(obj)

    index = cloud_index.active(state)
    if index is not None:
        return index.first("address", address, holds)
    return next((obj for obj in state["users"] + state["groups"] + state["contacts"] if holds(obj)), None)


def _must_fail(holder, state, proxy) -> bool:
    """The duplicates resiliency does not quarantine."""
    if holder.get("deletedDateTime"):
        return True  # the lab's assumption: the soft-deleted mailbox's reservation
    # The resiliency page's known issue: a new user's "ProxyAddress smtp:Joe@contoso.com" against
    # an existing group's "SMTP:Joe@contoso.com" still throws the export error.
    prefix, _, address = proxy.partition(":")
    return prefix == "smtp" and holder in state["groups"] and primary_smtp(holder) == address.lower()


def resolve_addresses(user, state, exclude_id):
    """(kept proxy addresses, kept mail, quarantined values); raises ExportError when a
    duplicate fails the export."""
    resilient = features(state)["quarantineUponProxyAddressesConflictEnabled"]
    kept, quarantined = [], []
    values = list(user.proxy_addresses)
    if user.mail and not any(p.lower() == "smtp:" + user.mail.lower() for p in values):
        values.append("smtp:" + user.mail)  # mail is an address the object holds too
    for proxy in values:
        prefix, _, address = proxy.partition(":")
        if prefix.lower() != "smtp":
            kept.append(proxy)
            continue
        holder = _address_holder(state, address.lower(), exclude_id)
        if holder is None:
            if proxy in user.proxy_addresses:
                kept.append(proxy)
            continue
        if not resilient or _must_fail(holder, state, proxy):
            raise ExportError("AttributeValueMustBeUnique", "proxyAddresses", proxy, holder,
                              "%s is already held by %s" % (address, _describe(holder, state)))
        quarantined.append(("ProxyAddress", proxy))
    mail = user.mail
    if mail and any(v.lower() == "smtp:" + mail.lower() for _, v in quarantined):
        mail = None
    return kept, mail, quarantined


def _describe(holder, state) -> str:
    """``cloud user vp@contoso.com (soft-deleted, id ...)``: what an admin must look for."""
    kind = "group" if holder in state["groups"] else "contact" if holder in state["contacts"] else "user"
    name = holder.get("userPrincipalName") or holder.get("displayName")
    deleted = "soft-deleted, " if holder.get("deletedDateTime") else ""
    return "cloud %s %s (%sid %s)" % (kind, name, deleted, holder.get("id"))


def resolve_upn(user, state, exclude_id):
    """(cloud UPN, quarantined values)."""
    initial = _initial_domain(state)
    upn = user.upn or "%s@%s" % (user.sam, initial)
    prefix, _, suffix = upn.rpartition("@")
    if not any(d["id"].lower() == suffix.lower() and d.get("isVerified", True) for d in state["domains"]):
        upn = "%s@%s" % (prefix, initial)
    def holds(u):
        return not u.get("deletedDateTime") and u["id"] != exclude_id and u["userPrincipalName"].lower() == upn.lower()

    index = cloud_index.active(state)
    holder = index.first("upn", upn.lower(), holds, (USERS,)) if index is not None else next(
        (u for u in state["users"] if holds(u)), None)
    if holder is None:
        return upn, []
    if not features(state)["quarantineUponUpnConflictEnabled"]:
        raise ExportError("AttributeValueMustBeUnique", "userPrincipalName", upn, holder,
                          "%s is already held by %s" % (upn, _describe(holder, state)))
    digits = int(uuid.uuid5(uuid.NAMESPACE_URL, str(user.guid)).int % 10000)
    return "%s%04d@%s" % (prefix, digits, initial), [("UserPrincipalName", upn)]


def _provisioning_errors(quarantined, now):
    return [{"category": "PropertyConflict", "propertyCausingError": prop, "value": value,
             "occurredDateTime": now_iso(now)} for prop, value in quarantined]


def synced_properties(user, state, exclude_id, now) -> tuple[dict, list]:
    """The cloud properties an AD user flows to, and the values quarantined."""
    # Addresses first: where both fail the export, the address is the error reported.
    proxies, mail, quarantined = resolve_addresses(user, state, exclude_id)
    upn, upn_quarantined = resolve_upn(user, state, exclude_id)
    quarantined = upn_quarantined + quarantined
    properties = {
        "userPrincipalName": upn, "displayName": user.display_name or user.sam, "givenName": user.given_name,
        "surname": user.surname, "mail": mail, "mailNickname": user.mail_nickname or user.sam,
        "proxyAddresses": proxies, "accountEnabled": user.enabled,
        "onPremisesImmutableId": user.anchor, "onPremisesSyncEnabled": True,
        "onPremisesLastSyncDateTime": now_iso(now), "onPremisesDistinguishedName": user.dn,
        "onPremisesSamAccountName": user.sam, "onPremisesUserPrincipalName": user.upn,
        "onPremisesSecurityIdentifier": user.sid, "onPremisesObjectIdentifier": str(user.guid),
        "onPremisesProvisioningErrors": _provisioning_errors(quarantined, now),
    }
    return properties, quarantined


def provision(user, state, now) -> tuple[dict, list]:
    properties, quarantined = synced_properties(user, state, None, now)
    cloud = dict(properties, id=str(uuid.uuid4()), createdDateTime=now_iso(now), userType="Member",
                 mailbox=False, licenses=[], roles=[])
    state["users"].append(cloud)
    _refile(state, cloud)
    return cloud, quarantined


def update(user, cloud, state, now) -> tuple[bool, list]:
    """Flow the AD user onto its joined cloud user; (changed, quarantined). Addresses on the
    initial onmicrosoft.com domain stay: Exchange Online adds its routing address there."""
    properties, quarantined = synced_properties(user, state, cloud["id"], now)
    initial = _initial_domain(state).lower()
    routing = [p for p in cloud.get("proxyAddresses") or []
               if p.lower().startswith("smtp:") and p.lower().endswith("@" + initial)
               and p.lower() not in {q.lower() for q in properties["proxyAddresses"]}]
    properties["proxyAddresses"] = properties["proxyAddresses"] + routing
    earlier = {(e.get("propertyCausingError"), e.get("value")): e for e in cloud.get("onPremisesProvisioningErrors") or []}
    properties["onPremisesProvisioningErrors"] = [earlier.get((e["propertyCausingError"], e["value"]), e)
                                                  for e in properties["onPremisesProvisioningErrors"]]
    changed = any(cloud.get(k) != v for k, v in properties.items() if k != "onPremisesLastSyncDateTime")
    was_deleted = bool(cloud.pop("deletedDateTime", None))
    cloud.update(properties)
    _refile(state, cloud)
    return changed or was_deleted, quarantined


def _refile(state, cloud) -> None:
    index = cloud_index.active(state)
    if index is not None:
        index.note(cloud)


def soft_delete(cloud, now) -> None:
    """The AD object left the scope or was deleted: "The object representing Bob Smith in the
    cloud gets soft-deleted and its DirSyncEnabled attribute is switched to False" ("Understanding
    errors during Microsoft Entra synchronization", InvalidHardMatch). It keeps its immutable id."""
    cloud["deletedDateTime"] = now_iso(now)
    cloud["onPremisesSyncEnabled"] = False
