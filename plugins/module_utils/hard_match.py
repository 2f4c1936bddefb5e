# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Hard match: the rules for stamping an on-premises anchor onto a cloud user.

Setting a cloud-only user's ``onPremisesImmutableId`` to an AD user's anchor makes Entra
Connect join the two on the next sync (hard match).  Each rule below is one documented reason
why a stamp would fail or would not lead to a hard match; each returns a refusal message that
names the user and the way out, or None.  Pure code: the callers read Graph.

Sources: "Microsoft Graph: Update user" (onPremisesImmutableId), "Microsoft Entra Connect:
When you have an existing tenant" (hard match, soft match), "Identity synchronization and
duplicate attribute resiliency", and the 2026 hard-match hardening ("Hard match operation
blocked due to security hardening").
"""

STATE_PRESENT = "present"
STATE_ABSENT = "absent"


class UserFacts:
    """What the rules need to know about one cloud user, already read from Graph."""

    def __init__(self, user, role_ids=(), federated_domains=()):
        self.id = user.get("id")
        self.upn = user.get("userPrincipalName") or self.id
        self.immutable_id = user.get("onPremisesImmutableId")
        self.synced = bool(user.get("onPremisesSyncEnabled"))
        self.object_identifier = user.get("onPremisesObjectIdentifier")
        # Absent (not null) when this Graph's schema does not offer the property: unknown.
        self.object_identifier_known = "onPremisesObjectIdentifier" in user
        self.role_ids = sorted(set(role_ids))
        domain = self.upn.rsplit("@", 1)[-1].lower() if "@" in (self.upn or "") else ""
        self.federated_domain = domain if domain in set(d.lower() for d in federated_domains) else None


def synced_user_refusal(user):
    """Graph answers 400 for a user mastered on-premises: its anchor changes only on-premises."""
    if not user.synced:
        return None
    return (
        "cloud user %s is synced from on-premises (onPremisesSyncEnabled=true); its immutable id can "
        "only change on-premises. Ways out: move the AD object out of the sync scope and let the cloud "
        "user be soft-deleted, then restore it (it becomes cloud-only) and set the value; or convert its "
        "source of authority to the cloud; or restore-and-clear with syncfix.entra.entra_user_purge "
        "state=restored first" % user.upn
    )


def cloud_takeover_block_refusal(user, features):
    """Tenant feature blockCloudObjectTakeoverThroughHardMatchEnabled: the sync engine refuses a
    hard match to a cloud-managed user (InvalidHardMatch), so the stamp would link nothing."""
    if not (features or {}).get("blockCloudObjectTakeoverThroughHardMatchEnabled"):
        return None
    return (
        "the tenant blocks hard match to cloud-managed users (directory sync feature "
        "blockCloudObjectTakeoverThroughHardMatchEnabled=true), so stamping cloud user %s would link nothing: "
        "the next sync reports InvalidHardMatch. Turn the feature off for the change window (PATCH "
        "/directory/onPremisesSynchronization/{tenant id} with features.blockCloudObjectTakeoverThroughHardMatchEnabled "
        "false), stamp and sync, then turn it back on" % user.upn
    )


def privileged_role_refusal(user):
    """Hard match to a user that holds or is eligible for a directory role is blocked (2026 hardening)."""
    if not user.role_ids:
        return None
    return (
        "cloud user %s holds or is eligible for directory roles (role definitions %s); Entra blocks a hard "
        "match to such users (\"Hard match operation blocked due to security hardening\"). Remove the role "
        "assignments and eligibilities first, or link a different, unprivileged cloud user"
        % (user.upn, ", ".join(user.role_ids))
    )


def object_identifier_refusal(user):
    """A user that already carries onPremisesObjectIdentifier cannot be taken over by hard match."""
    if not user.object_identifier:
        return None
    return (
        "cloud user %s already has onPremisesObjectIdentifier %s, so Entra blocks a hard match to it "
        "(\"Hard match operation blocked due to security hardening\"). Let the AD object that owns that "
        "identifier keep it, or remove that link on-premises first" % (user.upn, user.object_identifier)
    )


def anchor_holder_refusal(user, immutable_id, holders):
    """onPremisesImmutableId is unique: Graph answers ObjectConflict when another object holds it.

    ``holders`` are ``{"id", "userPrincipalName", "deleted"}`` records of users holding the value.
    A soft-deleted holder counts: hard matching restores it instead of linking this user.
    """
    others = [h for h in holders if h.get("id") != user.id]
    if not others:
        return None
    names = ", ".join(
        "%s (%s%s)" % (h.get("userPrincipalName") or h.get("id"), h.get("id"),
                       ", soft-deleted: purge it with syncfix.entra.entra_user_purge state=purged" if h.get("deleted")
                       else "")
        for h in others
    )
    return "immutable id %s is already held by %s; it can be held by one user only, so free it first" % (
        immutable_id, names)


def existing_value_refusal(user, immutable_id, force):
    """Replacing a different anchor re-points the link: it needs force."""
    if force or not user.immutable_id or user.immutable_id == immutable_id:
        return None
    return (
        "cloud user %s already has immutable id %s; replacing it with %s re-links it to another AD object. "
        "Set force: true to replace it (the old value is returned in before)"
        % (user.upn, user.immutable_id, immutable_id)
    )


def federated_upn_refusal(user, workaround):
    """Graph refuses a new immutable id while the UPN is on a federated domain."""
    if not user.federated_domain or workaround:
        return None
    return (
        "cloud user %s has its UPN on federated domain %s; Graph refuses a new immutable id there. Set "
        "federated_upn_workaround: true to move the UPN to the initial onmicrosoft.com domain, set the value "
        "and move it back" % (user.upn, user.federated_domain)
    )


def federated_clear_refusal(user):
    """A UPN on a federated domain needs an immutable id, so it is not cleared there."""
    if not user.federated_domain:
        return None
    return (
        "cloud user %s has its UPN on federated domain %s, where Microsoft Graph requires an immutable id "
        "(\"Update user\", onPremisesImmutableId: \"This property must be specified ... if you're using a federated "
        "domain for the user's userPrincipalName (UPN) property\"), so the value is not cleared. Way out: move the "
        "UPN to a managed domain first and keep it there, then clear the value" % (user.upn, user.federated_domain)
    )


class ImmutableIdPlan:
    """The decision for one user: ``refusal`` (nothing is written) or the value to write."""

    def __init__(self, user, desired, refusal=None, move_upn=False):
        self.user = user
        self.desired = desired
        self.refusal = refusal
        self.move_upn = move_upn

    @property
    def changed(self):
        return self.refusal is None and self.user.immutable_id != self.desired


def plan_immutable_id(user, desired, holders=(), force=False, federated_upn_workaround=False, features=None):
    """Decide one stamp (``desired`` an ImmutableId) or clear (``desired`` None).

    ``features`` are the tenant's directory-sync features, as Graph returns them.

    A user that already has the desired value is left alone whatever else is true of it; the
    refusals matter only when something would be written.
    """
    if user.immutable_id == desired:
        return ImmutableIdPlan(user, desired)
    if desired is None:
        return ImmutableIdPlan(user, None, synced_user_refusal(user) or federated_clear_refusal(user))
    refusal = (
        synced_user_refusal(user)
        or cloud_takeover_block_refusal(user, features)
        or privileged_role_refusal(user)
        or object_identifier_refusal(user)
        or anchor_holder_refusal(user, desired, holders)
        or existing_value_refusal(user, desired, force)
        or federated_upn_refusal(user, federated_upn_workaround)
    )
    return ImmutableIdPlan(user, desired, refusal, move_upn=bool(user.federated_domain) and refusal is None)
