"""What the engine does with an AD user new to it: hard match, soft match or provision.
Pure: it reads the tenant-state document and the tenant's features, and writes nothing.

Each rule is named after the behaviour Microsoft documents:
- "Microsoft Entra Connect: When you have an existing tenant": hard match on sourceAnchor =
  onPremisesImmutableId first; otherwise soft match on the incoming object's "userPrincipalName
  or primary ProxyAddress" ("For the proxyAddresses attribute only the value with SMTP:, that is
  the primary email address, is used for the evaluation"); otherwise a new cloud user. A hard
  match to a soft-deleted user restores it.
- KB 2641663 ("How to use SMTP matching ..."): SMTP matching "uses the primary SMTP address";
  "a mailbox that has a primary email address must exist in Exchange Online for SMTP matching
  to work". So the cloud user must have a mailbox whose primary address is the on-premises
  primary; an alias (``smtp:``) or a mailbox-less user is no match. "For mail-enabled groups
  and contacts, SMTP matching (Soft match) is supported based on proxy addresses": a user
  whose primary address a cloud group or contact holds is an ObjectTypeMismatch ("Understanding
  errors during Microsoft Entra synchronization").
- Set-MsolDirSyncFeature (EnableSoftMatchOnUpn): "soft match will first be attempted using the
  standard logic, based on the primary SMTP address. If a match isn't found based on primary
  SMTP, then a match will be attempted based on UserPrincipalName" (``softMatchOnUpnEnabled``).
- Soft match refused: the candidate has an immutable id (InvalidSoftMatch, "Understanding
  errors": "the object to be soft-matched with shouldn't have any value for the immutableId");
  with Duplicate Attribute Resiliency "you won't see the InvalidSoftMatch synchronization
  errors seen during provisioning of new objects": the object is provisioned and the
  duplicate value quarantined instead (``export``). A candidate with an administrative role
  (Existing Admin Role Conflict: "isn't allowed to soft match ... a user object ... that has
  an administrative role assigned to it"; active assignments: the lab's assumption, the page
  says nothing of eligible ones). ``blockSoftMatchEnabled`` turns soft match off.
- Hard match refused: ``blockCloudObjectTakeoverThroughHardMatchEnabled`` and a target that is
  not DirSync-enabled (InvalidHardMatch, "Understanding errors"; a synced user soft-deleted by
  the engine has DirSyncEnabled False). The 2026 hardening, each from its date:
  MC1262584 (from June 2026): "block hard-match attempts that target cloud-managed users who
  hold Microsoft Entra roles", InvalidHardMatch; "When you have an existing tenant" (07/2026)
  narrows it to a role that is privileged, assigned or eligible, soft-deleted or not.
  MC1263280 (from 2026-07-01): the cloud user's ``onPremisesObjectIdentifier`` can't be
  remapped to a different on-premises object: "Hard match operation blocked due to security
  hardening. Review OnPremisesObjectIdentifier mapping." (``AttributeUpdateNotAllowed``),
  unless ``allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled``.
"""

from __future__ import annotations

import calendar
import dataclasses

from lab.graph_emulator.catalog import PRIVILEGED_ROLES
from lab.graph_emulator.tenant import DEFAULT_FEATURES, smtp_addresses

from . import cloud_index
from .cloud_index import CONTACTS, GROUPS, USERS

HARDENING_TEXT = "Hard match operation blocked due to security hardening"
OBJECT_IDENTIFIER_TEXT = HARDENING_TEXT + ". Review OnPremisesObjectIdentifier mapping."
# The enforcement dates the message-center posts give (the rollouts started then).
ROLE_HARDENING_FROM = calendar.timegm((2026, 6, 1, 0, 0, 0))
OBJECT_IDENTIFIER_HARDENING_FROM = calendar.timegm((2026, 7, 1, 0, 0, 0))


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


def primary_smtp(obj) -> str | None:
    """A cloud object's primary SMTP address: its ``SMTP:`` proxy address, else ``mail``."""
    return cloud_index.primary_address(obj)


def held_roles(target, state) -> list[dict]:
    """The roles a cloud user holds: its own, and those of the role-assignable groups it is a
    member of ("Use Microsoft Entra groups to manage role assignments": members hold them)."""
    through = [r for g in state.get("groups") or [] if g.get("isAssignableToRole")
               and target.get("id") in (g.get("members") or []) for r in g.get("roles") or []]
    return list(target.get("roles") or []) + through


def privileged_roles(target, state) -> list[str]:
    return [r["name"] for r in held_roles(target, state) if r["name"] in PRIVILEGED_ROLES]


def takeover_block(user, target, flags) -> Decision | None:
    if flags["blockCloudObjectTakeoverThroughHardMatchEnabled"] and not target.get("onPremisesSyncEnabled"):
        return Decision("error", target, "InvalidHardMatch", "sourceAnchor", user.anchor,
                        "Another cloud created object with the same source anchor already exists in Azure Active "
                        "Directory (blockCloudObjectTakeoverThroughHardMatchEnabled; the target is not DirSync-enabled)")
    return None


def role_hardening(user, target, state, now) -> Decision | None:
    held = privileged_roles(target, state)
    if now < ROLE_HARDENING_FROM or target.get("onPremisesSyncEnabled") or not held:
        return None
    return Decision("error", target, "InvalidHardMatch", "sourceAnchor", user.anchor,
                    "%s: the cloud-managed user holds or is eligible for privileged role %s (MC1262584)"
                    % (HARDENING_TEXT, ", ".join(held)))


def object_identifier_hardening(user, target, flags, now) -> Decision | None:
    mapped = target.get("onPremisesObjectIdentifier")
    if now < OBJECT_IDENTIFIER_HARDENING_FROM or not mapped or mapped.lower() == str(user.guid).lower():
        return None
    if flags["allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled"]:
        return None
    return Decision("error", target, "AttributeUpdateNotAllowed", "onPremisesObjectIdentifier", str(user.guid),
                    "%s The cloud user is mapped to on-premises object %s, not %s (MC1263280)"
                    % (OBJECT_IDENTIFIER_TEXT, mapped, user.guid))


def hard_match(user, state: dict, now: float) -> Decision | None:
    """The cloud user whose onPremisesImmutableId equals the anchor, active or soft-deleted."""
    index = cloud_index.active(state)
    if index is not None:
        target = index.first("anchor", user.anchor, lambda u: u.get("onPremisesImmutableId") == user.anchor, (USERS,))
    else:
        target = next((u for u in state["users"] if u.get("onPremisesImmutableId") == user.anchor), None)
    if target is None:
        return None
    flags = features(state)
    return (takeover_block(user, target, flags) or role_hardening(user, target, state, now)
            or object_identifier_hardening(user, target, flags, now) or Decision("hard", target))


def smtp_candidate(user, state):
    """(the cloud object the primary SMTP address meets, how): a mailbox user whose primary it
    is, else a group or contact holding it among its proxy addresses."""
    primary = (user.primary_smtp or "").lower()
    if not primary:
        return None
    index = cloud_index.active(state)
    if index is not None:
        return (index.first("primary", primary, lambda u: not u.get("deletedDateTime") and u.get("mailbox")
                            and primary_smtp(u) == primary, (USERS,))
                or index.first("address", primary, lambda o: primary in smtp_addresses(o), (GROUPS, CONTACTS)))
    active = [u for u in state["users"] if not u.get("deletedDateTime")]
    for candidate in active:
        if candidate.get("mailbox") and primary_smtp(candidate) == primary:
            return candidate
    for candidate in state["groups"] + state["contacts"]:
        if primary in smtp_addresses(candidate):
            return candidate
    return None


def upn_candidate(user, state):
    if not (features(state)["softMatchOnUpnEnabled"] and user.upn):
        return None
    index = cloud_index.active(state)
    if index is not None:
        return index.first("upn", user.upn.lower(), lambda u: not u.get("deletedDateTime")
                           and u["userPrincipalName"].lower() == user.upn.lower(), (USERS,))
    return next((u for u in state["users"] if not u.get("deletedDateTime")
                 and u["userPrincipalName"].lower() == user.upn.lower()), None)


def soft_match(user, state: dict) -> Decision | None:
    """A soft match, a refusal, or None (provision: resiliency then meets any duplicate)."""
    flags = features(state)
    candidate, by, attribute, value = smtp_candidate(user, state), "soft-smtp", "proxyAddresses", user.primary_smtp
    quarantine = flags["quarantineUponProxyAddressesConflictEnabled"]
    if candidate is None:
        candidate, by, attribute, value = upn_candidate(user, state), "soft-upn", "userPrincipalName", user.upn
        quarantine = flags["quarantineUponUpnConflictEnabled"]
    if candidate is None:
        return None
    if flags["blockSoftMatchEnabled"]:
        # No soft match is tried, so no match across object types either: ObjectTypeMismatch
        # arises "When Microsoft Entra ID attempts to soft match two objects" ("Understanding
        # errors"). A new object is provisioned and meets the duplicate (resiliency or export error).
        return None
    kind = _kind(candidate, state)
    if kind != "user":
        return Decision("error", candidate, "ObjectTypeMismatch", attribute, value,
                        "the address belongs to a cloud %s; a user soft-matches only a user" % kind)
    admin = [r for r in held_roles(candidate, state) if r.get("assignment", "active") == "active"]
    if admin:
        return Decision("error", candidate, "ExistingAdminRoleConflict", attribute, value,
                        "soft match to a user holding an administrator role is blocked (%s)"
                        % ", ".join(r["name"] for r in admin))
    if candidate.get("onPremisesImmutableId"):
        if quarantine:
            return None  # resiliency: provisioned, the duplicate quarantined
        return Decision("error", candidate, "InvalidSoftMatch", attribute, value,
                        "the cloud user already has immutable id %s" % candidate["onPremisesImmutableId"])
    return Decision(by, candidate)


def decide(user, state: dict, now: float) -> Decision:
    return hard_match(user, state, now) or soft_match(user, state) or Decision("provision")
