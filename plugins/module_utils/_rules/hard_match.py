# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Hard match: the rules for stamping an on-premises anchor onto a cloud user.

Setting a cloud-only user's ``onPremisesImmutableId`` to an AD user's anchor makes Entra
Connect join the two on the next sync (hard match).  Each rule below is one documented reason
why a stamp would fail or would not lead to a hard match; each returns a refusal message that
names the user and the way out, or None.  Pure code: the callers read Graph.

Sources: "Microsoft Graph: Update user" (onPremisesImmutableId), "Microsoft Entra Connect:
When you have an existing tenant" (hard match, soft match, and the 2026 hard-match hardening),
"How to use Microsoft Entra Connect Sync service features" (onPremisesObjectIdentifier),
"Identity synchronization and duplicate attribute resiliency", "Microsoft Entra built-in
roles" (the PRIVILEGED label), and the message-center posts MC1262584 (hard match blocked for
users with privileged roles) and MC1263280 (onPremisesObjectIdentifier remapping blocked).
"""

from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import InputError
from ansible_collections.syncfix.entra.plugins.module_utils._rules.anchor import AnchorError, SourceAnchor

STATE_PRESENT = "present"
STATE_ABSENT = "absent"
VALUE_OPTIONS = ("immutable_id", "object_guid", "consistency_guid")
# The per-item opt-ins (issue 26): each unlocks its own item only; None means "the module's".
OPT_INS = ("force", "federated_upn_workaround", "allow_role_holder")


class ImmutableIdRequest:
    """One requested change: the cloud user as given, the ImmutableId wanted (None clears)."""

    def __init__(self, selector, desired, state, object_guid=None, opt_ins=None):
        self.selector = selector
        self.desired = desired
        self.state = state
        # The objectGUID of the AD object the anchor belongs to, when given (see object_guid).
        self.object_guid = object_guid
        # {opt-in: True, False or None} as the item gave them (``_module.item_specs.item_opt_in``).
        self.opt_ins = dict(opt_ins or {})


def _parse_item(entry, state, allow_opaque=False):
    given = [name for name in VALUE_OPTIONS if entry.get(name)]
    if not entry.get("user"):
        raise InputError("user is required")
    opt_ins = dict((name, entry.get(name)) for name in OPT_INS)
    if state == STATE_ABSENT:
        if given:
            raise InputError("state=absent clears the value; remove %s" % ", ".join(given))
        return ImmutableIdRequest(entry["user"], None, state, opt_ins=opt_ins)
    anchors = [name for name in ("immutable_id", "consistency_guid") if entry.get(name)]
    if not given:
        raise InputError("state=present needs one of immutable_id, object_guid, consistency_guid")
    if len(anchors) > 1:
        raise InputError("state=present takes one of immutable_id and consistency_guid (got both); "
                         "object_guid may go with either")
    object_guid = str(SourceAnchor.from_guid(entry["object_guid"]).guid) if entry.get("object_guid") else None
    if not anchors:
        anchor = SourceAnchor.from_guid(entry["object_guid"])
    elif anchors[0] == "immutable_id":
        anchor = SourceAnchor.requested(entry["immutable_id"], allow_opaque)
    else:
        anchor = SourceAnchor.from_guid(entry["consistency_guid"])
    return ImmutableIdRequest(entry["user"], anchor.immutable_id, state, object_guid, opt_ins)


def parse_items(entries, default_state, allow_opaque=False):
    """Every requested item (``users:`` entries), validated before Graph is called.

    Raises InputError naming every bad item.  A user listed twice, or one value asked for two
    users, is refused here: onPremisesImmutableId is unique, one value links one user.
    """
    items, problems = [], []
    for entry in entries:
        try:
            items.append(_parse_item(entry, entry.get("state") or default_state, allow_opaque))
        except InputError as e:
            problems.append("%s: %s" % (entry.get("user") or "(no user)", e))
    seen, taken = {}, {}
    for item in items:
        key = item.selector.lower()
        if key in seen:
            problems.append("%s: listed twice" % item.selector)
        seen[key] = item
        if item.desired is not None:
            if item.desired in taken:
                problems.append("%s: immutable id %s is also requested for %s; one value links one user"
                                % (item.selector, item.desired, taken[item.desired]))
            taken[item.desired] = item.selector
    if problems:
        raise InputError("invalid input, nothing was changed: " + "; ".join(problems))
    return items


def describe(value):
    """An ImmutableId as the results show it: the value, and its GUID when it is one."""
    if value is None:
        return {"immutable_id": None, "guid": None}
    anchor = SourceAnchor.from_immutable_id(value)
    return {"immutable_id": value, "guid": str(anchor.guid) if anchor.is_guid else None}


# "Microsoft Entra built-in roles" (entra-docs permissions-reference.md, ms.date 01/20/2026): the
# template ids of every role whose row carries the "Privileged label icon". A role assignment's
# roleDefinitionId is its template id for built-in roles. Exchange Administrator
# (29232cdf-9323-42fd-ade2-1d097af3e4de), for example, is not labelled and does not block.
PRIVILEGED_ROLE_TEMPLATE_IDS = frozenset((
    "db506228-d27e-4b7d-95e5-295956d6615f",  # Agent ID Administrator
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",  # Application Administrator
    "cf1c38e5-3621-4004-a7cb-879624dced7c",  # Application Developer
    "ecb2c6bf-0ab6-418e-bd87-7986f8d63bbe",  # Attribute Provisioning Administrator
    "422218e4-db15-4ef9-bbe0-8afb41546d79",  # Attribute Provisioning Reader
    "c4e39bd9-1100-46d3-8c65-fb160da0071f",  # Authentication Administrator
    "25a516ed-2fa0-40ea-a2d0-12923a21473a",  # Authentication Extensibility Administrator
    "aaf43236-0c0d-4d5f-883a-6955382ac081",  # B2C IEF Keyset Administrator
    "158c047a-c907-4556-b7ef-446551a6b5f7",  # Cloud Application Administrator
    "7698a772-787b-4ac8-901f-60d6b08affd2",  # Cloud Device Administrator
    "b1be1c3e-b65d-4f19-8427-f6fa0d97feb9",  # Conditional Access Administrator
    "9360feb5-f418-4baa-8175-e2a00bac4301",  # Directory Writers
    "8329153b-31d0-4727-b945-745eb3bc5f31",  # Domain Name Administrator
    "be2f45a1-457d-42af-a067-6ec1fa63bc45",  # External Identity Provider Administrator
    "62e90394-69f5-4237-9190-012177145e10",  # Global Administrator
    "f2ef992c-3afb-46b9-b7cf-a126ee74c451",  # Global Reader
    "729827e3-9c14-49f7-bb1b-9608f156bbb8",  # Helpdesk Administrator
    "8ac3fc64-6eca-42ea-9e69-59f4c7b60eb2",  # Hybrid Identity Administrator
    "3a2c62db-5318-420d-8d74-23affee5d9d5",  # Intune Administrator
    "59d46f88-662b-457b-bceb-5c3809e5908f",  # Lifecycle Workflows Administrator
    "4ba39ca4-527c-499a-b93d-d9b492c50246",  # Partner Tier1 Support
    "e00e864a-17c5-4a4b-9c06-f5b95a8d5bd8",  # Partner Tier2 Support
    "966707d0-3269-4727-9be2-8c3a10f19b9d",  # Password Administrator
    "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",  # Privileged Authentication Administrator
    "e8611ab8-c189-46e8-94e1-60213ab1f814",  # Privileged Role Administrator
    "194ae4cb-b126-40b2-bd5b-6091b380977d",  # Security Administrator
    "5f2222b1-57c3-48ba-8ad5-d4759f1fde6f",  # Security Operator
    "5d6b6bb7-de71-4623-b4af-96380a352509",  # Security Reader
    "fe930be7-5e62-47db-91af-98c3a49a38b1",  # User Administrator
))

# "How to use Microsoft Entra Connect Sync service features" / MC1263280: the sync engine's error
# (AttributeUpdateNotAllowed) when a hard match would remap onPremisesObjectIdentifier.
REMAP_BLOCKED = ("Hard match operation blocked due to security hardening. Review OnPremisesObjectIdentifier "
                 "mapping.")
REMAP_FEATURE = "allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled"


class UserFacts:
    """What the rules need to know about one cloud user, already read.

    Built from a Graph user (a dict as read, here), or with ``of`` from the engine model's fields
    (``_sync.prediction.user_facts`` of a CloudObject): one set of facts, whoever read them."""

    def __init__(self, user, role_ids=(), federated_domains=(), role_names=None):
        # Absent (not null) when this Graph's schema does not offer the property: unknown.
        self._fill(user.get("id"), user.get("userPrincipalName"), user.get("onPremisesImmutableId"),
                   user.get("onPremisesSyncEnabled"), user.get("onPremisesObjectIdentifier"),
                   "onPremisesObjectIdentifier" in user, role_ids, federated_domains, role_names)

    @classmethod
    def of(cls, user_id, upn, immutable_id, synced, object_identifier, object_identifier_known, role_ids=(),
           federated_domains=(), role_names=None):
        """The facts from their values (no wire shape): ``object_identifier_known`` False where this
        Graph does not offer onPremisesObjectIdentifier."""
        facts = cls.__new__(cls)
        facts._fill(user_id, upn, immutable_id, synced, object_identifier, object_identifier_known, role_ids,
                    federated_domains, role_names)
        return facts

    def _fill(self, user_id, upn, immutable_id, synced, object_identifier, object_identifier_known, role_ids,
              federated_domains, role_names):
        self.id = user_id
        self.upn = upn or self.id
        self.immutable_id = immutable_id
        self.synced = bool(synced)
        self.object_identifier = object_identifier
        self.object_identifier_known = bool(object_identifier_known)
        self.role_ids = sorted(set(role_ids))
        # {role definition id (lower case): displayName}, for messages people can read.
        self.role_names = dict((k.lower(), v) for k, v in (role_names or {}).items() if v)
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


def privileged_role_ids(user):
    """The role definitions the user holds or is eligible for that carry the PRIVILEGED label."""
    return sorted(r for r in user.role_ids if r.lower() in PRIVILEGED_ROLE_TEMPLATE_IDS)


def role_label(user, role_id):
    """A role as people read it: "Global Administrator (62e90394-...)", its id when unnamed."""
    name = user.role_names.get(role_id.lower())
    return "%s (%s)" % (name, role_id) if name and name.lower() != role_id.lower() else role_id


def privileged_role_labels(user):
    """The PRIVILEGED roles as people read them."""
    return [role_label(user, role_id) for role_id in privileged_role_ids(user)]


def privileged_role_refusal(user):
    """MC1262584 (from June 2026): a hard match is blocked when the target cloud user holds or is
    eligible for a privileged Microsoft Entra role ("When you have an existing tenant"). Only roles
    labelled PRIVILEGED count; any other role is no reason to refuse."""
    privileged = privileged_role_labels(user)
    if not privileged:
        return None
    return (
        "cloud user %s holds or is eligible for directory roles labelled PRIVILEGED: %s; "
        "since the 2026 hard-match security hardening (MC1262584) Entra blocks a hard match to such a user, "
        "and the next sync reports InvalidHardMatch. Remove those role assignments and eligibilities first, or "
        "link a different, unprivileged cloud user" % (user.upn, ", ".join(privileged))
    )


def role_labels(user):
    """Every directory role the user holds or is eligible for, as people read them."""
    return [role_label(user, role_id) for role_id in user.role_ids]


def role_holder_refusal(user, allow_role_holder, clearing=False):
    """Linking a cloud user gives the AD side control of everything the account holds, its
    directory roles too (issue 26): any role, built-in or custom, active or eligible, directly or
    through a role-assignable group, is a person's decision,
    unlocked per item by ``allow_role_holder``.  Clearing the anchor is the same decision the
    other way: the next sync may soft match the account, roles and all, to whichever AD user
    holds its address.  The PRIVILEGED ones stay refused whatever the opt-in: Entra itself blocks
    a hard match to them (MC1262584, ``privileged_role_refusal``), and an administrator's link is
    not changed by a task (``privileged_clear_refusal``)."""
    if allow_role_holder or not user.role_ids:
        return None
    if clearing:
        return (
            "cloud user %s holds or is eligible for directory roles: %s; clearing its immutable id unlinks it, and the "
            "next sync may soft match it, roles and all, to whichever AD user holds its address. Set "
            "allow_role_holder: true on this item if that is intended, or remove the role assignments and "
            "eligibilities first" % (user.upn, ", ".join(role_labels(user)))
        )
    return (
        "cloud user %s holds or is eligible for directory roles: %s; linking it to an AD user hands those roles "
        "to whoever controls that AD account. Set allow_role_holder: true on this item if that is intended, or "
        "remove the role assignments and eligibilities first" % (user.upn, ", ".join(role_labels(user)))
    )


def _same_guid(left, right):
    try:
        return SourceAnchor.from_guid(left).guid == SourceAnchor.from_guid(right).guid
    except AnchorError:
        return left.strip().lower() == right.strip().lower()


def on_premises_guid(immutable_id, object_guid=None):
    """The objectGUID of the AD object an anchor belongs to: ``object_guid`` when given, else the
    GUID the immutable id decodes to (the objectGUID, unless mS-DS-ConsistencyGuid was set to
    another value), else None (an opaque anchor)."""
    if object_guid:
        return str(SourceAnchor.from_guid(object_guid).guid)
    anchor = SourceAnchor.from_immutable_id(immutable_id)
    return str(anchor.guid) if anchor.is_guid else None


def object_identifier_refusal(user, immutable_id, object_guid=None, features=None):
    """MC1263280 / "How to use ... sync service features": Entra blocks a hard match when the
    cloud user's onPremisesObjectIdentifier differs from the objectGUID of the incoming AD
    object, unless the tenant turned on allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled
    ("disabled by default"). The same AD object, or no identifier, is a hard match as before."""
    if not user.object_identifier or (features or {}).get(REMAP_FEATURE):
        return None
    ad_guid = on_premises_guid(immutable_id, object_guid)
    if ad_guid is not None and _same_guid(user.object_identifier, ad_guid):
        return None
    recovery = (
        "Either clear the identifier first (PATCH https://graph.microsoft.com/beta/users/%s with "
        "{\"onPremisesObjectIdentifier\": null}, permission User-OnPremisesSyncBehavior.ReadWrite.All, as a Global "
        "Administrator or Hybrid Identity Administrator; or ADSyncTools: Clear-ADSyncToolsOnPremisesAttribute -Id %s "
        "-onPremisesObjectIdentifier), or turn on the tenant feature %s (disabled by default) for the change window "
        "and off again after the sync" % (user.id, user.id, REMAP_FEATURE)
    )
    if ad_guid is None:
        return (
            "cloud user %s already has onPremisesObjectIdentifier %s and immutable id %s is not a GUID, so whether it "
            "belongs to the same AD object is unknown: set object_guid to the objectGUID of the AD object this anchor "
            "belongs to. If it is another object, the next sync fails with \"%s\" (AttributeUpdateNotAllowed). %s"
            % (user.upn, user.object_identifier, immutable_id, REMAP_BLOCKED, recovery)
        )
    return (
        "cloud user %s already has onPremisesObjectIdentifier %s, but the AD object being linked has objectGUID %s: "
        "since the 2026 hard-match security hardening (MC1263280) the sync refuses to remap it, failing with \"%s\" "
        "(AttributeUpdateNotAllowed). %s" % (user.upn, user.object_identifier, ad_guid, REMAP_BLOCKED, recovery)
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


def clear_refusal(user, force):
    """Clearing an anchor unlinks the cloud user from its AD object: as consequential as
    replacing it, so it needs force too."""
    if force:
        return None
    return (
        "cloud user %s has immutable id %s; clearing it unlinks it from that AD object, and a later sync may "
        "soft match or provision it anew. Set force: true to clear it (the old value is returned in before)"
        % (user.upn, user.immutable_id)
    )


def privileged_clear_refusal(user):
    """An administrator's link is not changed by a bulk task: a person takes the role away first."""
    privileged = privileged_role_labels(user)
    if not privileged:
        return None
    return (
        "cloud user %s holds or is eligible for directory roles labelled PRIVILEGED: %s; "
        "its immutable id is left alone, even with force. Remove those role assignments and eligibilities first"
        % (user.upn, ", ".join(privileged))
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


def plan_immutable_id(user, desired, holders=(), force=False, federated_upn_workaround=False, features=None,
                      object_guid=None, allow_role_holder=False):
    """Decide one stamp (``desired`` an ImmutableId) or clear (``desired`` None).

    ``force``, ``federated_upn_workaround`` and ``allow_role_holder`` are this item's own
    opt-ins (issue 26: an opt-in unlocks its own item only).  A role holder needs
    ``allow_role_holder`` to be stamped or cleared; a PRIVILEGED one is refused whatever it is.

    ``features`` are the tenant's directory-sync features, as Graph returns them.
    ``object_guid`` is the objectGUID of the AD object the anchor belongs to, when the caller
    knows it; left out, the GUID ``desired`` decodes to stands in for it.

    A user that already has the desired value is left alone whatever else is true of it; the
    refusals matter only when something would be written.
    """
    if user.immutable_id == desired:
        return ImmutableIdPlan(user, desired)
    if desired is None:
        return ImmutableIdPlan(user, None, synced_user_refusal(user) or privileged_clear_refusal(user)
                               or role_holder_refusal(user, allow_role_holder, clearing=True)
                               or federated_clear_refusal(user) or clear_refusal(user, force))
    refusal = (
        synced_user_refusal(user)
        or cloud_takeover_block_refusal(user, features)
        or privileged_role_refusal(user)
        or role_holder_refusal(user, allow_role_holder)
        or object_identifier_refusal(user, desired, object_guid, features)
        or anchor_holder_refusal(user, desired, holders)
        or existing_value_refusal(user, desired, force)
        or federated_upn_refusal(user, federated_upn_workaround)
    )
    return ImmutableIdPlan(user, desired, refusal, move_upn=bool(user.federated_domain) and refusal is None)


def fact_warnings(plans, features):
    """What could not be checked before a stamp, so the user knows what the sync may still refuse.

    ``plans`` are ImmutableIdPlans; ``features`` None means the app may not read them.
    """
    stamping = [p for p in plans if p.changed and p.desired is not None]
    warnings = []
    if stamping and features is None:
        warnings.append("could not read the tenant's directory sync features (the app needs "
                        "OnPremDirectorySynchronization.Read.All): if blockCloudObjectTakeoverThroughHardMatchEnabled is "
                        "on, the next sync refuses these hard matches (InvalidHardMatch)")
    unknown = sorted(p.user.upn for p in stamping if not p.user.object_identifier_known)
    if unknown:
        warnings.append("this Graph does not offer onPremisesObjectIdentifier, so it was not checked for %s: if it "
                        "is set to another AD object's objectGUID, Entra blocks the hard match (\"Hard match operation "
                        "blocked due to security hardening\")" % ", ".join(unknown))
    return warnings
