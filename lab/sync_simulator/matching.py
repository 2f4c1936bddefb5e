"""What the engine does with an AD user new to it: hard match, soft match or provision.
Pure: it reads the tenant-state document and the tenant's features, and writes nothing.

Each rule is named after the behaviour Microsoft documents:
- "When you have an existing tenant": hard match on sourceAnchor = onPremisesImmutableId
  first; otherwise soft match on the primary SMTP address (and on the UPN when
  ``softMatchOnUpnEnabled``); otherwise a new cloud user. A hard match to a soft-deleted user
  restores it.
- Soft match is refused when the cloud user already has an immutable id (InvalidSoftMatch),
  when it holds an administrator role (the "existing admin role conflict"), and entirely when
  ``blockSoftMatchEnabled``. A match across object types is ObjectTypeMismatch.
- ``blockCloudObjectTakeoverThroughHardMatchEnabled``: no hard match to a cloud-managed user
  (InvalidHardMatch). From 2026-07-01 Entra also blocks a hard match to a user that has
  ``onPremisesObjectIdentifier`` set or holds or is eligible for a privileged role, soft-deleted
  or not ("Hard match operation blocked due to security hardening").
"""

from __future__ import annotations

import dataclasses

from lab.graph_emulator.tenant import DEFAULT_FEATURES, smtp_addresses

HARDENING_TEXT = "Hard match operation blocked due to security hardening"


@dataclasses.dataclass
class Decision:
    action: str                      # "hard", "soft-smtp", "soft-upn", "provision" or "error"
    target: dict | None = None       # the cloud object matched or in the way
    error: str | None = None         # the documented error name
    attribute: str | None = None
    value: str | None = None
    detail: str | None = None


def features(state: dict) -> dict:
    merged = dict(DEFAULT_FEATURES)
    merged.update(state.get("features") or {})
    return merged


def _kind(obj, state) -> str:
    if obj in state["groups"]:
        return "group"
    if obj in state["contacts"]:
        return "contact"
    return "user"


def hard_match(user, state: dict) -> Decision | None:
    """The cloud user whose onPremisesImmutableId equals the anchor, active or soft-deleted."""
    target = next((u for u in state["users"] if u.get("onPremisesImmutableId") == user.anchor), None)
    if target is None:
        return None
    flags = features(state)
    if flags["blockCloudObjectTakeoverThroughHardMatchEnabled"] and not target.get("onPremisesSyncEnabled"):
        return Decision("error", target, "InvalidHardMatch", "sourceAnchor", user.anchor,
                        "the tenant blocks hard match to cloud-managed objects "
                        "(blockCloudObjectTakeoverThroughHardMatchEnabled)")
    object_identifier = target.get("onPremisesObjectIdentifier")
    if object_identifier and object_identifier.lower() != str(user.guid).lower():
        return Decision("error", target, "HardMatchBlockedBySecurityHardening", "sourceAnchor", user.anchor,
                        "%s: the cloud user has onPremisesObjectIdentifier %s" % (HARDENING_TEXT, object_identifier))
    if target.get("roles"):
        return Decision("error", target, "HardMatchBlockedBySecurityHardening", "sourceAnchor", user.anchor,
                        "%s: the cloud user holds or is eligible for %s" % (
                            HARDENING_TEXT, ", ".join(r["name"] for r in target["roles"])))
    return Decision("hard", target)


def soft_match(user, state: dict) -> Decision | None:
    """Soft match candidates: an object holding the primary SMTP address, then a user with the UPN."""
    active = [u for u in state["users"] if not u.get("deletedDateTime")]
    primary = (user.primary_smtp or "").lower()
    candidate, by, attribute = None, None, None
    if primary:
        for obj in active + state["groups"] + state["contacts"]:
            if primary in smtp_addresses(obj):
                candidate, by, attribute = obj, "soft-smtp", "proxyAddresses"
                break
    if candidate is None and features(state)["softMatchOnUpnEnabled"] and user.upn:
        candidate = next((u for u in active if u["userPrincipalName"].lower() == user.upn.lower()), None)
        by, attribute = "soft-upn", "userPrincipalName"
    if candidate is None:
        return None
    value = primary if by == "soft-smtp" else user.upn
    kind = _kind(candidate, state)
    if kind != "user":
        return Decision("error", candidate, "ObjectTypeMismatch", attribute, value,
                        "the address belongs to a cloud %s; a user soft-matches only a user" % kind)
    if candidate.get("onPremisesImmutableId"):
        return Decision("error", candidate, "InvalidSoftMatch", attribute, value,
                        "the cloud user already has immutable id %s" % candidate["onPremisesImmutableId"])
    if any(r.get("assignment", "active") == "active" for r in candidate.get("roles") or []):
        return Decision("error", candidate, "ExistingAdminRoleConflict", attribute, value,
                        "soft match to a user holding an administrator role is blocked (%s)"
                        % ", ".join(r["name"] for r in candidate["roles"]))
    if features(state)["blockSoftMatchEnabled"]:
        return None  # the engine provisions a new object instead, which then meets the duplicate
    return Decision(by, candidate)


def decide(user, state: dict) -> Decision:
    return hard_match(user, state) or soft_match(user, state) or Decision("provision")
