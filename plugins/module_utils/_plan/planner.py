# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The link planner: for each declared link between an AD user and a cloud user, its state, the
method that converges it, the ordered actions (already shaped as the items of the module that
carries each out), the blockers that need a person, and what the next sync will do after the
actions.  Pure code: the callers resolve both users and read the directories.

A plan promises its outcome: the actions are applied to a copy of the world and the sync
prediction (``_sync.prediction.predict``) is asked what the cycle that ends the plan does.

Methods, least to most destructive (issue 14): nothing; soft match by aligning the AD user's
primary SMTP address; hard match by stamping the anchor on the cloud user (restoring it first
when it is soft-deleted, rather than purging it); reverse anchor (the cloud user's immutable id
into the AD user's mS-DS-ConsistencyGuid, only before the AD user is projected: "Design
concepts"); removing the resiliency duplicate (out of scope, cycle, purge it, fix the intended
user, back in scope); and, only with ``allow_purge``, deleting and purging the cloud user so the
sync provisions it again.

The planner never chooses a cloud user for a person (issue 26).  A link that declares no cloud
user gets only what the sync itself does cleanly: already linked (joined, nothing quarantined),
or the next sync's own match or provision with nothing quarantined.  Wherever the sync would
refuse, quarantine a value or create a placeholder duplicate, the link is blocked, naming the
candidates and how to declare one.  Restore, stamp, force, purge, recreate and removing a
duplicate need the cloud user declared; a soft-deleted namesake is a warning, never a target.

Opt-ins are per link and reach only that link's items: a stamp item carries ``force``,
``federated_upn_workaround`` and ``allow_role_holder`` when its link set them and needs them, a
purge item ``allow_data_loss``; actions carry no module-level options.
"""

import copy

from ansible_collections.syncfix.entra.plugins.module_utils._sync import prediction as sync
from ansible_collections.syncfix.entra.plugins.module_utils._rules.anchor import SourceAnchor
from ansible_collections.syncfix.entra.plugins.module_utils._rules import reverse_hard_match, sync_scope, user_removal
from ansible_collections.syncfix.entra.plugins.module_utils._rules.hard_match import (
    STATE_PRESENT,
    anchor_holder_refusal,
    cloud_takeover_block_refusal,
    federated_upn_refusal,
    object_identifier_refusal,
    parse_items,
    plan_immutable_id,
    privileged_clear_refusal,
    privileged_role_refusal,
    role_holder_refusal,
    synced_user_refusal,
)
from ansible_collections.syncfix.entra.plugins.module_utils._rules.proxy_address import (
    ObjectPlan,
    ProxyAddressError,
    parse_requests,
    plan_proxy_addresses,
    primary_smtp,
    smtp_address,
)
from ansible_collections.syncfix.entra.plugins.module_utils._rules.user_removal import data_loss_reasons, role_reasons

# One bulk task per phase, in this order.
PHASES = ("scope_out", "cycle_out", "purge", "restore", "stamp", "clear_anchor", "reverse_anchor", "align_smtp",
          "scope_in", "cycle")

LINKED, PENDING, CONFLICT, DUPLICATE, BLOCKED, UNLINKED = (
    "linked", "pending", "conflict", "duplicate", "blocked", "unlinked")
AUTO, HARD, SOFT, REVERSE, RECREATE, REMOVE_DUPLICATE, UNLINK, NONE = (
    "auto", "hard", "soft", "reverse", "recreate", "remove_duplicate", "unlink", "none")
METHODS = (AUTO, HARD, SOFT, REVERSE, RECREATE)

MODULE = "syncfix.entra.%s"
EXCLUDED, INCLUDED = "excluded", "included"


class Link(object):
    """One declared link, with both users already resolved by the caller (``cloud_user`` None:
    no cloud user declared - the link then gets only what the sync itself does cleanly).

    The opt-ins are this link's own and reach only its items: ``force`` (re-point a cloud user
    holding another immutable id, or overwrite the AD user's mS-DS-ConsistencyGuid),
    ``allow_role_holder`` (link a cloud user holding a directory role), ``allow_purge``,
    ``allow_data_loss``, ``federated_upn_workaround``.  ``proposal``: the scan's proposal this
    link came from (``{confidence, evidence, confirmed}``), or None."""

    def __init__(self, ad_user, cloud_user=None, state=LINKED, method=AUTO, allow_purge=False,
                 allow_data_loss=False, federated_upn_workaround=False, name=None, force=False,
                 allow_role_holder=False, proposal=None):
        if method not in METHODS:
            raise ValueError("method %r is not one of %s" % (method, ", ".join(METHODS)))
        if state not in (LINKED, UNLINKED):
            raise ValueError("state %r is not linked or unlinked" % (state,))
        self.ad_user = ad_user
        self.cloud_user = cloud_user
        self.state = state
        self.method = method
        self.allow_purge = bool(allow_purge)
        self.allow_data_loss = bool(allow_data_loss)
        self.federated_upn_workaround = bool(federated_upn_workaround)
        self.force = bool(force)
        self.allow_role_holder = bool(allow_role_holder)
        self.proposal = proposal
        self.name = name or (ad_user.sam if ad_user is not None else None)

    @property
    def declared(self):
        return self.cloud_user is not None


class Blocker(object):
    """A reason the link needs a person: the rule, why, the way out and the Microsoft source."""

    def __init__(self, rule, reason, way_out, source):
        self.rule, self.reason, self.way_out, self.source = rule, reason, way_out, source

    def to_dict(self):
        return {"rule": self.rule, "reason": self.reason, "way_out": self.way_out, "source": self.source}

    def __repr__(self):
        return "Blocker(%s)" % self.rule


class LinkPlan(object):
    def __init__(self, link, state, method=NONE, actions=(), blockers=(), predicted=None, cloud=None, current=None,
                 warnings=()):
        self.link = link
        self.state = state
        self.method = method
        self.actions = list(actions)
        self.blockers = list(blockers)
        self.predicted = predicted
        self.cloud = cloud          # the cloud user id the link is about (None: the one the sync creates)
        self.current = current      # the next sync's outcome before any action
        self.warnings = list(warnings)

    def to_dict(self):
        return {"ad": self.link.ad_user.dn if self.link.ad_user else None, "cloud": self.cloud, "state": self.state,
                "method": self.method, "actions": self.actions, "blockers": [b.to_dict() for b in self.blockers],
                "predicted": self.predicted.to_dict() if self.predicted else None,
                "current": self.current.to_dict() if self.current else None, "warnings": self.warnings}

    def __repr__(self):
        return "LinkPlan(%s, %s, %s, %d actions, %r)" % (self.link.name, self.state, self.method, len(self.actions),
                                                         self.blockers)


# -- actions, shaped as the items of the modules that carry them out ---------------------------

def action(phase, module, item, why):
    """One action: the item of the module that carries it out.  Opt-ins travel in the item
    (issue 26): one link's opt-in never reaches another link's items in the same task."""
    return {"phase": phase, "module": MODULE % module, "item": item, "why": why}


def _opt_ins(item, **opt_ins):
    """``item`` with the opt-ins that are true (an item carries an opt-in only when it needs it)."""
    item.update((name, True) for name, value in opt_ins.items() if value)
    return item


def scope_out(ad_user, why=None):
    return action("scope_out", "ad_sync_scope", {"object": ad_user.dn, "state": EXCLUDED},
                  why or "take %s out of the sync scope: the engine forgets it and soft-deletes its cloud user "
                  "(Configure filtering)" % ad_user.sam)


def cycle_out():
    return action("cycle_out", "adsync_cycle", {}, "a sync cycle, so the engine soft-deletes what left the scope")


def cycle():
    return action("cycle", "adsync_cycle", {}, "a sync cycle: the engine links what the plan prepared")


def scope_in(ad_user):
    return action("scope_in", "ad_sync_scope", {"object": ad_user.dn, "state": INCLUDED},
                  "bring %s back into the sync scope: the engine meets it as a new object and matches it again"
                  % ad_user.sam)


def purge(cloud, why, allow_data_loss=False, mail_from_sync=False):
    item = {"user": cloud.id, "state": "purged"}
    if mail_from_sync:
        item["mail_from_sync"] = True
    return action("purge", "entra_user_purge", _opt_ins(item, allow_data_loss=allow_data_loss), why)


def restore_keeps(cloud):
    """What a restore brings back, claiming a mailbox only where a licence says there is one: a
    soft-deleted user's mailbox is not visible in Graph, and ``mail``/SMTP addresses are set on
    mail-enabled users without a mailbox too (DESIGN.md; user_removal.data_loss_reasons)."""
    if cloud.licenses:
        return "it comes back with its licences (%s) and, with them, its mailbox and data" % ", ".join(cloud.licenses)
    return ("it comes back with its properties, group memberships and app assignments (no licence: no sign of a "
            "mailbox)")


def restore(cloud):
    return action("restore", "entra_user_purge", {"user": cloud.id, "state": "restored"},
                  "restore soft-deleted %s: %s (Restore or remove a recently deleted user)"
                  % (cloud.name, restore_keeps(cloud)))


def stamp(cloud, ad_user, force=False, federated_upn_workaround=False, allow_role_holder=False):
    item = {"user": cloud.id, "immutable_id": ad_user.anchor, "object_guid": ad_user.object_guid}
    return action("stamp", "entra_immutable_id",
                  _opt_ins(item, force=force, federated_upn_workaround=federated_upn_workaround,
                           allow_role_holder=allow_role_holder),
                  "hard match: %s gets %s's anchor %s (When you have an existing tenant)" % (
                      cloud.name, ad_user.sam, ad_user.anchor))


def clear_stamp(cloud, allow_role_holder=False):
    # entra_immutable_id clears only with force: the declaration state: unlinked is that opt-in,
    # and it travels in this item alone.
    return action("clear_anchor", "entra_immutable_id",
                  _opt_ins({"user": cloud.id, "state": "absent"}, force=True, allow_role_holder=allow_role_holder),
                  "%s must stay cloud-only: clear its immutable id %s, so no hard match meets it" % (
                      cloud.name, cloud.immutable_id))


def reverse_anchor(ad_user, cloud, force=False):
    return action("reverse_anchor", "ad_source_anchor",
                  _opt_ins({"object": ad_user.dn, "immutable_id": cloud.immutable_id}, force=force),
                  "reverse hard match: %s's mS-DS-ConsistencyGuid gets %s's immutable id, before the engine projects "
                  "it (Design concepts)" % (ad_user.sam, cloud.name))


def align_smtp(ad_user, address):
    return action("align_smtp", "ad_proxy_addresses",
                  {"object": ad_user.dn, "addresses": [], "state": "present", "primary": address},
                  "soft match: %s's primary SMTP address becomes %s, the cloud mailbox's primary (KB 2641663)"
                  % (ad_user.sam, address))


# -- applying actions to a copy of the world -------------------------------------------------------
#
# Each action is simulated by the pure plan function its module runs (``_rules``), on the model's
# copy of the directories: what the module would write is what the plan promises, so the two can't
# disagree.  A write the module would refuse leaves the copy as it is.

# The options the modules run with in a plan's tasks: their defaults (ad_proxy_addresses'
# update_mail true and allow_primary_removal false; ad_sync_scope's method admin_description).
PROXY_ADDRESS_OPTIONS = {"update_mail": True, "allow_primary_removal": False}


def _apply_scope(item, ad_user, world):
    """ad_sync_scope (method admin_description): ``sync_scope.plan_admin_description``."""
    plan = sync_scope.plan_admin_description(
        item["object"], sync_scope.ObjectFacts(ad_user.dn, ad_user.object_guid, ad_user.admin_description),
        item["state"])
    if plan.changed:
        ad_user.admin_description = plan.new_admin_description


def _apply_cycle(item, ad_user, world):
    """adsync_cycle: the sync prediction applied."""
    sync.apply_prediction(ad_user, world, sync.predict(ad_user, world))


def removal_reasons(cloud, mail_from_sync=False, as_soft_deleted=False):
    """``(data-loss reasons, role reasons)`` of purging ``cloud``: ``user_removal``'s rules, which
    entra_user_purge runs, on the Graph fields they read (a mailbox as the model knows it)."""
    record = {"id": cloud.id, "onPremisesSyncEnabled": cloud.sync_enabled and not as_soft_deleted,
              "onPremisesImmutableId": cloud.immutable_id, "mail": cloud.mail if cloud.mailbox else None,
              "proxyAddresses": cloud.proxy_addresses if cloud.mailbox else []}
    roles = {"active": [r.get("name") for r in cloud.roles if r.get("assignment", "active") == "active"],
             "eligible": [r.get("name") for r in cloud.roles if r.get("assignment") == "eligible"]}
    return data_loss_reasons(record, cloud.licenses, mail_from_sync), role_reasons(roles)


def _apply_removal(item, ad_user, world):
    """entra_user_purge: ``user_removal.plan_removal``'s steps, with the rules' data-loss and
    role reasons of the user as the copy has it."""
    cloud = world.get(item["user"])
    where = user_removal.GONE if cloud is None else user_removal.IN_RECYCLE_BIN if cloud.deleted \
        else user_removal.ACTIVE
    reasons, roles = removal_reasons(cloud, bool(item.get("mail_from_sync"))) if cloud is not None else ([], [])
    synced = {"onPremisesSyncEnabled": cloud.sync_enabled} if cloud is not None else None
    removal = user_removal.plan_removal(item["state"], where, item["user"], synced, reasons,
                                        bool(item.get("allow_data_loss")), roles)
    if not removal.changed:
        return
    for step in removal.steps:
        if step == "purge":
            world.remove(item["user"])
            continue
        cloud = world.get(item["user"]).copy()
        cloud.deleted = step == "soft_delete"
        cloud.deleted_at = world.tenant.now if cloud.deleted else None
        world.put(cloud)


def _apply_immutable_id(item, ad_user, world):
    """entra_immutable_id: ``hard_match.plan_immutable_id`` with the item's own opt-ins, the
    holders of the value and the tenant's features."""
    request = parse_items([item], STATE_PRESENT)[0]
    cloud = world.get(item["user"])
    holders = [{"id": h.id, "userPrincipalName": h.name, "deleted": h.deleted}
               for h in (world.by_anchor(request.desired) if request.desired else ())]
    decision = plan_immutable_id(
        user_facts(cloud, world), request.desired, holders, bool(request.opt_ins.get("force")),
        bool(request.opt_ins.get("federated_upn_workaround")), world.tenant.features, request.object_guid,
        bool(request.opt_ins.get("allow_role_holder")))
    if decision.changed:
        cloud = cloud.copy()
        cloud.immutable_id = decision.desired
        world.put(cloud)


def _apply_source_anchor(item, ad_user, world):
    """ad_source_anchor: the anchor ``reverse_hard_match.desired_anchor`` reads from the item,
    unless ``replace_refusal`` refuses it (the other AD holders of the value are not in the model)."""
    desired = reverse_hard_match.desired_anchor(item, STATE_PRESENT)
    before = SourceAnchor.from_guid(ad_user.consistency_guid) if ad_user.consistency_guid else None
    if reverse_hard_match.replace_refusal(ad_user.dn, before, desired, bool(item.get("force"))) is None:
        ad_user.consistency_guid = str(desired.guid) if desired is not None else None


def _apply_proxy_addresses(item, ad_user, world):
    """ad_proxy_addresses: ``proxy_address.ObjectPlan`` (``plan_proxy_addresses`` and the mail
    it writes) of the item's request."""
    entry = {"dn": ad_user.dn, "attributes": {"proxyAddresses": ad_user.proxy_addresses, "mail": ad_user.mail}}
    try:
        plan = ObjectPlan(parse_requests([item], STATE_PRESENT)[0], entry, PROXY_ADDRESS_OPTIONS)
    except ProxyAddressError:
        return  # the module refuses it: nothing is written
    ad_user.proxy_addresses, ad_user.mail = plan.proxy.after.values, plan.mail_after


APPLY = {
    "ad_sync_scope": _apply_scope,
    "adsync_cycle": _apply_cycle,
    "entra_user_purge": _apply_removal,
    "entra_immutable_id": _apply_immutable_id,
    "ad_source_anchor": _apply_source_anchor,
    "ad_proxy_addresses": _apply_proxy_addresses,
}


def apply_action(made, ad_user, world):
    """What one action does to (AD user, world): what its module would write."""
    APPLY[made["module"].split(".")[-1]](made["item"], ad_user, world)
    return ad_user, world


def with_primary(proxies, address):
    """What ad_proxy_addresses makes of ``proxies`` asked for ``primary: address``
    (``proxy_address.plan_proxy_addresses``): the old primary stays as a secondary address."""
    return plan_proxy_addresses(proxies, primary=address).after.values


def simulate(actions, ad_user, world):
    """(AD user, world) after ``actions`` up to the last cycle, and the prediction of that cycle
    (or of the next sync, when the actions end without one)."""
    ad_copy, state = ad_user.copy(), world.overlay()
    last = len(actions) - 1 if actions and actions[-1]["phase"] == "cycle" else len(actions)
    for made in actions[:last]:
        apply_action(made, ad_copy, state)
    return sync.predict(ad_copy, state), ad_copy, state


# -- which cloud users a person might mean (never chosen: named in the way out) -------------------

def _values(ad_user, prediction=None):
    """The AD user's primary SMTP address and UPN, and the values the prediction quarantines."""
    values = [ad_user.primary_smtp, ad_user.upn]
    for dummy, value in (prediction.quarantined if prediction is not None else ()):
        values.append(smtp_address(value) or value)
    return list(dict.fromkeys(v.lower() for v in values if v))


def candidates(ad_user, world, prediction=None, exclude=()):
    """The active cloud users holding the AD user's address or UPN, a quarantined value, or in
    the prediction's way: who a person might mean.  The planner names them; it never picks one."""
    found = []
    for value in _values(ad_user, prediction):
        found += [h for h in world.holders(value) if h.kind == sync.USER and not h.deleted]
        by_upn = world.active_user_by_upn(value)
        if by_upn is not None:
            found.append(by_upn)
    target = world.get(prediction.target) if prediction is not None and prediction.target else None
    if target is not None and target.kind == sync.USER and not target.deleted:
        found.insert(0, target)
    unique = []
    for user in found:
        if user.id not in exclude and user not in unique:
            unique.append(user)
    return unique


def declare_way_out(users):
    """How to declare the cloud user: by object id, naming each candidate by UPN and id."""
    if not users:
        return "if this person already has a cloud account, declare it on the link (cloud: <object id>)"
    return "; ".join("declare cloud: %s if %s is this person's account" % (u.id, u.name) for u in users)


def soft_deleted_namesakes(ad_user, world, exclude=()):
    """Soft-deleted users holding the AD user's primary SMTP address or UPN (also under the UPN
    Entra renames to ``<object id><UPN>``): a departed person's account, which a restore would
    hand to whoever this AD user is now (DESIGN.md, "Restore or remove a recently deleted user")."""
    found = []
    for value in _values(ad_user):
        found += [h for h in world.holders(value) if h.kind == sync.USER and h.deleted]
        found += world.deleted_users_by_upn(value)
    unique = []
    for user in found:
        if user.id not in exclude and user not in unique:
            unique.append(user)
    return unique


def namesake_warnings(ad_user, world, exclude=()):
    return ["soft-deleted cloud user %s (%s) holds %s's address or UPN; the plan never restores an account the link "
            "does not name by object id. If it is this person's account, restore it on purpose: declare cloud: %s "
            "on the link (Restore or remove a recently deleted user)" % (user.name, user.id, ad_user.sam, user.id)
            for user in soft_deleted_namesakes(ad_user, world, exclude)]


# -- blockers found before any method ---------------------------------------------------------------

def scope_blocker(ad_user):
    """An AD user outside the sync scope is never linked: a person decides whether it belongs."""
    if not (sync.outside_ou_filter(ad_user) or sync.excluded_by_admin_description(ad_user)):
        return None
    return Blocker("out-of-scope", "%s is outside the sync scope (%s)" % (
        ad_user.sam, "not in a synchronised OU" if sync.outside_ou_filter(ad_user)
        else "adminDescription %r" % ad_user.admin_description),
        "move it into a synchronised OU or clear its adminDescription, if it is meant to be synchronised",
        "Microsoft Entra Connect Sync: Configure filtering; Connect's default rule (lab's assumption)")


def object_type_blocker(ad_user, cloud):
    """A cloud group or contact holds the address: ObjectTypeMismatch ("Understanding errors")."""
    if cloud is None or cloud.kind == sync.USER:
        return None
    return Blocker("ObjectTypeMismatch", "%s's primary SMTP address %s is held by cloud %s %s" % (
        ad_user.sam, ad_user.primary_smtp, cloud.kind, cloud.name),
        "remove the address from the %s, or give the AD user another primary address, then plan again" % cloud.kind,
        "Understanding errors during Microsoft Entra synchronization (ObjectTypeMismatch)")


def prediction_blocker(prediction, method):
    """A method whose actions would not lead the next sync to the link: the predicted error."""
    if prediction.outcome == sync.ERROR:
        return Blocker(prediction.error, "after the %s actions the next sync fails: %s" % (method, prediction.reason),
                       way_out_for(prediction.error), prediction.source)
    return Blocker("no-link", "after the %s actions the next sync would %s, not link the declared users (%s)" % (
        method, prediction.outcome, prediction.reason), "choose another method or fix the directories by hand",
        prediction.source)


WAYS_OUT = {
    "InvalidHardMatch": "remove the cloud user's privileged roles (active and eligible), or turn off "
                        "blockCloudObjectTakeoverThroughHardMatchEnabled for the change window",
    "AttributeUpdateNotAllowed": "clear the cloud user's onPremisesObjectIdentifier (Graph beta, or "
                                 "Clear-ADSyncToolsOnPremisesAttribute) or turn on "
                                 "allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled for the change window",
    "ExistingAdminRoleConflict": "remove the cloud user's admin roles before the match, or hard match instead",
    "ObjectTypeMismatch": "remove the address from the cloud group or contact",
    "AttributeValueMustBeUnique": "free the value: purge the soft-deleted holder or take it off the other object",
    "InvalidSoftMatch": "hard match instead (stamp the anchor) or clear the cloud user's immutable id",
    "SourceAnchorChanged": "change mS-DS-ConsistencyGuid back, or take the AD user out of scope for one cycle",
}


def way_out_for(error):
    return WAYS_OUT.get(error, "fix the conflict the error names, then plan again")


# -- the methods ------------------------------------------------------------------------------------

def soft_method(link, ad_user, cloud, world):
    """Soft match by aligning the AD primary SMTP address, where soft match is allowed and enough:
    the cloud user has a mailbox with that primary (KB 2641663), no immutable id (InvalidSoftMatch),
    no admin role, active or eligible (Existing Admin Role Conflict; eligible too, to be safe), and
    the tenant does not block soft match.  Returns (actions, blockers)."""
    refusals = []
    if world.tenant.feature("blockSoftMatchEnabled"):
        refusals.append(("blockSoftMatchEnabled", "the tenant blocks soft match (blockSoftMatchEnabled)",
                         "hard match instead, or turn the feature off for the change window",
                         "onPremisesDirectorySynchronizationFeature resource type"))
    if cloud.deleted or not cloud.mailbox or not cloud.primary_smtp:
        refusals.append(("no-mailbox", "%s has no active mailbox with a primary SMTP address" % cloud.name,
                         "hard match instead", "KB 2641663 How to use SMTP matching"))
    if cloud.immutable_id:
        refusals.append(("InvalidSoftMatch", "%s already has immutable id %s" % (cloud.name, cloud.immutable_id),
                         way_out_for("InvalidSoftMatch"), "Understanding errors (InvalidSoftMatch)"))
    if cloud.roles:
        refusals.append(("ExistingAdminRoleConflict", "%s holds or is eligible for admin roles %s" % (
            cloud.name, ", ".join(sorted(r.get("name") or r.get("template_id") for r in cloud.roles))),
            "remove the role assignments and eligibilities first", "Understanding errors (Existing Admin Role Conflict)"))
    if refusals:
        return None, [Blocker(*r) for r in refusals]
    current = ad_user.primary_smtp
    actions = [] if current and current.lower() == cloud.primary_smtp else [align_smtp(ad_user, _address_case(cloud))]
    return actions, []


def _address_case(cloud):
    return primary_smtp(cloud.proxy_addresses) or cloud.mail


ROLE_SOURCE = "Microsoft Entra built-in roles; MC1262584 (issue 26: any role holder is a person's decision)"


# The hard-match refusals of hard_match.py, in its order, each with its rule name and source.
def _hard_refusals(facts, ad_user, world, holders, link):
    features = world.tenant.features
    return (
        ("synced-user", synced_user_refusal(facts), "Update user (on-premises mastered objects)"),
        ("blockCloudObjectTakeoverThroughHardMatchEnabled", cloud_takeover_block_refusal(facts, features),
         "Understanding errors (InvalidHardMatch)"),
        ("privileged-role", privileged_role_refusal(facts), "MC1262584; Microsoft Entra built-in roles"),
        ("role-holder", role_holder_refusal(facts, link.allow_role_holder), ROLE_SOURCE),
        ("onPremisesObjectIdentifier", object_identifier_refusal(facts, ad_user.anchor, ad_user.object_guid, features),
         "MC1263280; How to use Microsoft Entra Connect Sync service features"),
        ("anchor-held", anchor_holder_refusal(facts, ad_user.anchor, holders), "Update user (ObjectConflict)"),
        ("federated-upn", federated_upn_refusal(facts, link.federated_upn_workaround), "Update user"),
    )


def user_facts(cloud, world):
    """The hard-match rules' facts of a cloud user in ``world`` (``_sync.prediction.user_facts``)."""
    return sync.user_facts(cloud, world.tenant.federated_domains)


def loss_reasons(cloud, link, as_soft_deleted=False, addresses_from_ad=False, allow_data_loss=None):
    """What purging ``cloud`` would destroy (user_removal.data_loss_reasons, unless the link
    allows data loss) and the directory roles it holds (always: the plan never removes an
    administrator; a person takes the role away first).

    ``addresses_from_ad``: the sync wrote this user's ``mail`` and proxy addresses from the AD
    user (a resiliency duplicate), so they are not Exchange Online's stamp of a mailbox; Exchange
    Online gives a user mailbox only to a licensed user, so only a license counts then.
    ``allow_data_loss``: None, the link's own opt-in."""
    allowed = link.allow_data_loss if allow_data_loss is None else allow_data_loss
    reasons, roles = removal_reasons(cloud, addresses_from_ad, as_soft_deleted)
    return ([] if allowed else reasons) + roles


def needs_data_loss(cloud, link, **how):
    """Whether the purge item must carry ``allow_data_loss``: the link allows it and the purge needs it."""
    return link.allow_data_loss and bool(loss_reasons(cloud, link, allow_data_loss=False, **how))


def loss_way_out(cloud, otherwise):
    """A role holder's way out is taking the role away, never an opt-in of the plan."""
    if cloud.roles:
        return "remove %s's directory role assignments and eligibilities first" % cloud.name
    return otherwise


def hard_method(link, ad_user, cloud, world):
    """Hard match by stamping the AD anchor on the cloud user; a soft-deleted cloud user (declared
    by its object id) is restored first rather than purged.  A soft-deleted holder of the anchor
    that holds nothing at all is purged first - whatever the link's allow_data_loss: it is not
    the declared user.  Re-pointing a cloud user that holds another immutable id needs the
    link's own ``force``.  Returns (actions, blockers)."""
    if cloud.immutable_id == ad_user.anchor:
        return [], []  # nothing to write: the prediction tells whether the engine takes it
    actions, holders = [], []
    for holder in world.by_anchor(ad_user.anchor):
        if holder.id == cloud.id:
            continue
        if holder.deleted and not loss_reasons(holder, link, allow_data_loss=False):  # nothing would be lost
            actions.append(purge(holder, "soft-deleted %s holds the anchor %s; it is unique, so it is purged" % (
                holder.name, ad_user.anchor)))
        else:
            holders.append({"id": holder.id, "userPrincipalName": holder.name, "deleted": holder.deleted})
    if cloud.deleted:
        actions.append(restore(cloud))
    facts = user_facts(cloud, world)
    blockers = [Blocker(rule, reason, "see the reason", source)
                for rule, reason, source in _hard_refusals(facts, ad_user, world, holders, link) if reason]
    if cloud.immutable_id and not link.force:
        # A stray anchor of no engine join: re-pointing it is the link's own decision (issue 26).
        blockers.append(Blocker("force", "%s already has immutable id %s (another AD object's anchor, not joined by "
                                         "the engine); stamping %s's anchor re-points it" % (
                                             cloud.name, cloud.immutable_id, ad_user.sam),
                                "set force: true on this link if %s must be re-pointed" % cloud.name,
                                "Update user; When you have an existing tenant"))
    if blockers:
        return None, blockers
    actions.append(stamp(cloud, ad_user, force=bool(cloud.immutable_id),
                         federated_upn_workaround=bool(facts.federated_domain),
                         allow_role_holder=link.allow_role_holder and bool(cloud.roles)))
    return actions, []


def reverse_method(link, ad_user, cloud, world):
    """Reverse anchor: write the cloud user's immutable id into the AD user's mS-DS-ConsistencyGuid.
    Only before the AD user is projected: "Once an on-premises AD object is imported into
    Microsoft Entra Connect ... you can't change its sourceAnchor value anymore" ("Design
    concepts").  Returns (actions, blockers)."""
    if sync.engine_join(ad_user, world) is not None:
        return None, [Blocker("projected", "%s is already projected; its anchor can't change" % ad_user.sam,
                              "take it out of the sync scope for one cycle first", "Microsoft Entra Connect: Design concepts")]
    if not cloud.immutable_id or not SourceAnchor.from_immutable_id(cloud.immutable_id).is_guid:
        return None, [Blocker("no-guid-anchor", "%s has no immutable id that is a GUID (%r)" % (
            cloud.name, cloud.immutable_id), "hard match instead", "Microsoft Entra Connect: Design concepts")]
    if cloud.immutable_id == ad_user.anchor:
        return [], []
    overwrites = bool(ad_user.consistency_guid)
    if overwrites and not link.force:
        return None, [Blocker("force", "%s's mS-DS-ConsistencyGuid is %s; writing %s's immutable id over it changes "
                                       "its anchor" % (ad_user.sam, ad_user.consistency_guid, cloud.name),
                              "set force: true on this link if %s's anchor must be replaced" % ad_user.sam,
                              "Microsoft Entra Connect: Design concepts")]
    return [reverse_anchor(ad_user, cloud, force=overwrites)], []


def recreate_method(link, ad_user, cloud, world):
    """The nuclear option: delete and purge the cloud user so the sync provisions it again; only
    with allow_purge and when user_removal's data-loss rules allow it.  Returns (actions, blockers)."""
    if not link.allow_purge:
        return None, [Blocker("allow_purge", "recreating %s needs allow_purge" % cloud.name,
                              "set allow_purge: true if the cloud user is disposable", "Permanently delete an item")]
    if cloud.sync_enabled and not cloud.deleted:
        return None, [Blocker("synced-user", "%s is synced from on-premises and can't be deleted in the cloud"
                              % cloud.name, "take the AD object out of scope instead", "Delete a user")]
    reasons = loss_reasons(cloud, link)
    if reasons:
        return None, [Blocker("data-loss", "purging %s would destroy: %s" % (cloud.name, "; ".join(reasons)),
                              loss_way_out(cloud, "set allow_data_loss: true if that is intended"),
                              "Permanently delete an item")]
    return [purge(cloud, "recreate: %s is deleted and purged; the sync provisions %s again" % (cloud.name, ad_user.sam),
                  allow_data_loss=needs_data_loss(cloud, link))], []


CANDIDATES = {SOFT: soft_method, HARD: hard_method, REVERSE: reverse_method, RECREATE: recreate_method}
AUTO_ORDER = (SOFT, HARD, REVERSE, RECREATE)


def _promises(prediction, cloud, method):
    if method == RECREATE:
        return prediction.outcome == sync.PROVISION
    return prediction.links == cloud.id


def try_methods(link, ad_user, cloud, world, prefix=(), suffix=()):
    """The first method (auto: least destructive first) whose actions make the next sync link the
    declared users.  ``prefix``/``suffix`` wrap each method's actions (the duplicate's removal).
    Returns (method, actions, predicted, blockers)."""
    methods = AUTO_ORDER if link.method == AUTO else (link.method,)
    blockers = []
    prepared_ad, prepared = ad_user.copy(), world.overlay()
    for made in prefix:
        apply_action(made, prepared_ad, prepared)
    for method in methods:
        inner, refused = CANDIDATES[method](link, prepared_ad, prepared.get(cloud.id) or cloud, prepared)
        if inner is None:
            blockers.extend(refused)
            continue
        actions = list(prefix) + inner + list(suffix) + [cycle()]
        predicted, dummy, dummy = simulate(order(actions), ad_user, world)
        if _promises(predicted, cloud, method):
            return method, order(actions), predicted, []
        blockers.append(prediction_blocker(predicted, method))
    return None, [], None, blockers


def order(actions):
    return sorted(actions, key=lambda a: PHASES.index(a["phase"]))


# -- one link ----------------------------------------------------------------------------------------

def parked_by_us(ad_user):
    """Taken out of scope by ad_sync_scope (``User_syncfix:<previous value>``): a remediation
    that stopped half-way (after scope_out), not a person's decision."""
    return sync_scope.is_ours(ad_user.admin_description)


def resume_parked(link, world):
    """Plan as if the user were back in scope, then bring it back before the last cycle: a rerun
    after an interrupted remediation finishes it instead of calling the user out of scope."""
    unparked = copy.copy(link)
    unparked.ad_user = link.ad_user.copy()
    unparked.ad_user.admin_description = sync_scope.previous_value(link.ad_user.admin_description)
    plan = plan_link(unparked, world)
    plan.link = link
    if plan.state == BLOCKED or plan.state == UNLINKED and not plan.actions:
        return plan
    # Already out of scope; a cycle_out stays while the engine still holds the join (it has not
    # run since the user was taken out).
    actions = [a for a in plan.actions if a["phase"] not in ("scope_out", "scope_in", "cycle")]
    plan.actions = order(actions + [scope_in(link.ad_user), cycle()])
    if plan.state in (LINKED, PENDING):
        plan.state, plan.method = CONFLICT, plan.method if plan.method != NONE else "resume"
    return plan


def plan_link(link, world):
    """The plan for one link against ``world`` (which is not changed)."""
    ad_user = link.ad_user
    # An unlinked link's user parked by us is where its plan leaves it (out of the scope), not a
    # remediation stopped half-way: bringing it back would undo the unlink.
    if link.state == LINKED and parked_by_us(ad_user):
        return resume_parked(link, world)
    current = sync.predict(ad_user, world)
    if link.declared:
        plan = plan_declared(link, ad_user, link.cloud_user, world, current)
    else:
        plan = plan_undeclared(link, ad_user, world, current)
    if link.state == LINKED:
        exclude = (link.cloud_user.id,) if link.declared else ()
        plan.warnings += [w for w in namesake_warnings(ad_user, world, exclude) if w not in plan.warnings]
    return plan


def role_blockers(link, cloud, world):
    """Linking a role holder is a person's decision (issue 26): any directory role, built-in or
    custom, active or eligible, needs the link's own ``allow_role_holder``; a PRIVILEGED one is
    refused whatever the opt-in - Entra blocks a hard match to it (MC1262584) and an
    administrator's link is not changed by a bulk task."""
    facts = user_facts(cloud, world)
    blockers = []
    refusal = role_holder_refusal(facts, link.allow_role_holder)
    if refusal:
        blockers.append(Blocker("role-holder", refusal, ROLE_WAY_OUT, ROLE_SOURCE))
    privileged = privileged_role_refusal(facts)
    if privileged:
        blockers.append(Blocker("privileged-role", privileged, "remove those role assignments and eligibilities "
                                "first; allow_role_holder does not cover a privileged role",
                                "MC1262584; Microsoft Entra built-in roles"))
    return blockers


ROLE_WAY_OUT = ("set allow_role_holder: true on this link if handing the account's roles to the AD account is "
                "intended, or remove the role assignments and eligibilities first")


def plan_declared(link, ad_user, cloud, world, current):
    """A link that names its cloud user: the least destructive method that links them."""
    if link.state == UNLINKED:  # out of scope, or a group holding the address, keeps it unlinked
        return plan_unlink(link, ad_user, cloud, world, current)
    early = scope_blocker(ad_user) or object_type_blocker(ad_user, cloud)
    if early is not None:
        return LinkPlan(link, BLOCKED, blockers=[early], predicted=current, cloud=cloud.id, current=current)
    if current.outcome == sync.JOINED and current.target == cloud.id:
        return LinkPlan(link, LINKED, predicted=current, cloud=cloud.id, current=current, warnings=current.warnings)
    roles = role_blockers(link, cloud, world)
    if roles:
        return LinkPlan(link, BLOCKED, blockers=roles, predicted=current, cloud=cloud.id, current=current)
    if current.links == cloud.id:
        return LinkPlan(link, PENDING, predicted=current, cloud=cloud.id, current=current, warnings=current.warnings)
    joined = sync.engine_join(ad_user, world)
    if joined is not None and joined.id != cloud.id:
        return plan_duplicate(link, ad_user, cloud, joined, world, current)
    method, actions, predicted, blockers = try_methods(link, ad_user, cloud, world)
    if method is None:
        return LinkPlan(link, BLOCKED, blockers=blockers, predicted=current, cloud=cloud.id, current=current)
    return LinkPlan(link, CONFLICT, method, actions, predicted=predicted, cloud=cloud.id, current=current,
                    warnings=predicted.warnings)


# -- a link that declares no cloud user: what the sync itself does cleanly, or a blocker ------------

UNDECLARED_SOURCE = "syncfix.entra (issue 26: without a declared cloud user, only what the sync does cleanly)"
RESILIENCY_SOURCE = "Identity synchronization and duplicate attribute resiliency"


def plan_undeclared(link, ad_user, world, current):
    """No cloud user declared: the link gets only what the sync itself does cleanly - already
    joined to a cloud user carrying no quarantined value, or the next sync's own match or
    provision with nothing quarantined.  Wherever the sync would refuse, quarantine a value or
    create a placeholder duplicate, the link is blocked, naming the candidates and how to declare
    one: restore, stamp, force, purge, recreate and removing a duplicate need the cloud user
    declared (issue 26)."""
    target = world.get(current.target) if current.target else None
    target_id = target.id if target is not None else None
    if link.state == UNLINKED:
        return plan_undeclared_unlink(link, world, current)
    early = scope_blocker(ad_user) or address_object_blocker(ad_user, world)
    if early is not None:
        return LinkPlan(link, BLOCKED, blockers=[early], predicted=current, cloud=target_id, current=current)
    blocker = undeclared_blocker(link, ad_user, world, current, target)
    if blocker is not None:
        return LinkPlan(link, BLOCKED, blockers=[blocker], predicted=current, cloud=target_id, current=current,
                        warnings=current.warnings)
    warnings = list(current.warnings)
    if current.restored:
        warnings.append("the next sync's own hard match restores soft-deleted %s (%s): it holds %s's anchor %s" % (
            target.name, target.id, ad_user.sam, ad_user.anchor))
    state = LINKED if current.outcome == sync.JOINED else PENDING
    return LinkPlan(link, state, predicted=current, cloud=current.links, current=current, warnings=warnings)


def plan_undeclared_unlink(link, world, current):
    """state=unlinked without a cloud user: nothing to do unless the next sync links the AD user
    to an existing cloud user; keeping those apart writes to it, so it must be declared."""
    if current.links is None:
        return LinkPlan(link, UNLINKED, predicted=current, current=current)
    target = world.get(current.links)
    return LinkPlan(link, BLOCKED, blockers=[Blocker(
        "undeclared-cloud", "the next sync links %s to cloud user %s (%s); keeping them apart means clearing its "
        "immutable id or taking the AD user out of scope, which needs the cloud user declared" % (
            link.ad_user.sam, target.name, target.id),
        "declare cloud: %s on this link if %s must stay cloud-only" % (target.id, target.name), UNDECLARED_SOURCE)],
        predicted=current, cloud=target.id, current=current)


def address_object_blocker(ad_user, world):
    """The first active holder of the AD user's primary SMTP address is a cloud group or contact:
    ObjectTypeMismatch, whatever the tenant's soft-match switch (a person decides which keeps it)."""
    primary = ad_user.primary_smtp
    active = [h for h in world.holders(primary) if not h.deleted] if primary else []
    return object_type_blocker(ad_user, active[0]) if active else None


def _quarantine_text(prediction, world):
    parts = []
    for attribute, value in prediction.quarantined:
        address = smtp_address(value) if attribute == "ProxyAddress" else value
        holder = (world.active_user_by_upn(address) if attribute == "UserPrincipalName" else
                  sync.address_holder(world, address, prediction.target))
        parts.append("%s %s%s" % (attribute, value, " (held by %s %s)" % (holder.kind, holder.name) if holder else ""))
    return ", ".join(parts)


def _declare(ad_user, world, prediction, exclude=()):
    return declare_way_out(candidates(ad_user, world, prediction, exclude))


def undeclared_blocker(link, ad_user, world, current, target):
    """Why the sync would not link this AD user cleanly on its own, or None."""
    if current.outcome == sync.ERROR:
        return Blocker(current.error, "no cloud user is declared and the next sync fails: %s" % current.reason,
                       "%s; or %s" % (way_out_for(current.error), _declare(ad_user, world, current)),
                       current.source or UNDECLARED_SOURCE)
    if current.outcome == sync.JOINED:
        if not (target.provisioning_errors or current.quarantined):
            return None
        values = _quarantine_text(current, world) or ", ".join(
            "%s %s" % (e.get("propertyCausingError"), e.get("value")) for e in target.provisioning_errors)
        return Blocker("quarantine", "the engine joined %s to %s, which carries quarantined values (%s): a resiliency "
                                     "placeholder, not a clean link" % (ad_user.sam, target.name, values),
                       "%s; the plan then removes the duplicate" % _declare(ad_user, world, current, (target.id,)),
                       RESILIENCY_SOURCE)
    if current.quarantined:
        if current.outcome == sync.PROVISION:
            return Blocker("placeholder-duplicate", "no cloud user is declared and the next sync creates a new cloud "
                                                    "user for %s with quarantined values (%s): a placeholder "
                                                    "duplicate" % (ad_user.sam, _quarantine_text(current, world)),
                           _declare(ad_user, world, current), RESILIENCY_SOURCE)
        return Blocker("quarantine", "no cloud user is declared and the next sync's %s quarantines %s" % (
            current.reason, _quarantine_text(current, world)), _declare(ad_user, world, current), RESILIENCY_SOURCE)
    if target is None:
        return None  # a clean provision
    facts = user_facts(target, world)
    if current.outcome in (sync.SOFT_SMTP, sync.SOFT_UPN) and target.roles:
        # Soft match onto a role holder is refused (Existing Admin Role Conflict; eligible ones
        # too, to be safe); without a declaration that is a blocker, never a hard match instead.
        return Blocker("ExistingAdminRoleConflict", "the next sync would soft-match %s to %s, which holds or is "
                                                    "eligible for directory roles %s" % (
                                                        ad_user.sam, target.name, ", ".join(
                                                            sorted(r.get("name") or r.get("template_id")
                                                                   for r in target.roles))),
                       "remove the role assignments and eligibilities first; or, if %s is this person's account, "
                       "declare cloud: %s with allow_role_holder: true" % (target.name, target.id),
                       "Understanding errors during Microsoft Entra synchronization (Existing Admin Role Conflict)")
    privileged = privileged_role_refusal(facts)
    if privileged:
        return Blocker("privileged-role", privileged, "remove those role assignments and eligibilities first",
                       "MC1262584; Microsoft Entra built-in roles")
    refusal = role_holder_refusal(facts, link.allow_role_holder)
    if refusal:
        return Blocker("role-holder", refusal, ROLE_WAY_OUT, ROLE_SOURCE)
    return None


def plan_duplicate(link, ad_user, cloud, duplicate, world, current):
    """The engine joined the AD user to another cloud user (typically a resiliency placeholder):
    out of scope, cycle (the engine soft-deletes the duplicate), purge the duplicate (it holds the
    anchor), fix the intended user, back in scope, cycle ("Identity synchronization and duplicate
    attribute resiliency"; "Configure filtering")."""
    how = dict(as_soft_deleted=True, addresses_from_ad=True)
    reasons = loss_reasons(duplicate, link, **how)
    if reasons:
        blocker = Blocker("data-loss", "the duplicate %s is not disposable: %s" % (duplicate.name, "; ".join(reasons)),
                          loss_way_out(duplicate, "set allow_data_loss: true if it may be purged, or merge it by hand"),
                          "Permanently delete an item")
        return LinkPlan(link, BLOCKED, blockers=[blocker], predicted=current, cloud=cloud.id, current=current)
    prefix = [scope_out(ad_user), cycle_out(),
              purge(duplicate, "purge the duplicate %s the engine created (soft-deleted when %s left the scope); it "
                               "holds %s's anchor" % (duplicate.name, ad_user.sam, ad_user.sam),
                    allow_data_loss=needs_data_loss(duplicate, link, **how), mail_from_sync=True)]
    method, actions, predicted, blockers = try_methods(link, ad_user, cloud, world, prefix, [scope_in(ad_user)])
    if method is None:
        return LinkPlan(link, BLOCKED, blockers=blockers, predicted=current, cloud=cloud.id, current=current)
    return LinkPlan(link, DUPLICATE, REMOVE_DUPLICATE, actions, predicted=predicted,
                    cloud=cloud.id, current=current, warnings=predicted.warnings)


def plan_unlink(link, ad_user, cloud, world, current):
    """state=unlinked: the cloud user must stay cloud-only.  Clear a stray immutable id; where the
    engine joined or would match it anyway, leave the AD user out of the sync scope (and restore
    and clear the cloud user the engine soft-deletes).  Clearing a role holder's anchor: a
    PRIVILEGED one never, any other with the link's ``allow_role_holder`` (issue 26)."""
    if current.links != cloud.id:
        return LinkPlan(link, UNLINKED, predicted=current, cloud=cloud.id, current=current)
    actions = []
    allow_roles = link.allow_role_holder and bool(cloud.roles)
    joined = sync.engine_join(ad_user, world)
    if joined is not None and joined.id == cloud.id:
        actions = [scope_out(ad_user), cycle_out(), restore(cloud), clear_stamp(cloud, allow_roles)]
    elif cloud.immutable_id == ad_user.anchor:
        actions = [clear_stamp(cloud, allow_roles)]
    if actions:
        facts = user_facts(cloud, world)
        privileged = privileged_clear_refusal(facts)
        if privileged:
            return LinkPlan(link, BLOCKED, blockers=[Blocker("privileged-role", privileged, "remove the roles first",
                                                             "Microsoft Entra built-in roles")],
                            predicted=current, cloud=cloud.id, current=current)
        refusal = role_holder_refusal(facts, link.allow_role_holder, clearing=True)
        if refusal:
            return LinkPlan(link, BLOCKED, blockers=[Blocker("role-holder", refusal, ROLE_WAY_OUT, ROLE_SOURCE)],
                            predicted=current, cloud=cloud.id, current=current)
    predicted, dummy, dummy = simulate(actions + [cycle()], ad_user, world)
    if predicted.links == cloud.id and not any(a["phase"] == "scope_out" for a in actions):
        actions = [scope_out(ad_user)] + actions
        predicted, dummy, dummy = simulate(actions + [cycle()], ad_user, world)
    if predicted.links == cloud.id:
        return LinkPlan(link, BLOCKED, blockers=[prediction_blocker(predicted, UNLINK)], predicted=current,
                        cloud=cloud.id, current=current)
    return LinkPlan(link, CONFLICT, UNLINK, order(actions + [cycle()]), predicted=predicted, cloud=cloud.id,
                    current=current)


# -- many links --------------------------------------------------------------------------------------

def _ad_key(link):
    return link.ad_user.object_guid.lower() if link.ad_user is not None else None


def duplicate_ad_users(links):
    """{index: Blocker} for links that name one AD user twice: both are reported, neither applied."""
    seen = {}
    for index, link in enumerate(links):
        if _ad_key(link) is not None:
            seen.setdefault(_ad_key(link), []).append(index)
    found = {}
    for value, indexes in seen.items():
        if len(indexes) > 1:
            names = ", ".join(str(links[i].name) for i in indexes)
            for index in indexes:
                found[index] = Blocker("duplicate-link", "links %s name the same AD user %s" % (names, value),
                                       "declare one link per AD user and per cloud user",
                                       "syncfix.entra (a declaration rule)")
    return found


def resolved_cloud(plan, world):
    """The cloud user a plan is about: the declared one, else the one the sync would meet (joined,
    matched, or in its way) - compared by id, so a declared and an undeclared link meeting one
    user are caught (issue 26)."""
    if plan.link.declared:
        return plan.link.cloud_user.id
    found = world.get(plan.cloud) if plan.cloud else None
    return found.id if found is not None and found.kind == sync.USER else None


def block_shared_cloud_users(plans, world):
    """Links whose resolved cloud user is the same are all blocked: the sync links one AD user to
    a cloud user, and which one would be the planner's choice."""
    seen = {}
    for index, plan in enumerate(plans):
        key = resolved_cloud(plan, world)
        if key is not None:
            seen.setdefault(key, []).append(index)
    for key, indexes in seen.items():
        if len(indexes) < 2:
            continue
        user = world.get(key)
        names = ", ".join(str(plans[i].link.name) for i in indexes)
        for index in indexes:
            plan = plans[index]
            blocker = Blocker("duplicate-link", "links %s meet the same cloud user %s (%s)" % (
                names, user.name if user is not None else key, key),
                "declare one link per AD user and per cloud user; name each link's own cloud user (cloud: <object id>)",
                "syncfix.entra (a declaration rule)")
            plans[index] = LinkPlan(plan.link, BLOCKED, blockers=[blocker] + [
                b for b in plan.blockers if b.rule != "duplicate-link"], predicted=plan.current, cloud=key,
                current=plan.current, warnings=plan.warnings)


PROPOSAL_SOURCE = "syncfix.entra (issue 26: a scan's proposal is not a declaration)"


def proposal_blocker(proposal, accept_proposals=False):
    """A link proposed by sync_conflicts_info is applied only once a person confirmed it
    (``proposal.confirmed``), or, for a high or medium confidence proposal, when the run says
    ``accept_proposals``; a low confidence one always needs the confirmation."""
    if not proposal or proposal.get("confirmed"):
        return None
    confidence = proposal.get("confidence") or "unknown"
    if accept_proposals and confidence in ("high", "medium"):
        return None
    evidence = "; ".join(proposal.get("evidence") or []) or "none given"
    reason = "this link is a scan proposal nobody confirmed (confidence %s; evidence: %s)" % (confidence, evidence)
    if accept_proposals:
        reason += "; accept_proposals does not cover a %s confidence proposal" % confidence
        way_out = "review it and set proposal.confirmed: true on this link if the cloud user is this person's account"
    else:
        way_out = ("review it and set proposal.confirmed: true on this link, or run with accept_proposals: true "
                   "(high and medium confidence only)")
    return Blocker("unconfirmed-proposal", reason, way_out, PROPOSAL_SOURCE)


def plan_links(links, world, accept_proposals=False):
    """A LinkPlan per link, in order; links naming one AD user, or resolving to one cloud user,
    are blocked, all of them; an unconfirmed proposal is blocked."""
    duplicates = duplicate_ad_users(links)
    plans = []
    for index, link in enumerate(links):
        cloud_id = link.cloud_user.id if link.declared else None
        refused = proposal_blocker(link.proposal, accept_proposals)
        if index in duplicates:
            plans.append(LinkPlan(link, BLOCKED, blockers=[duplicates[index]], cloud=cloud_id))
        elif refused is not None:
            current = sync.predict(link.ad_user, world)
            plans.append(LinkPlan(link, BLOCKED, blockers=[refused], predicted=current, cloud=cloud_id,
                                  current=current))
        else:
            plans.append(plan_link(link, world))
    block_shared_cloud_users(plans, world)
    hold_out_of_mid_cycle(plans, world)
    return plans


def hold_out_of_mid_cycle(plans, world):
    """The phases run in order, one bulk task each: when one link needs the cycle in the middle
    (removing a resiliency duplicate), that cycle runs over every user in scope before any
    other link's stamp, alignment or purge has landed, and would provision or match those users
    the wrong way.  Each such user leaves the scope before that cycle and comes back with the
    others - only users the engine has not joined, so leaving the scope soft-deletes nothing
    ("Configure filtering").  A link whose only action is the last cycle needs no hold: the
    middle cycle does for it what the last one would."""
    if not any(a["phase"] == "cycle_out" for plan in plans if plan.state != BLOCKED for a in plan.actions):
        return
    for plan in plans:
        ad_user = plan.link.ad_user
        if plan.state == BLOCKED or not any(a["phase"] not in ("cycle",) for a in plan.actions):
            continue
        if any(a["phase"] in ("scope_out", "cycle_out") for a in plan.actions):
            continue
        if sync.out_of_scope(ad_user, world) is not None or sync.engine_join(ad_user, world) is not None:
            continue
        held = scope_out(ad_user, "keep %s out of the sync scope during the cycle in the middle of the plan, so that "
                                  "cycle can't sync it before its own fix lands (the engine has not joined it: nothing "
                                  "is soft-deleted)" % ad_user.sam)
        plan.actions = order([held] + plan.actions + [scope_in(ad_user)])
