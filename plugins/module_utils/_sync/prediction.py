# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the sync engine (Entra Connect Sync or Cloud Sync) will do with each AD user on the next
cycle, given both directories.  Pure code: the callers read AD and Graph.

Written from the documents (shared/DESIGN.md and the sources in lab/README.md's rule table), one
named function per rule; each docstring names its Microsoft document, or says "lab's assumption"
where no Microsoft page states the rule.  The lab's sync simulator is an independent reading of
the same documents; tests compare the two.

The cycle, in order ("Microsoft Entra Connect: When you have an existing tenant"):

1. Sync scope: a user outside it is not synchronised (and the cloud user it was joined to is
   soft-deleted).
2. An object the engine already joined keeps its join and the anchor it was projected with;
   only its attributes flow.
3. An object new to the engine: hard match on sourceAnchor = onPremisesImmutableId, then soft
   match on the primary SMTP address, then on the UPN, else a new cloud user.
4. Export: UPN and SMTP addresses are unique tenant-wide; Duplicate Attribute Resiliency
   quarantines a duplicate (the object is still created) or, with its switch off, the export
   fails with AttributeValueMustBeUnique.
"""

import calendar
import copy
import re
import time

from ansible_collections.syncfix.entra.plugins.module_utils._rules import sync_scope
from ansible_collections.syncfix.entra.plugins.module_utils._rules.dn import DnError, dn_key
from ansible_collections.syncfix.entra.plugins.module_utils._rules.anchor import SourceAnchor
from ansible_collections.syncfix.entra.plugins.module_utils._rules.proxy_address import (
    primary_smtp,
    smtp_address,
    smtp_addresses,
)
from ansible_collections.syncfix.entra.plugins.module_utils._rules.user_removal import has_mailbox
from ansible_collections.syncfix.entra.plugins.module_utils._rules.hard_match import (
    PRIVILEGED_ROLE_TEMPLATE_IDS,
    REMAP_BLOCKED,
    REMAP_FEATURE,
    UserFacts,
)


class _Unknown(object):
    """A property this Graph does not offer: unknown, not absent ("never assume")."""

    def __repr__(self):
        return "UNKNOWN"

    def __bool__(self):
        return False

    __nonzero__ = __bool__


UNKNOWN = _Unknown()

# "onPremisesDirectorySynchronizationFeature resource type": the defaults of a tenant.
DEFAULT_FEATURES = {
    "blockSoftMatchEnabled": False,
    "blockCloudObjectTakeoverThroughHardMatchEnabled": False,
    "softMatchOnUpnEnabled": True,
    "quarantineUponProxyAddressesConflictEnabled": True,
    "quarantineUponUpnConflictEnabled": True,
    REMAP_FEATURE: False,
}

# The enforcement dates the message-center posts give: MC1262584 (June 2026) and MC1263280
# (2026-07-01).
ROLE_HARDENING_FROM = calendar.timegm((2026, 6, 1, 0, 0, 0))
OBJECT_IDENTIFIER_HARDENING_FROM = calendar.timegm((2026, 7, 1, 0, 0, 0))
# "Restore or remove a recently deleted user": kept 30 days, then purged.
RECYCLE_BIN_SECONDS = 30 * 86400

JOINED, OUT_OF_SCOPE, HARD, SOFT_SMTP, SOFT_UPN, PROVISION, ERROR = (
    "joined", "out-of-scope", "hard", "soft-smtp", "soft-upn", "provision", "error")
OUTCOMES = (JOINED, OUT_OF_SCOPE, HARD, SOFT_SMTP, SOFT_UPN, PROVISION, ERROR)
MATCHES = (HARD, SOFT_SMTP, SOFT_UPN)

USER, GROUP, CONTACT = "user", "group", "contact"
_KIND_ORDER = {USER: 0, GROUP: 1, CONTACT: 2}


def _lower(value):
    return value.lower() if isinstance(value, str) else None


def _guid_key(value):
    try:
        return str(SourceAnchor.from_guid(value).guid)
    except ValueError:
        return str(value).strip().lower()


def _dn_key(value):
    """A DN as AD compares it (``CN=Doe\\, John`` is ``cn=doe\\2c john``); a cloud
    onPremisesDistinguishedName that is no DN is compared as text, without case."""
    try:
        return dn_key(value)
    except DnError:
        return value.strip().lower()


_DELETED_PREFIX = re.compile(r"^[0-9a-f]{32}(?=.*@)")


def undeleted_upn(upn):
    """The UPN a soft-deleted user had: Entra renames it ``<object id without hyphens><UPN>``
    ("Restore or remove a recently deleted user"), lower-cased."""
    return _DELETED_PREFIX.sub("", upn.lower(), count=1)


class AdUser(object):
    """An AD user as the AD connector reads it.  GUIDs are text."""

    # A plan of 10,000 links holds 10,000 of these and more cloud objects: no dict each.
    __slots__ = ("dn", "object_guid", "consistency_guid", "sam", "upn", "mail", "proxy_addresses",
                 "admin_description", "in_scope_ou")

    def __init__(self, dn, object_guid, consistency_guid=None, sam=None, upn=None, mail=None,
                 proxy_addresses=(), admin_description=None, in_scope_ou=True):
        self.dn = dn
        self.object_guid = str(object_guid)
        self.consistency_guid = str(consistency_guid) if consistency_guid else None
        self.sam = sam
        self.upn = upn
        self.mail = mail
        self.proxy_addresses = list(proxy_addresses or [])
        self.admin_description = admin_description
        self.in_scope_ou = in_scope_ou

    @property
    def anchor(self):
        """The ImmutableId the engine uses: Base64 of mS-DS-ConsistencyGuid, or of objectGUID when
        that is empty, because Connect writes the objectGUID into it first ("Microsoft Entra Connect:
        Design concepts", Using ms-DS-ConsistencyGuid as sourceAnchor)."""
        return SourceAnchor.from_guid(self.consistency_guid or self.object_guid).immutable_id

    @property
    def primary_smtp(self):
        """The ``SMTP:`` value; soft match looks at nothing else ("When you have an existing tenant":
        "only the value with SMTP:, that is the primary email address, is used")."""
        return primary_smtp(self.proxy_addresses)

    def copy(self):
        return copy.deepcopy(self)

    def __repr__(self):
        return "AdUser(%r)" % (self.sam or self.dn)


class CloudObject(object):
    """A cloud user, group or contact as Graph returns it (with $select), plus the lab's facts:
    ``mailbox`` (Exchange Online), ``roles`` ({name, template_id, assignment: active|eligible})."""

    __slots__ = ("id", "kind", "upn", "mail", "proxy_addresses", "immutable_id", "sync_enabled", "object_identifier",
                 "deleted", "deleted_at", "mailbox", "roles", "sam", "dn", "provisioning_errors", "licenses",
                 "display_name")

    def __init__(self, id, kind=USER, upn=None, mail=None, proxy_addresses=(), immutable_id=None,
                 sync_enabled=False, object_identifier=None, deleted=False, deleted_at=None, mailbox=False,
                 roles=(), sam=None, dn=None, provisioning_errors=(), licenses=(), display_name=None):
        self.id = id
        self.kind = kind
        self.upn = upn
        self.mail = mail
        self.proxy_addresses = list(proxy_addresses or [])
        self.immutable_id = immutable_id
        self.sync_enabled = bool(sync_enabled)
        self.object_identifier = object_identifier
        self.deleted = bool(deleted)
        self.deleted_at = deleted_at
        self.mailbox = bool(mailbox)
        self.roles = [dict(r) for r in roles or []]
        self.sam = sam
        self.dn = dn
        self.provisioning_errors = list(provisioning_errors or [])
        self.licenses = list(licenses or [])
        self.display_name = display_name

    @property
    def name(self):
        return self.upn or self.display_name or self.mail or self.id

    @property
    def primary_smtp(self):
        """Lower-cased ``SMTP:`` proxy address, else ``mail``."""
        return _lower(primary_smtp(self.proxy_addresses)) or _lower(self.mail) or None

    @property
    def smtp_addresses(self):
        """Every SMTP address it holds (``smtp:`` values and ``mail``), lower-cased."""
        found = set(a.lower() for a in smtp_addresses(self.proxy_addresses))
        if self.mail:
            found.add(self.mail.lower())
        return found

    def role_ids(self, assignments=("active", "eligible")):
        return sorted(set(r.get("template_id") for r in self.roles
                          if r.get("template_id") and r.get("assignment", "active") in assignments))

    def copy(self):
        return copy.deepcopy(self)

    def __repr__(self):
        return "CloudObject(%r, %r%s)" % (self.kind, self.name, ", deleted" if self.deleted else "")


def cloud_object_of(user, kind=USER, deleted=False, roles=None):
    """A Graph user (or group, contact) as a CloudObject: the one reading of Graph's shape into
    the model, for the planner's reader (``_graph.cloud_users``) and the scan alike.  A property this Graph did not return
    (``onPremisesObjectIdentifier`` on some clouds) is UNKNOWN, not absent.  Whether a user has a
    mailbox is read from what Exchange Online stamps on it (``mail``, SMTP proxy addresses):
    Graph v1.0 has no property that says so."""
    identifier = user.get("onPremisesObjectIdentifier") if "onPremisesObjectIdentifier" in user else UNKNOWN
    deleted_at = user.get("deletedDateTime")
    return CloudObject(
        user["id"], kind=kind, upn=user.get("userPrincipalName"), mail=user.get("mail"),
        proxy_addresses=[p for p in user.get("proxyAddresses") or [] if isinstance(p, str)], immutable_id=user.get("onPremisesImmutableId"),
        sync_enabled=bool(user.get("onPremisesSyncEnabled")), object_identifier=identifier if kind == USER
        else None, deleted=deleted, deleted_at=_epoch(deleted_at) if deleted_at else None,
        mailbox=kind == USER and has_mailbox(user), roles=roles or [],
        sam=user.get("onPremisesSamAccountName"), dn=user.get("onPremisesDistinguishedName"),
        provisioning_errors=user.get("onPremisesProvisioningErrors") or [], display_name=user.get("displayName"),
        licenses=[a.get("skuId") for a in user.get("assignedLicenses") or [] if a.get("skuId")])


def _epoch(text):
    return calendar.timegm(time.strptime(text[:19], "%Y-%m-%dT%H:%M:%S"))


def user_facts(cloud, federated_domains=()):
    """The hard-match rules' facts (``_rules.hard_match.UserFacts``) of a cloud user: the one
    cloud-user model serves the planner and entra_immutable_id alike.  A role held or eligible
    for counts the same; an unknown onPremisesObjectIdentifier stays unknown."""
    known = cloud.object_identifier is not UNKNOWN
    return UserFacts.of(cloud.id, cloud.upn, cloud.immutable_id, cloud.sync_enabled,
                        cloud.object_identifier if known else None, known, cloud.role_ids(), federated_domains,
                        role_names=dict((r.get("template_id"), r.get("name")) for r in cloud.roles
                                        if r.get("template_id")))


class TenantFacts(object):
    """The tenant's sync features (Graph ``onPremisesSynchronization``), its domains and clock."""

    def __init__(self, features=None, initial_domain=None, verified_domains=(), now=0,
                 soft_deleted_mailbox_reserves_addresses=True, federated_domains=()):
        self.features = dict(DEFAULT_FEATURES)
        self.features.update(features or {})
        self.initial_domain = initial_domain
        self.verified_domains = set(d.lower() for d in verified_domains or ())
        if initial_domain:
            self.verified_domains.add(initial_domain.lower())
        self.now = now
        self.soft_deleted_mailbox_reserves_addresses = soft_deleted_mailbox_reserves_addresses
        self.federated_domains = set(d.lower() for d in federated_domains or ())

    def feature(self, name):
        return bool(self.features.get(name, DEFAULT_FEATURES.get(name)))


class World(object):
    """Every cloud object and the tenant facts, indexed so one prediction costs O(1) lookups.

    ``overlay()`` gives a copy-on-write child: a plan changes a few objects of a copy without
    copying 10,000 of them.
    """

    _INDEXES = ("anchor", "upn", "address", "primary", "identifier", "dn", "deleted_upn")

    def __init__(self, cloud_objects=(), tenant=None, parent=None):
        self.tenant = tenant if tenant is not None else (parent.tenant if parent else TenantFacts())
        self.parent = parent
        self._objects = {}
        self._index = dict((name, {}) for name in self._INDEXES)
        self._seq = {}
        self._next = parent._next if parent else 0
        for obj in cloud_objects:
            self.put(obj)

    def overlay(self):
        return World(tenant=self.tenant, parent=self)

    # -- writes ------------------------------------------------------------------------------

    def put(self, obj):
        """Add or replace an object (by id)."""
        self.remove(obj.id)
        if self._expired(obj):
            return
        self._objects[obj.id] = obj
        if self._seq_of(obj.id) is None:
            self._seq[obj.id] = self._next
            self._next += 1
        for name, key in self._keys(obj):
            self._index[name].setdefault(key, []).append(obj)

    def remove(self, object_id):
        """Forget an object (a purge); in an overlay the parent's copy is hidden."""
        old = self._objects.get(object_id)
        if old is not None:
            for name, key in self._keys(old):
                bucket = self._index[name].get(key, [])
                if old in bucket:
                    bucket.remove(old)
        self._objects[object_id] = None

    def _expired(self, obj):
        return bool(obj.deleted and obj.deleted_at is not None
                    and obj.deleted_at <= self.tenant.now - RECYCLE_BIN_SECONDS)

    @staticmethod
    def _keys(obj):
        if obj.kind == USER and obj.immutable_id:
            yield "anchor", obj.immutable_id
        if obj.kind == USER and obj.upn and not obj.deleted:
            yield "upn", obj.upn.lower()
        for address in obj.smtp_addresses:
            yield "address", address
        if obj.kind == USER and obj.mailbox and not obj.deleted and obj.primary_smtp:
            yield "primary", obj.primary_smtp
        if obj.kind == USER and isinstance(obj.object_identifier, str) and obj.object_identifier:
            yield "identifier", _guid_key(obj.object_identifier)
        if obj.kind == USER and obj.dn:
            yield "dn", _dn_key(obj.dn)
        if obj.kind == USER and obj.upn and obj.deleted:
            yield "deleted_upn", undeleted_upn(obj.upn)

    # -- reads -------------------------------------------------------------------------------

    def get(self, object_id):
        if object_id in self._objects:
            return self._objects[object_id]
        return self.parent.get(object_id) if self.parent else None

    def _lookup(self, name, key):
        inherited = [o for o in self.parent._lookup(name, key) if o.id not in self._objects] if self.parent else []
        return inherited + list(self._index[name].get(key, []))

    def _seq_of(self, object_id):
        if object_id in self._seq:
            return self._seq[object_id]
        return self.parent._seq_of(object_id) if self.parent else None

    def order(self, obj):
        """The sync engine's reading order: users, then groups, then contacts, each as loaded."""
        seq = self._seq_of(obj.id)
        return (_KIND_ORDER.get(obj.kind, 3), seq if seq is not None else 0)

    def by_identifier(self, guid):
        return sorted(self._lookup("identifier", _guid_key(guid)), key=self.order)

    def by_dn(self, dn):
        return sorted(self._lookup("dn", _dn_key(dn)), key=self.order) if dn else []

    def by_anchor(self, immutable_id):
        return sorted(self._lookup("anchor", immutable_id), key=self.order)

    def active_user_by_upn(self, upn):
        found = self._lookup("upn", upn.lower()) if upn else []
        return min(found, key=self.order) if found else None

    def deleted_users_by_upn(self, upn):
        """The soft-deleted users whose UPN is (or was, before Entra renamed it) ``upn``."""
        return sorted(self._lookup("deleted_upn", upn.lower()), key=self.order) if upn else []

    def holders(self, address):
        return sorted(self._lookup("address", address.lower()), key=self.order)

    def mailbox_by_primary(self, address):
        found = self._lookup("primary", address.lower()) if address else []
        return min(found, key=self.order) if found else None

    def objects(self):
        seen = {}
        if self.parent:
            for obj in self.parent.objects():
                seen[obj.id] = obj
        for object_id, obj in self._objects.items():
            seen[object_id] = obj
        return sorted((o for o in seen.values() if o is not None), key=self.order)


class Prediction(object):
    """The outcome for one AD user on the next cycle."""

    def __init__(self, outcome, target=None, error=None, attribute=None, value=None, restored=False,
                 quarantined=(), upn=None, reason=None, source=None, warnings=(), soft_deletes=()):
        self.outcome = outcome
        self.target = target            # the cloud object id joined, matched, or in the way
        self.error = error              # the documented error name
        self.attribute = attribute
        self.value = value
        self.restored = restored        # a hard match restores a soft-deleted user
        self.quarantined = list(quarantined)  # [(propertyCausingError, value)]
        self.upn = upn                  # the cloud UPN after the cycle ('#' = a placeholder digit)
        self.reason = reason
        self.source = source
        self.warnings = list(warnings)
        self.soft_deletes = list(soft_deletes)  # cloud ids the cycle soft-deletes for this object
        self.exported = None            # (proxy addresses, mail) the cloud user gets

    @property
    def links(self):
        """The cloud user this AD user is joined to after the cycle, when it is an existing one."""
        return self.target if self.outcome in (JOINED,) + MATCHES else None

    def to_dict(self):
        return dict((k, v) for k, v in vars(self).items())

    def __repr__(self):
        return "Prediction(%s, target=%r, error=%r, quarantined=%r)" % (
            self.outcome, self.target, self.error, self.quarantined)


class ExportFailure(Exception):
    def __init__(self, error, attribute, value, holder, reason, source):
        super(ExportFailure, self).__init__(reason)
        self.error, self.attribute, self.value = error, attribute, value
        self.holder, self.reason, self.source = holder, reason, source


def _error(error, target, attribute, value, reason, source):
    return Prediction(ERROR, target=target.id if target is not None else None, error=error,
                      attribute=attribute, value=value, reason=reason, source=source)


# -- 1. sync scope -------------------------------------------------------------------------------

def outside_ou_filter(ad_user):
    """OU filtering: only the selected OUs are read ("Microsoft Entra Connect Sync: Configure
    filtering", domain and OU-based filtering)."""
    return not ad_user.in_scope_ou


def excluded_by_admin_description(ad_user):
    """Lab's assumption: Connect's out-of-box user rules skip a user whose adminDescription starts
    with ``User_`` (the Synchronization Rules Editor's scoping filter; no Microsoft Learn page we
    found states it).  ``_rules.sync_scope`` owns the rule and its case handling."""
    return sync_scope.excluded_by_admin_description(ad_user.admin_description)


def out_of_scope(ad_user, world):
    """A user outside the scope is not synchronised; the cloud user it was joined to "gets
    deleted in Microsoft Entra ID" (soft-deleted, "Configure filtering", "Enable the recycle
    bin")."""
    if not (outside_ou_filter(ad_user) or excluded_by_admin_description(ad_user)):
        return None
    joined = engine_join(ad_user, world)
    why = "outside the synchronised OUs" if outside_ou_filter(ad_user) else \
        "adminDescription %r starts with User_" % ad_user.admin_description
    return Prediction(OUT_OF_SCOPE, target=joined.id if joined else None,
                      soft_deletes=[joined.id] if joined else [],
                      reason="%s is out of the sync scope (%s)%s" % (
                          ad_user.sam or ad_user.dn, why,
                          "; its cloud user %s is soft-deleted" % joined.name if joined else ""),
                      source="Configure filtering" if outside_ou_filter(ad_user) else
                      "lab's assumption (Connect's default rule 'In from AD - User Join')")


# -- 2. objects the engine already joined ---------------------------------------------------------

def engine_join(ad_user, world):
    """The cloud user the engine joined this AD object to, as Graph shows it: an active synced
    user whose onPremisesObjectIdentifier is the object's objectGUID ("user resource type";
    "How to use ... sync service features": every synced user carries it), or, where this Graph
    lacks that property, whose onPremisesDistinguishedName is the object's DN."""
    for candidate in _joined_candidates(ad_user, world):
        if candidate.deleted or not candidate.sync_enabled or candidate.kind != USER:
            continue
        if candidate.object_identifier is UNKNOWN:
            if candidate.dn and ad_user.dn and _dn_key(candidate.dn) == _dn_key(ad_user.dn):
                return candidate
        elif candidate.object_identifier and _same_guid(candidate.object_identifier, ad_user.object_guid):
            return candidate
    return None


def _joined_candidates(ad_user, world):
    found = world.by_identifier(ad_user.object_guid)
    return found + [o for o in world.by_dn(ad_user.dn) if o not in found]


def _same_guid(left, right):
    try:
        return SourceAnchor.from_guid(left).guid == SourceAnchor.from_guid(right).guid
    except ValueError:
        return str(left).strip().lower() == str(right).strip().lower()


def anchor_changed(ad_user, joined):
    """"If the value for sourceAnchor is changed after the object has been exported ... Microsoft
    Entra Connect Sync throws an error and doesn't allow any more changes on that object" until it
    is changed back ("Microsoft Entra Connect: Design concepts").  The page names no error code:
    ``SourceAnchorChanged`` is the lab's name."""
    if joined.immutable_id == ad_user.anchor:
        return None
    return _error("SourceAnchorChanged", joined, "sourceAnchor", ad_user.anchor,
                  "%s was projected with sourceAnchor %s and its mS-DS-ConsistencyGuid now gives %s; the engine "
                  "exports nothing for it until the value is changed back, or the object leaves the sync scope "
                  "for one cycle and comes back as a new object" % (ad_user.sam, joined.immutable_id, ad_user.anchor),
                  "Microsoft Entra Connect: Design concepts (error name: lab's)")


# -- 3a. hard match --------------------------------------------------------------------------------

def hard_match_target(ad_user, world):
    """Hard match: the cloud user whose onPremisesImmutableId is the sourceAnchor, active or
    soft-deleted; matching a soft-deleted one restores it ("When you have an existing tenant")."""
    found = world.by_anchor(ad_user.anchor)
    return found[0] if found else None


def takeover_block(ad_user, target, tenant):
    """``blockCloudObjectTakeoverThroughHardMatchEnabled`` refuses a hard match to a user that is
    not DirSync-enabled: InvalidHardMatch ("Understanding errors during Microsoft Entra
    synchronization"; a synced user soft-deleted by the engine is DirSync-disabled)."""
    if not tenant.feature("blockCloudObjectTakeoverThroughHardMatchEnabled") or target.sync_enabled:
        return None
    return _error("InvalidHardMatch", target, "sourceAnchor", ad_user.anchor,
                  "the tenant blocks hard match to cloud-managed users "
                  "(blockCloudObjectTakeoverThroughHardMatchEnabled) and %s is not DirSync-enabled" % target.name,
                  "Understanding errors during Microsoft Entra synchronization (InvalidHardMatch)")


def privileged_role_hardening(ad_user, target, tenant):
    """MC1262584 (from June 2026), "When you have an existing tenant" (07/2026): no hard match
    takes over a cloud-managed user assigned or eligible for a role labelled PRIVILEGED ("Microsoft
    Entra built-in roles"), soft-deleted or not: InvalidHardMatch."""
    held = [r for r in target.role_ids() if r.lower() in PRIVILEGED_ROLE_TEMPLATE_IDS]
    if tenant.now < ROLE_HARDENING_FROM or target.sync_enabled or not held:
        return None
    names = sorted(r.get("name") or r.get("template_id") for r in target.roles
                   if (r.get("template_id") or "").lower() in PRIVILEGED_ROLE_TEMPLATE_IDS)
    return _error("InvalidHardMatch", target, "sourceAnchor", ad_user.anchor,
                  "Hard match operation blocked due to security hardening: cloud-managed user %s holds or is "
                  "eligible for privileged role %s" % (target.name, ", ".join(names)),
                  "MC1262584; When you have an existing tenant")


def object_identifier_hardening(ad_user, target, tenant):
    """MC1263280 (from 2026-07-01), "How to use ... sync service features": a cloud user whose
    onPremisesObjectIdentifier names a different on-premises object can't be remapped:
    AttributeUpdateNotAllowed, unless allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled."""
    mapped = target.object_identifier
    if tenant.now < OBJECT_IDENTIFIER_HARDENING_FROM or not mapped or tenant.feature(REMAP_FEATURE):
        return None
    if _same_guid(mapped, ad_user.object_guid):
        return None
    return _error("AttributeUpdateNotAllowed", target, "onPremisesObjectIdentifier", ad_user.object_guid,
                  "%s %s is mapped to on-premises object %s, not %s"
                  % (REMAP_BLOCKED, target.name, mapped, ad_user.object_guid),
                  "MC1263280; How to use Microsoft Entra Connect Sync service features")


def object_identifier_unknown(target, tenant):
    """A property this Graph lacks is unknown: the remap rule can't be decided, so say so."""
    if target.object_identifier is not UNKNOWN or tenant.now < OBJECT_IDENTIFIER_HARDENING_FROM \
            or tenant.feature(REMAP_FEATURE):
        return []
    return ["onPremisesObjectIdentifier of %s is unknown (this Graph lacks it): if it names another on-premises "
            "object, the hard match fails with AttributeUpdateNotAllowed (MC1263280)" % target.name]


def hard_match(ad_user, world):
    target = hard_match_target(ad_user, world)
    if target is None:
        return None
    tenant = world.tenant
    refused = (takeover_block(ad_user, target, tenant) or privileged_role_hardening(ad_user, target, tenant)
               or object_identifier_hardening(ad_user, target, tenant))
    if refused:
        return refused
    return Prediction(HARD, target=target.id, restored=target.deleted,
                      warnings=object_identifier_unknown(target, tenant),
                      reason="hard match: %s holds onPremisesImmutableId %s%s" % (
                          target.name, ad_user.anchor, " (soft-deleted: the match restores it)" if target.deleted
                          else ""),
                      source="When you have an existing tenant")


# -- 3b. soft match --------------------------------------------------------------------------------

def smtp_match_candidate(ad_user, world):
    """SMTP matching "uses the primary SMTP address", and "a mailbox that has a primary email
    address must exist in Exchange Online" (KB 2641663): a mailbox user whose primary address is
    the on-premises ``SMTP:`` value.  Groups and contacts soft-match on any proxy address (same
    KB).  Returns the candidate or None."""
    primary = ad_user.primary_smtp
    if not primary:
        return None
    user = world.mailbox_by_primary(primary)
    if user is not None:
        return user
    return next((o for o in world.holders(primary) if o.kind in (GROUP, CONTACT) and not o.deleted), None)


def upn_match_candidate(ad_user, world):
    """Only when no primary SMTP address matched and ``softMatchOnUpnEnabled`` ("Set-MsolDirSyncFeature",
    EnableSoftMatchOnUpn; KB 3164442)."""
    if not (world.tenant.feature("softMatchOnUpnEnabled") and ad_user.upn):
        return None
    return world.active_user_by_upn(ad_user.upn)


def soft_match_blocked(tenant):
    """``blockSoftMatchEnabled``: no soft match is tried ("onPremisesDirectorySynchronizationFeature
    resource type"); the new object then meets resiliency."""
    return tenant.feature("blockSoftMatchEnabled")


def object_type_mismatch(ad_user, candidate, attribute, value):
    """A user soft-matching a group or contact: ObjectTypeMismatch ("Understanding errors during
    Microsoft Entra synchronization")."""
    if candidate.kind == USER:
        return None
    return _error("ObjectTypeMismatch", candidate, attribute, value,
                  "%s is held by cloud %s %s; a user soft-matches only a user" % (value, candidate.kind, candidate.name),
                  "Understanding errors during Microsoft Entra synchronization (ObjectTypeMismatch); KB 2641663")


def admin_role_conflict(ad_user, candidate, attribute, value):
    """"Microsoft Entra ID isn't allowed to soft match ... a user object ... that has an
    administrative role assigned to it" (Existing Admin Role Conflict, "Understanding errors").
    Active assignments only: lab's assumption, the page says nothing of eligible ones."""
    active = [r for r in candidate.roles if r.get("assignment", "active") == "active"]
    if not active:
        return None
    return _error("ExistingAdminRoleConflict", candidate, attribute, value,
                  "soft match to %s is refused: it holds administrator role %s" % (
                      candidate.name, ", ".join(sorted(r.get("name") or r.get("template_id") for r in active))),
                  "Understanding errors during Microsoft Entra synchronization (Existing Admin Role Conflict)")


def invalid_soft_match(ad_user, candidate, attribute, value, quarantine):
    """"the object to be soft-matched with shouldn't have any value for the immutableId"
    (InvalidSoftMatch, "Understanding errors").  With the attribute's quarantine on, "you won't see
    the InvalidSoftMatch synchronization errors seen during provisioning of new objects": None,
    the object is provisioned and the duplicate quarantined."""
    if not candidate.immutable_id or quarantine:
        return None
    return _error("InvalidSoftMatch", candidate, attribute, value,
                  "%s already has immutable id %s, so it can't be soft-matched"
                  % (candidate.name, candidate.immutable_id),
                  "Understanding errors during Microsoft Entra synchronization (InvalidSoftMatch)")


def soft_match(ad_user, world):
    """A soft match, a refusal, or None (provision)."""
    tenant = world.tenant
    if soft_match_blocked(tenant):
        # The ObjectTypeMismatch error too is raised "when Microsoft Entra ID attempts to soft match";
        # with soft match blocked it does not attempt one (see the report on the simulator).
        return None
    candidate = smtp_match_candidate(ad_user, world)
    by, attribute, value = SOFT_SMTP, "proxyAddresses", ad_user.primary_smtp
    quarantine = tenant.feature("quarantineUponProxyAddressesConflictEnabled")
    if candidate is None:
        candidate = upn_match_candidate(ad_user, world)
        by, attribute, value = SOFT_UPN, "userPrincipalName", ad_user.upn
        quarantine = tenant.feature("quarantineUponUpnConflictEnabled")
    if candidate is None:
        return None
    refused = (object_type_mismatch(ad_user, candidate, attribute, value)
               or admin_role_conflict(ad_user, candidate, attribute, value))
    if refused:
        return refused
    if candidate.immutable_id:
        return invalid_soft_match(ad_user, candidate, attribute, value, quarantine)
    return Prediction(by, target=candidate.id,
                      reason="soft match on %s %s to %s"
                      % ("primary SMTP address" if by == SOFT_SMTP else "UPN", value, candidate.name),
                      source="KB 2641663 How to use SMTP matching" if by == SOFT_SMTP
                      else "Set-MsolDirSyncFeature (EnableSoftMatchOnUpn)")


# -- 4. export --------------------------------------------------------------------------------------

def reserved_by_soft_deleted_mailbox(holder, tenant):
    """Lab's assumption (the seed articles, no Microsoft page): a soft-deleted user with a mailbox
    keeps its SMTP addresses reserved until it is purged; other soft-deleted users hold none
    ("Restore or remove a recently deleted user")."""
    return holder.deleted and holder.mailbox and tenant.soft_deleted_mailbox_reserves_addresses


def address_holder(world, address, exclude_id):
    """The object already holding an SMTP address: unique across users, groups and contacts,
    compared without case ("Identity synchronization and duplicate attribute resiliency")."""
    for holder in world.holders(address):
        if holder.id == exclude_id:
            continue
        if holder.deleted and not reserved_by_soft_deleted_mailbox(holder, world.tenant):
            continue
        return holder
    return None


def group_primary_known_issue(holder, proxy):
    """Resiliency's documented known issue: a user's ``smtp:`` value against a group's primary
    ``SMTP:`` value still fails the export ("Duplicate attribute resiliency", known issues)."""
    return proxy.startswith("smtp:") and holder.kind == GROUP and holder.primary_smtp == smtp_address(proxy).lower()


def address_must_fail(holder, proxy, world):
    """The duplicates resiliency does not quarantine."""
    return reserved_by_soft_deleted_mailbox(holder, world.tenant) or group_primary_known_issue(holder, proxy)


def resolve_addresses(ad_user, world, exclude_id):
    """(kept proxy addresses, kept mail, quarantined); raises ExportFailure.  A duplicate SMTP
    address is dropped and recorded (PropertyConflict, ProxyAddress) when
    ``quarantineUponProxyAddressesConflictEnabled``; otherwise AttributeValueMustBeUnique
    ("Identity synchronization and duplicate attribute resiliency"; "Understanding errors").
    ``mail`` is an address the object holds too."""
    resilient = world.tenant.feature("quarantineUponProxyAddressesConflictEnabled")
    values = list(ad_user.proxy_addresses)
    if ad_user.mail and ad_user.mail.lower() not in set(a.lower() for a in smtp_addresses(values)):
        values.append("smtp:" + ad_user.mail)
    kept, quarantined = [], []
    for proxy in values:
        address = smtp_address(proxy)
        if not address:
            kept.append(proxy)
            continue
        holder = address_holder(world, address, exclude_id)
        if holder is None:
            if proxy in ad_user.proxy_addresses:
                kept.append(proxy)
            continue
        if not resilient or address_must_fail(holder, proxy, world):
            raise ExportFailure("AttributeValueMustBeUnique", "proxyAddresses", proxy, holder,
                                "%s is already held by cloud %s %s%s" % (
                                    address, holder.kind, holder.name, " (soft-deleted)" if holder.deleted else ""),
                                "Understanding errors during Microsoft Entra synchronization "
                                "(AttributeValueMustBeUnique)" + (
                                    "; lab's assumption: a soft-deleted mailbox reserves its addresses"
                                    if holder.deleted else ""))
        quarantined.append(("ProxyAddress", proxy))
    mail = ad_user.mail
    if mail and mail.lower() in set(a.lower() for a in smtp_addresses(v for dummy, v in quarantined)):
        mail = None
    return kept, mail, quarantined


def non_routable_upn(upn, tenant):
    """A UPN whose suffix is not a verified domain becomes ``<prefix>@<initial domain>`` ("Prepare
    a non-routable domain for directory synchronization")."""
    prefix, dummy, suffix = upn.rpartition("@")
    if suffix.lower() in tenant.verified_domains:
        return upn
    return "%s@%s" % (prefix, tenant.initial_domain)


def placeholder_upn(upn, tenant):
    """Duplicate Attribute Resiliency's placeholder: ``<prefix><4 digits>@<initial domain>``; '#'
    stands for a digit the service picks."""
    return "%s####@%s" % (upn.rpartition("@")[0], tenant.initial_domain)


def resolve_upn(ad_user, world, exclude_id):
    """(cloud UPN, quarantined); raises ExportFailure.  A UPN another active user holds is
    quarantined behind a placeholder when ``quarantineUponUpnConflictEnabled``, otherwise
    AttributeValueMustBeUnique ("Identity synchronization and duplicate attribute resiliency")."""
    tenant = world.tenant
    upn = non_routable_upn(ad_user.upn or "%s@%s" % (ad_user.sam, tenant.initial_domain), tenant)
    holder = world.active_user_by_upn(upn)
    if holder is None or holder.id == exclude_id:
        return upn, []
    if not tenant.feature("quarantineUponUpnConflictEnabled"):
        raise ExportFailure("AttributeValueMustBeUnique", "userPrincipalName", upn, holder,
                            "%s is already held by cloud user %s" % (upn, holder.name),
                            "Understanding errors during Microsoft Entra synchronization (AttributeValueMustBeUnique)")
    return placeholder_upn(upn, tenant), [("UserPrincipalName", upn)]


def export(ad_user, world, prediction, exclude_id):
    """Complete a join or a provision with the export's consequences, or turn it into the export
    error.  Addresses are resolved first, so where both fail the address error is the one reported
    (the lab's order; the documents give none)."""
    try:
        proxies, mail, quarantined = resolve_addresses(ad_user, world, exclude_id)
        upn, upn_quarantined = resolve_upn(ad_user, world, exclude_id)
    except ExportFailure as failure:
        failed = _error(failure.error, failure.holder, failure.attribute, failure.value, failure.reason,
                        failure.source)
        failed.warnings = prediction.warnings
        return failed
    prediction.quarantined = upn_quarantined + quarantined
    prediction.upn = upn
    prediction.exported = (proxies, mail)
    return prediction


# -- the cycle ---------------------------------------------------------------------------------------

def predict(ad_user, world):
    """What the next cycle does with ``ad_user``: a Prediction."""
    scoped = out_of_scope(ad_user, world)
    if scoped:
        return scoped
    joined = engine_join(ad_user, world)
    if joined is not None:
        changed = anchor_changed(ad_user, joined)
        if changed:
            return changed
        return export(ad_user, world, Prediction(
            JOINED, target=joined.id, reason="already joined to %s: matching is evaluated only for objects new to "
                                             "the engine; its attributes flow" % joined.name,
            source="When you have an existing tenant"), joined.id)
    matched = hard_match(ad_user, world) or soft_match(ad_user, world)
    if matched is not None and matched.outcome == ERROR:
        return matched
    if matched is None:
        matched = Prediction(PROVISION, reason="no hard or soft match: a new cloud user is created",
                             source="When you have an existing tenant")
    return export(ad_user, world, matched, matched.target)


def apply_prediction(ad_user, world, prediction):
    """Write what one cycle does for ``ad_user`` into ``world`` (an overlay, normally): the joined,
    matched or new cloud user gets the synced properties ("user resource type"); leaving the scope
    soft-deletes the joined user with DirSyncEnabled False ("Understanding errors", InvalidHardMatch)."""
    for object_id in prediction.soft_deletes:
        gone = world.get(object_id).copy()
        gone.deleted, gone.sync_enabled, gone.deleted_at = True, False, world.tenant.now
        world.put(gone)
    if prediction.outcome not in (JOINED, PROVISION) + MATCHES:
        return None
    if prediction.outcome == PROVISION:
        cloud = CloudObject("new:%s" % ad_user.object_guid)
    else:
        cloud = world.get(prediction.target).copy()
    proxies, mail = prediction.exported
    cloud.upn, cloud.mail, cloud.immutable_id = prediction.upn, mail, ad_user.anchor
    routing = [p for p in cloud.proxy_addresses if tenant_routing_address(p, world.tenant)
               and p.lower() not in set(q.lower() for q in proxies)]
    cloud.proxy_addresses = list(proxies) + routing
    cloud.sync_enabled, cloud.deleted, cloud.deleted_at = True, False, None
    cloud.object_identifier, cloud.dn, cloud.sam = ad_user.object_guid, ad_user.dn, ad_user.sam
    cloud.provisioning_errors = [{"category": "PropertyConflict", "propertyCausingError": p, "value": v}
                                 for p, v in prediction.quarantined]
    world.put(cloud)
    return cloud


def tenant_routing_address(proxy, tenant):
    """Exchange Online keeps its routing address on the initial onmicrosoft.com domain."""
    address = smtp_address(proxy)
    return bool(address and tenant.initial_domain and address.lower().endswith("@" + tenant.initial_domain.lower()))


def predict_cycle(ad_users, world):
    """One cycle over ``ad_users`` in the engine's order (the order given): each user's outcome
    against the directory as the users before it left it.  ``world`` is not changed."""
    state = world.overlay()
    results, departures = [], []
    for ad_user in ad_users:
        prediction = predict(ad_user, state)
        if prediction.outcome == OUT_OF_SCOPE:
            departures.append((ad_user, prediction))
        else:
            apply_prediction(ad_user, state, prediction)
        results.append(prediction)
    # Lab's assumption (no document orders a cycle's exports): the cloud users of objects that
    # left the scope are soft-deleted after the cycle's adds and updates, so within one cycle
    # they still hold their UPN and addresses against the others.
    for ad_user, prediction in departures:
        apply_prediction(ad_user, state, prediction)
    return results, state
