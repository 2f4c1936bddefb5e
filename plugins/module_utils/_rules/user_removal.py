# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The "nuclear option" as rules: when deleting, purging or restoring a cloud user is safe.

Facts ("Restore or remove a recently deleted user", "Microsoft Graph: Delete user",
"Permanently delete an item"): deleting a user moves it to the recycle bin for 30 days with
its properties; there it still holds its anchor (hard matching to it restores it).  That, when
it had a mailbox, it also keeps its SMTP addresses reserved is field experience (the seed
articles), not a Microsoft statement; the lab models it as the tenant setting
``lab.softDeletedMailboxReservesAddresses``.  Purging is irreversible.  A user mastered on-premises
cannot be deleted in the cloud.  Pure code: the callers read and write Graph.
"""

import re

from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import InputError
from ansible_collections.syncfix.entra.plugins.module_utils._rules.proxy_address import smtp_address, smtp_addresses

STATES = ("deleted", "purged", "restored")
ACTIVE, IN_RECYCLE_BIN, GONE = "active", "deleted", "gone"
STEP_RESULT = {"soft_delete": IN_RECYCLE_BIN, "purge": GONE, "restore": ACTIVE}
STEP_NAMES = {"soft_delete": "soft-delete", "purge": "purge", "restore": "restore"}


def parse_removal_items(items, default_state=None):
    """``[(selector, state, new_user_principal_name)]`` from the items (dicts with ``user`` and
    optional ``state`` and ``new_user_principal_name``); an item's own ``state`` beats
    ``default_state``.  Every problem is named before anything is read: an empty selector, no
    state, a new UPN on an item that is not restored, and one user named twice (a repeat would
    delete, then fail to find, the same user)."""
    parsed, problems, seen = [], [], set()
    for index, item in enumerate(items):
        selector = (item.get("user") or "").strip()
        label = selector or "users[%d]" % index
        state = item.get("state") or default_state
        new_upn = item.get("new_user_principal_name")
        if not selector:
            problems.append("%s: empty selector; give a UPN, object id, mail or proxy address" % label)
        elif selector.lower() in seen:
            problems.append("%s: listed twice" % label)
        seen.add(selector.lower())
        if state not in STATES:
            problems.append("%s: no state; give state (%s) on the item or for the task" % (label, ", ".join(STATES)))
        if new_upn and state != "restored":
            problems.append("%s: new_user_principal_name applies only to state: restored" % label)
        parsed.append((selector, state, new_upn))
    if problems:
        raise InputError("invalid input, nothing was changed: " + "; ".join(problems))
    return parsed


def data_loss_reasons(user, licenses=(), mail_from_sync=False):
    """What deleting or purging this user would destroy; each needs ``allow_data_loss``.

    ``licenses``: the user's licences as read (``licenseDetails``); a soft-deleted user has none
    to read, so its ``assignedLicenses`` stand in.  ``mail_from_sync``: the sync wrote this
    user's mail and proxy addresses from its AD user (a resiliency duplicate), so they are no
    sign of a mailbox; Exchange Online gives a user mailbox only to a licensed user, so then
    only a licence counts."""
    reasons = []
    licenses = list(licenses) or [a.get("skuId") for a in user.get("assignedLicenses") or [] if a.get("skuId")]
    if user.get("onPremisesSyncEnabled"):
        reasons.append("it was synced from on-premises (onPremisesSyncEnabled=true), so it holds an on-premises "
                       "link: immutable id %s" % user.get("onPremisesImmutableId"))
    if licenses:
        reasons.append("it has licenses %s" % ", ".join(licenses))
    if has_mailbox(user) and not (mail_from_sync and not licenses):
        reasons.append("it has a mailbox (mail %s); purging destroys the mailbox" % (
            user.get("mail") or next(p for p in user.get("proxyAddresses") if smtp_address(p) is not None)))
    return reasons


def role_label(role):
    """A directory role as people read it: "Global Administrator (62e90394-...)" from
    ``{"id", "displayName"}``; a bare string (a name, or an id whose name is unknown) as is."""
    if not isinstance(role, dict):
        return role
    if role.get("displayName") and role.get("id"):
        return "%s (%s)" % (role["displayName"], role["id"])
    return role.get("displayName") or role.get("id")


def role_reasons(roles=None):
    """The directory roles the user holds or is eligible for: removing an administrator is its
    own decision, which ``allow_data_loss`` does not cover (``allow_role_holder_removal``).
    Each role is a name, an id, or ``{"id", "displayName"}``."""
    roles = roles or {}
    held = sorted(set(role_label(r) for r in list(roles.get("active", [])) + list(roles.get("eligible", []))))
    return ["it holds or is eligible for directory roles %s" % ", ".join(held)] if held else []


def has_mailbox(user):
    """A mail-enabled cloud user: Exchange Online stamps mail and SMTP proxy addresses."""
    return bool(user.get("mail")) or any(smtp_address(p) is not None for p in user.get("proxyAddresses") or [])


def deleted_upn_matches(deleted_upn, upn):
    """Entra renames a soft-deleted user's UPN to ``<object id without hyphens><UPN>``."""
    deleted_upn, upn = (deleted_upn or "").lower(), upn.lower()
    return deleted_upn == upn or bool(deleted_upn.endswith(upn)
                                      and re.match(r"^[0-9a-f]{32}$", deleted_upn[:-len(upn)]))


def names_user(user, selector):
    """Whether a selector (object id, UPN, mail or SMTP proxy address) names this user; a
    soft-deleted user's renamed UPN still answers to the UPN it had."""
    wanted = selector.lower()
    return ((user.get("id") or "").lower() == wanted
            or deleted_upn_matches(user.get("userPrincipalName"), selector)
            or (user.get("mail") or "").lower() == wanted
            or wanted in [a.lower() for a in smtp_addresses(user.get("proxyAddresses"))])


def record_summary(record):
    """What the task output says of a removed user: who it was and how much its record holds,
    never the record itself (that is personal data, and goes to the backup file)."""
    user = record.get("user") or {}
    roles = record.get("roles") or {}
    role_ids = set((r.get("id") if isinstance(r, dict) else r)
                   for kind in ("active", "eligible") for r in roles.get(kind, []))
    memberships = record.get("memberOf") or []
    return dict(
        id=user.get("id"), userPrincipalName=user.get("userPrincipalName"), displayName=user.get("displayName"),
        licenses=len(record.get("licenses") or []),
        groups=len([m for m in memberships if m.get("type") != "directoryRole"]),
        roles=len(role_ids), mailbox=has_mailbox(user),
        onPremisesSyncEnabled=bool(user.get("onPremisesSyncEnabled")), deletedDateTime=user.get("deletedDateTime"),
    )


class RemovalPlan:
    """What to do with one user: the Graph steps in order, or a refusal."""

    def __init__(self, where, steps=(), refusal=None, note=None):
        self.where = where
        self.steps = list(steps)
        self.refusal = refusal
        self.note = note

    @property
    def changed(self):
        return bool(self.steps) and self.refusal is None

    @property
    def after(self):
        """Where the user is once every step has landed."""
        return STEP_RESULT[self.steps[-1]] if self.steps else self.where

    @property
    def action(self):
        """The steps in words: "soft-delete and purge"."""
        return " and ".join(STEP_NAMES[step] for step in self.steps)


def plan_removal(state, where, label, user=None, reasons=(), allow_data_loss=False, roles=(),
                 allow_role_holder_removal=False):
    """Decide one user.  ``where`` is ACTIVE, IN_RECYCLE_BIN or GONE; steps are
    ``soft_delete``, ``purge`` and ``restore``.  ``reasons`` are data_loss_reasons, ``roles``
    role_reasons."""
    if state == "restored":
        if where == ACTIVE:
            return RemovalPlan(where, note="already active")
        if where == GONE:
            return RemovalPlan(where, refusal="%s is neither active nor in the recycle bin; a purged user cannot be "
                                              "restored, and one deleted more than 30 days ago is purged" % label)
        return RemovalPlan(where, ["restore"])
    if where == GONE:
        return RemovalPlan(where, note="no active or soft-deleted user matches; nothing to %s" % (
            "delete" if state == "deleted" else "purge"))
    if where == ACTIVE and user is not None and user.get("onPremisesSyncEnabled"):
        return RemovalPlan(where, refusal=(
            "%s is synced from on-premises (onPremisesSyncEnabled=true) and cannot be deleted in the cloud; delete "
            "the AD object or move it out of the sync scope, and the next sync soft-deletes it" % label))
    if state == "deleted" and where == IN_RECYCLE_BIN:
        return RemovalPlan(where, note="already in the recycle bin")
    steps = (["soft_delete"] if where == ACTIVE else []) + (["purge"] if state == "purged" else [])
    if roles and not allow_role_holder_removal:
        return RemovalPlan(where, steps, refusal="refusing to %s %s: %s. Remove its role assignments and "
                                                 "eligibilities first, or set allow_role_holder_removal: true "
                                                 "on this item (allow_data_loss does not cover directory roles)"
                           % ("purge" if "purge" in steps else "delete", label, "; ".join(roles)))
    if reasons and not allow_data_loss:
        return RemovalPlan(where, steps, refusal="refusing to %s %s: %s. Set allow_data_loss: true on this item "
                                                 "if that is intended (its record is written to backup_dir first)"
                           % ("purge" if "purge" in steps else "delete", label, "; ".join(reasons)))
    return RemovalPlan(where, steps)
