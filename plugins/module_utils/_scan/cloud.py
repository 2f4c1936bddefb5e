# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The cloud half of the sync-conflict scan: what Entra already holds that the next sync will
meet, as ``_scan.findings`` findings (side ``cloud``).  Internal to this collection: not a public
API.  Pure code: ``_graph.scan_reads`` reads Graph and feeds the objects in, one at a time.

Objects stream through ``CloudScan``; a rule that needs one object only answers at once, the
rules that need two (a placeholder and the user it collided with, a role holder and the match
that would hit it) keep small dicts (address -> holder, user id -> match) and answer in
``finish()``.  Nothing keeps a whole Graph object.

The AD index (from the AD scan) is duck-typed: ``addresses`` {lower-case UPN, mail or SMTP
address: DN}, ``anchors`` {ImmutableId: DN}, ``names`` {DN: sAMAccountName}, ``classes``
{DN: 'user' | 'contact' | 'group'}.  Without it, the rules that compare with AD are skipped.

A finding's ``link`` is a proposal (``_scan.proposals``: how sure, on what evidence,
``confirmed: false``) or None: no link rests on a secondary address alone, and a soft-deleted
user is never proposed.

The matching rules themselves live in ``_sync.prediction`` (the placeholder's shape, the admin
role refusal) and ``_rules.hard_match`` (the PRIVILEGED roles of the 2026 hardening); they are reused
here, not restated.  Where the scan says what the next sync does with an AD user and the cloud
object it meets (the hard match onto a user carrying its anchor; a cloud group or contact holding
its address), it asks the engine model as the planner does: ``_sync.prediction.predict`` over a
``World`` of that one cloud object and the AD user as the AD index keeps it (``CloudScan._ad_user``),
built for the question and dropped after it, so nothing more is held.

``RULES`` are the cloud side's own rules; it reports the shared ``duplicate_address``
(``_scan.findings``) too.
"""

import re

from ansible_collections.syncfix.entra.plugins.module_utils._scan import proposals
from ansible_collections.syncfix.entra.plugins.module_utils._sync import prediction as sync
from ansible_collections.syncfix.entra.plugins.module_utils._scan.findings import (
    CLOUD, DUPLICATE_ADDRESS, ERROR, INFO, WARNING, finding,
)
from ansible_collections.syncfix.entra.plugins.module_utils._rules.anchor import AnchorError, SourceAnchor
from ansible_collections.syncfix.entra.plugins.module_utils._rules.hard_match import UserFacts, privileged_role_refusal
from ansible_collections.syncfix.entra.plugins.module_utils._rules.proxy_address import primary_smtp, smtp_address
from ansible_collections.syncfix.entra.plugins.module_utils._rules.user_removal import deleted_upn_matches

PROVISIONING_ERROR = "provisioning_error"
RESILIENCY_PLACEHOLDER = "resiliency_placeholder"
PREPROVISIONED_CLOUD_USER = "preprovisioned_cloud_user"
RECYCLE_BIN_HOLDER = "recycle_bin_holder"
ADMIN_ROLE_MATCH = "admin_role_match"
OBJECT_TYPE_MISMATCH = "object_type_mismatch"
ORPHANED_ANCHOR = "orphaned_anchor"
OBJECT_IDENTIFIER_MISMATCH = "object_identifier_mismatch"
SYNC_FEATURE = "sync_feature"
RULES = (PROVISIONING_ERROR, RESILIENCY_PLACEHOLDER, PREPROVISIONED_CLOUD_USER, RECYCLE_BIN_HOLDER, ADMIN_ROLE_MATCH, OBJECT_IDENTIFIER_MISMATCH,
         OBJECT_TYPE_MISMATCH, ORPHANED_ANCHOR, SYNC_FEATURE)

USER, GROUP, CONTACT = sync.USER, sync.GROUP, sync.CONTACT
# Without a clock (``CloudScan(now=None)``) the rules with an enforcement date are taken as in
# force: MC1262584 (June 2026) and MC1263280 (2026-07-01) apply to every sync run from then on.
RULES_IN_FORCE = max(sync.ROLE_HARDENING_FROM, sync.OBJECT_IDENTIFIER_HARDENING_FROM)
# An AD user the index keeps no objectGUID of: a GUID no cloud object carries, for questions the
# GUID does not decide (a group or contact can't be joined or hard-matched by a user).
_NO_GUID = "00000000-0000-0000-0000-000000000000"
# The object a tenant-wide finding (a sync feature) is about: the Graph resource that holds it.
TENANT_OBJECT = "directory/onPremisesSynchronization"
UPN_PROPERTY, PROXY_PROPERTY = "UserPrincipalName", "ProxyAddress"
_DELETED_UPN_PREFIX = re.compile(r"^[0-9a-f]{32}")


# -- small readers of a Graph object (plain dict) ------------------------------------------------

def _lower(value):
    return value.lower() if isinstance(value, str) and value else None


def smtp_addresses(obj):
    """Every SMTP address an object holds (``smtp:`` proxies and ``mail``), lower-cased: the
    planner's own reading (``CloudObject.smtp_addresses``)."""
    return sync.CloudObject(obj.get("id"), proxy_addresses=obj.get("proxyAddresses") or [],
                            mail=obj.get("mail")).smtp_addresses


def held_addresses(obj, deleted=False):
    """[(attribute, lower-case address)]: the UPN first, then the SMTP addresses, sorted.  A
    soft-deleted user's UPN is renamed ``<object id without hyphens><UPN>`` ("Restore or remove a
    recently deleted user"): the UPN it had is what it is compared by."""
    held = []
    upn = _lower(obj.get("userPrincipalName"))
    if upn:
        if deleted and _DELETED_UPN_PREFIX.match(upn) and deleted_upn_matches(upn, upn[32:]):
            upn = upn[32:]
        held.append(("userPrincipalName", upn))
    held.extend(("proxyAddresses", address) for address in sorted(smtp_addresses(obj)) if address != upn)
    return held


def display_name(obj):
    return obj.get("displayName") or obj.get("userPrincipalName") or obj.get("mail") or obj.get("id")


def provisioning_errors(obj):
    return [e for e in obj.get("onPremisesProvisioningErrors") or [] if isinstance(e, dict)]


def _bare_address(value):
    """``SMTP:a@b`` -> ``a@b``; a UPN stays as it is; lower-cased."""
    address = smtp_address(value)
    return (value or "" if address is None else address).lower()


def cloud_object(obj, kind=USER):
    """A Graph user, group or contact (plain dict) as the engine model's ``CloudObject``
    (``_sync.prediction.cloud_object_of``, the one reading).  Roles are not known while the
    objects stream (``finish`` asks them)."""
    return sync.cloud_object_of(obj, kind=kind)


class AdSide(object):
    """The AD index as the rules read it; every lookup is None-safe and case-insensitive."""

    def __init__(self, ad_index):
        self.present = ad_index is not None
        self.addresses = getattr(ad_index, "addresses", None) or {}
        self.anchors = getattr(ad_index, "anchors", None) or {}
        self.names = getattr(ad_index, "names", None) or {}
        self.classes = getattr(ad_index, "classes", None) or {}
        self.soft_keys = getattr(ad_index, "soft_keys", None) or {}
        self.object_guids = getattr(ad_index, "object_guids", None) or {}
        self.identities = getattr(ad_index, "identities", None) or {}

    def identity(self, dn, cloud):
        """The AD user ``dn`` as ``_scan.proposals`` compares it with ``cloud`` (a CloudIdentity):
        its soft keys, sAMAccountName, mailNickname and display name, and the addresses of the
        cloud user's that it brings (read from the address index, so no address list is kept)."""
        primary, upn = self.soft_keys.get(dn) or (None, None)
        nickname, display = self.identities.get(dn) or (None, None)
        theirs = cloud.addresses | set(a for a in (cloud.primary, cloud.upn) if a)
        return proposals.ad_identity(primary, upn, nickname, self.names.get(dn), display,
                                     [a for a in theirs if self.by_address(a) == dn])

    def by_address(self, address):
        return self.addresses.get(address) if address else None

    def by_anchor(self, immutable_id):
        return self.anchors.get(immutable_id) if immutable_id else None

    def name(self, dn):
        """What a ``remediation_links`` entry names an AD object by: its sAMAccountName, else its DN."""
        return self.names.get(dn) or dn

    def kind(self, dn):
        return (self.classes.get(dn) or USER).lower()


# -- rule 1: provisioning errors -----------------------------------------------------------------

class ErrorFilter(object):
    """What ``Get-MsolDirSyncProvisioningError`` offered (MSOnline reference page of that name):
    ``property`` (-PropertyName), ``value`` (-PropertyValue), ``search`` (-SearchString: the
    object's addresses or display name starting with it), ``max_results`` (-MaxResults), and
    ``category`` (-ErrorCategory).  Compared without case: MSOnline's PropertyName said
    ProxyAddresses where Graph's propertyCausingError says ProxyAddress, so both spellings match."""

    def __init__(self, options=None):
        options = options or {}
        self.property = _property_key(options.get("property"))
        self.value = _bare_address(options.get("value")) if options.get("value") else None
        self.search = (options.get("search") or "").lower() or None
        self.category = _lower(options.get("category"))
        self.max_results = options.get("max_results")

    def accepts(self, obj, error):
        if self.property and _property_key(error.get("propertyCausingError")) != self.property:
            return False
        if self.category and _lower(error.get("category")) != self.category:
            return False
        if self.value and _bare_address(error.get("value")) != self.value:
            return False
        if self.search:
            names = [a for dummy, a in held_addresses(obj)] + [_lower(obj.get("displayName")) or ""]
            if not any(n.startswith(self.search) for n in names):
                return False
        return True

    def full(self, count):
        return self.max_results is not None and count >= self.max_results


def _property_key(name):
    key = _lower(name)
    return key[:-2] if key and key.endswith("addresses") else key


def provisioning_error_finding(obj, kind, error, conflicts_with=None):
    """An object whose value the sync could not give it: ``onPremisesProvisioningErrors``
    ("onPremisesProvisioningError resource type": category PropertyConflict, propertyCausingError
    UserPrincipalName or ProxyAddress).  With Duplicate Attribute Resiliency the value is
    quarantined and the object created anyway ("Identity synchronization and duplicate attribute
    resiliency"); the hourly job releases it once the other holder lets go."""
    holder = (" held by %s" % conflicts_with[1]) if conflicts_with else ""
    return finding(
        PROVISIONING_ERROR, ERROR, CLOUD, obj.get("id"), error.get("propertyCausingError"), error.get("value"),
        "%s %s: %s %s is quarantined (%s since %s)%s; remove the duplicate on the object that should not have it, "
        "the sync then releases the value (Identity synchronization and duplicate attribute resiliency)" % (
            kind, display_name(obj), error.get("propertyCausingError"), error.get("value"),
            error.get("category") or "PropertyConflict", error.get("occurredDateTime") or "an unknown time", holder),
        conflicts_with=conflicts_with[0] if conflicts_with else None, object_class=kind, common_name=display_name(obj))


# -- rule 2: resiliency placeholders -------------------------------------------------------------

def placeholder_of(user, initial_domain):
    """The UPN a synced user's placeholder stands in for, or None.  Duplicate Attribute Resiliency
    gives a duplicate UPN ``<prefix><4 digits>@<initial domain>`` and records the UPN in
    onPremisesProvisioningErrors ("Identity synchronization and duplicate attribute resiliency");
    the shape is ``_sync.prediction.placeholder_upn``'s.  Without the recorded conflict a UPN that
    merely ends in four digits is not taken for one."""
    upn = _lower(user.get("userPrincipalName"))
    if not user.get("onPremisesSyncEnabled") or not upn:
        return None
    domain = initial_domain or (upn.rpartition("@")[2] if upn.endswith(".onmicrosoft.com") else None)
    if not domain:
        return None
    tenant = sync.TenantFacts(initial_domain=domain.lower())
    for error in provisioning_errors(user):
        if _property_key(error.get("propertyCausingError")) != UPN_PROPERTY.lower() or not error.get("value"):
            continue
        head, dummy, tail = sync.placeholder_upn(error["value"].lower(), tenant).partition("####")
        if re.match("^%s[0-9]{4}%s$" % (re.escape(head), re.escape(tail)), upn):
            return error["value"]
    return None


def placeholder_finding(user, quarantined, collided, ad_name, link=None, why_not=None):
    """The duplicate the engine created and joined to the AD user, and the cloud user it collided
    with.  When that user is cloud-only and the evidence says it is this person's
    (``_scan.proposals``), linking the AD user to it is the fix (link_plan removes the
    duplicate: out of scope, purge, link, back in scope), proposed for a person to confirm; when
    it is synced from another AD object, two AD objects want one UPN and the fix is on-premises."""
    action_text = ""
    if collided is None:
        action_text = ("no active cloud user holding %s was read; when one exists, link %s to it"
                       % (quarantined, ad_name or "the AD user"))
    elif collided[3]:
        action_text = ("%s is synced from another on-premises object: two AD objects want %s; change the UPN of one "
                       "of them on-premises" % (collided[1], quarantined))
    elif link:
        action_text = ("%s is cloud-only: linking the AD user to it removes this duplicate; the link is proposed "
                       "(%s confidence: review it and set proposal.confirmed)" % (
                           collided[1], link["proposal"]["confidence"]))
    else:
        action_text = ("%s is cloud-only, but no link is proposed: %s; if it is this person's account, declare the "
                       "link with cloud: %s" % (collided[1], why_not or "the evidence is too thin", collided[0]))
    return finding(
        RESILIENCY_PLACEHOLDER, ERROR, CLOUD, user.get("id"), "userPrincipalName", user.get("userPrincipalName"),
        "synced user %s is a resiliency placeholder: the sync could not give it %s, which another cloud user holds, so "
        "it created this duplicate (Identity synchronization and duplicate attribute resiliency); %s" % (
            user.get("userPrincipalName"), quarantined, action_text),
        conflicts_with=collided[0] if collided else None, object_class=USER, common_name=display_name(user), link=link)


# -- rule 3: pre-provisioned cloud users ---------------------------------------------------------

def soft_match_expected(user, ad_keys, features):
    """Whether the first sync soft-matches this cloud-only user to the AD user whose
    ``(primary SMTP, UPN)`` are ``ad_keys``: their primary SMTP addresses are equal (KB 2641663
    "How to use SMTP matching"), or, with softMatchOnUpnEnabled, their UPNs ("Set-MsolDirSyncFeature"),
    and blockSoftMatchEnabled is off.  None when the features could not be read.  Admin roles and
    stray anchors are refused by their own rules."""
    if features is None:
        return None

    def feature(name):
        return bool(features.get(name, sync.DEFAULT_FEATURES.get(name)))

    if feature("blockSoftMatchEnabled"):
        return False
    primary, upn = ad_keys or (None, None)
    cloud = sync.CloudObject(user.get("id"), proxy_addresses=user.get("proxyAddresses") or [], mail=user.get("mail"))
    if primary and cloud.primary_smtp == primary:
        return True
    return bool(feature("softMatchOnUpnEnabled") and upn and _lower(user.get("userPrincipalName")) == upn)


def preprovisioned_finding(user, attribute, address, dn, ad_name, expected=None, link=None, why_not=None):
    """A cloud-only user holding a UPN or SMTP address an AD user brings: the sync soft-matches it
    (primary SMTP: KB 2641663 "How to use SMTP matching"; UPN: softMatchOnUpnEnabled), or, when the
    match is refused or the address is only an alias, meets a duplicate: AttributeValueMustBeUnique,
    or with resiliency a placeholder ("When you have an existing tenant").  Declaring the link
    decides which; the scan proposes it only on evidence (``_scan.proposals``)."""
    if link:
        tail = ("the link is proposed (%s confidence): review it, then declare it (proposal.confirmed: true)"
                % link["proposal"]["confidence"])
    else:
        tail = ("no link is proposed: %s; if it is this person's account, declare the link with cloud: %s"
                % (why_not or "the evidence is too thin", user.get("id")))
    return finding(
        PREPROVISIONED_CLOUD_USER, WARNING, CLOUD, user.get("id"), attribute, address,
        "cloud-only user %s holds %s, which on-premises %s brings%s: a duplicate (AttributeValueMustBeUnique; with "
        "resiliency a placeholder user) unless the link is declared, so the plan matches them on purpose (When you "
        "have an existing tenant); %s" % (user.get("userPrincipalName"), address, ad_name,
                                          "" if expected is None else ", and soft match will not join them", tail),
        conflicts_with=dn, object_class=USER, common_name=display_name(user), link=link)


# -- rule 4: soft-deleted holders ----------------------------------------------------------------

def recycle_bin_finding(user, attribute, value, dn, ad_name, by_anchor):
    """A soft-deleted user (kept 30 days with its properties: "Restore or remove a recently deleted
    user") holding an AD object's anchor, which a hard match restores, or an address it brings,
    which a soft-deleted mailbox keeps reserved (field experience, not a Microsoft page).

    Never proposed as the AD user's cloud user: a soft-deleted namesake is often the account of
    someone who left, and restoring it hands its groups, licences and app assignments to whoever
    the AD user is now.  The finding says how to restore it on purpose (declare it by its object
    id) or to purge it if it is disposable (a purge is irreversible: "Permanently delete an item")."""
    on_purpose = ("if it is this person's account, restore it on purpose by declaring it by its object id: "
                  "remediation_links: [{ad: '%s', cloud: '%s'}]" % (_yaml_quoted(dn), _yaml_quoted(user.get("id"))))
    if by_anchor:
        text = ("soft-deleted user %s holds the anchor of on-premises %s: the next sync hard-matches and restores it, "
                "with its groups, licences and app assignments (When you have an existing tenant); no link is "
                "proposed: %s; if it is not, purge it before the next sync (Restore or remove a recently deleted "
                "user)" % (user.get("userPrincipalName"), ad_name, on_purpose))
    else:
        text = ("soft-deleted user %s holds %s, which on-premises %s brings; a soft-deleted mailbox keeps its addresses "
                "until it is purged (field experience), so the sync may fail on it. It is not proposed as %s's cloud "
                "user (a soft-deleted namesake is no evidence of one person): %s; if it is disposable, purge it "
                "(Restore or remove a recently deleted user)" % (
                    user.get("userPrincipalName"), value, ad_name, ad_name, on_purpose))
    return finding(RECYCLE_BIN_HOLDER, WARNING, CLOUD, user.get("id"), attribute, value, text, conflicts_with=dn,
                   object_class=USER, common_name=display_name(user))


def _yaml_quoted(value):
    """``value`` inside a YAML single-quoted string (a DN may hold an apostrophe: O'Brien)."""
    return str(value or "").replace("'", "''")


# -- rule 5: admin role holders a match would hit ------------------------------------------------

def _role_list(held):
    """``{"active": [...], "eligible": [...]}`` (or a bare list: active) as planner roles."""
    if isinstance(held, (list, tuple)):
        held = {"active": held}
    roles = []
    for assignment in ("active", "eligible"):
        for role in (held or {}).get(assignment) or []:
            role_id, name = (role.get("id"), role.get("displayName")) if isinstance(role, dict) else (role, None)
            roles.append({"template_id": role_id, "name": name or role_id, "assignment": assignment})
    return roles


def admin_role_refusal(target, roles):
    """Why a match onto this role holder fails, or None.  Soft match: "Existing Admin Role
    Conflict" (``_sync.prediction.admin_role_conflict``, active roles); hard match: the 2026
    hardening blocks cloud users holding or eligible for a PRIVILEGED role (MC1262584,
    ``_rules.hard_match.privileged_role_refusal``)."""
    upn, how, value = target
    if how == "hard":
        facts = UserFacts({"id": None, "userPrincipalName": upn}, [r["template_id"] for r in roles],
                          role_names=dict((r["template_id"], r["name"]) for r in roles))
        return privileged_role_refusal(facts)
    candidate = sync.CloudObject(None, upn=upn, roles=roles)
    refused = sync.admin_role_conflict(None, candidate, how, value)
    return "%s: %s (%s)" % (refused.error, refused.reason, refused.source) if refused else None


def admin_role_finding(user_id, target, dn, ad_name, reason):
    upn, how, value = target
    return finding(ADMIN_ROLE_MATCH, ERROR, CLOUD, user_id, "onPremisesImmutableId" if how == "hard" else how, value,
                   "on-premises %s would %s cloud user %s, but %s; link a different, unprivileged cloud user, or "
                   "remove the roles first" % (ad_name, "hard-match" if how == "hard" else "soft-match", upn, reason),
                   conflicts_with=dn, object_class=USER, common_name=upn)


# -- rule 6: object type mismatch ----------------------------------------------------------------

def object_type_mismatch_finding(obj, kind, attribute, address, dn, ad_kind, ad_name):
    """Soft match does not cross object types: an AD user whose address a cloud group or contact
    holds (or the reverse) fails with ObjectTypeMismatch ("Understanding errors during Microsoft
    Entra synchronization"; KB 2641663: groups and contacts match on proxy addresses)."""
    return finding(
        OBJECT_TYPE_MISMATCH, ERROR, CLOUD, obj.get("id"), attribute, address,
        "cloud %s %s holds %s, which on-premises %s %s brings: the sync fails with ObjectTypeMismatch; remove the "
        "address from one of them (Understanding errors during Microsoft Entra synchronization)" % (
            kind, display_name(obj), address, ad_kind, ad_name),
        conflicts_with=dn, object_class=kind, common_name=display_name(obj))


def address_conflict_finding(obj, kind, attribute, address, dn, ad_name, prediction):
    """A cloud group or contact holding an address an AD user brings, not as the user's primary
    (soft match looks at nothing else), so no soft match is tried on it: the export meets the
    duplicate (``_sync.prediction.resolve_addresses``).  Resiliency quarantines it on the AD user's
    cloud user, except a user's secondary address against a group's primary, which fails the
    export with AttributeValueMustBeUnique (the known issue of "Identity synchronization and
    duplicate attribute resiliency")."""
    if prediction.outcome == sync.ERROR:
        what = "the sync fails with %s: %s (%s)" % (prediction.error, prediction.reason, prediction.source)
    else:
        what = ("the sync creates or joins %s's cloud user without it: the address is quarantined (PropertyConflict on "
                "ProxyAddress) until one of them lets go (Identity synchronization and duplicate attribute resiliency)"
                % ad_name)
    return finding(
        DUPLICATE_ADDRESS, ERROR, CLOUD, obj.get("id"), attribute, address,
        "cloud %s %s holds %s, which on-premises user %s brings as a secondary address: UPN and SMTP addresses are "
        "unique tenant-wide across users, groups and contacts, and %s; remove the address from one of them" % (
            kind, display_name(obj), address, ad_name, what),
        conflicts_with=dn, object_class=kind, common_name=display_name(obj))


# -- rule 7: orphaned anchors --------------------------------------------------------------------

def orphaned_anchor_finding(user, soft_match_dn=None, ad_name=None, link=None, why_not=None):
    """A user whose onPremisesImmutableId no AD object holds.  Synced: its AD object is gone, out
    of the scanned scope, or was recreated with another anchor ("Design concepts": the anchor
    can't change once projected).  Cloud-only: a stray anchor that makes the soft match an AD
    object would make refused (InvalidSoftMatch; with resiliency a duplicate instead:
    "Understanding errors during Microsoft Entra synchronization")."""
    upn = user.get("userPrincipalName")
    if user.get("onPremisesSyncEnabled"):
        return finding(ORPHANED_ANCHOR, WARNING, CLOUD, user.get("id"), "onPremisesImmutableId",
                       user.get("onPremisesImmutableId"),
                       "synced user %s carries immutable id %s, which no scanned AD object holds: its AD object was "
                       "deleted, recreated with a new anchor, or is outside the scan (Microsoft Entra Connect: Design "
                       "concepts)" % (upn, user.get("onPremisesImmutableId")),
                       object_class=USER, common_name=display_name(user))
    severity, tail = WARNING, "clear it unless a hard match is planned"
    if soft_match_dn:
        severity = ERROR
        tail = ("on-premises %s would soft-match it and is refused (InvalidSoftMatch; with resiliency a duplicate is "
                "created); linking them stamps the right anchor, and the link needs force: true to replace the stray "
                "one; " % ad_name)
        if link:
            tail += ("the link is proposed (%s confidence): review it and set proposal.confirmed"
                     % link["proposal"]["confidence"])
        else:
            tail += ("no link is proposed: %s; if it is this person's account, declare the link with cloud: %s"
                     % (why_not or "the evidence is too thin", user.get("id")))
    else:
        link = None
    return finding(ORPHANED_ANCHOR, severity, CLOUD, user.get("id"), "onPremisesImmutableId",
                   user.get("onPremisesImmutableId"),
                   "cloud-only user %s carries immutable id %s, which no scanned AD object holds; %s (Understanding "
                   "errors during Microsoft Entra synchronization)" % (upn, user.get("onPremisesImmutableId"), tail),
                   conflicts_with=soft_match_dn, object_class=USER, common_name=display_name(user), link=link)


# -- rule 9: the on-premises object identifier -----------------------------------------------------

def object_identifier_mismatch_finding(user, dn, holder_guid, ad_name):
    """MC1263280 (from 2026-07-01; "How to use Microsoft Entra Connect Sync service features"): the
    hard match of the AD user holding this user's anchor onto it is refused (AttributeUpdateNotAllowed)
    because its onPremisesObjectIdentifier names another on-premises object, unless
    allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled; what ``_sync.prediction.predict`` says
    (``object_identifier_hardening``), for synced and cloud-only users alike."""
    upn = user.get("userPrincipalName")
    who = ("synced user %s is mapped" % upn if user.get("onPremisesSyncEnabled")
           else "cloud-only user %s carries the anchor for a hard match but is mapped" % upn)
    return finding(
        OBJECT_IDENTIFIER_MISMATCH, ERROR, CLOUD, user.get("id"), "onPremisesObjectIdentifier",
        user.get("onPremisesObjectIdentifier"),
        "%s to on-premises object %s, but its anchor is now held by %s (objectGUID %s): %s; a person clears "
        "onPremisesObjectIdentifier or enables %s first (MC1263280; How to use Microsoft Entra Connect Sync service "
        "features)" % (who, user.get("onPremisesObjectIdentifier"), ad_name, holder_guid, sync.REMAP_BLOCKED,
                       sync.REMAP_FEATURE),
        conflicts_with=dn, object_class=USER, common_name=display_name(user))


# -- rule 8: sync features -----------------------------------------------------------------------

# Feature, the value that changes the outcome, and what it does ("onPremisesDirectorySynchronizationFeature
# resource type"; Set-MsolDirSyncFeature).  Only values other than a new tenant's defaults
# (``_sync.prediction.DEFAULT_FEATURES``) are reported, so a tenant as Microsoft ships it yields none.
FEATURE_EFFECTS = (
    ("blockSoftMatchEnabled", True, "no soft match is tried: a cloud-only user with the same address gets a "
                                    "duplicate beside it; link by hard match instead"),
    ("softMatchOnUpnEnabled", False, "soft match uses the primary SMTP address only; a UPN alone matches nothing"),
    ("blockCloudObjectTakeoverThroughHardMatchEnabled", True, "hard match onto a cloud-managed user fails with "
                                                              "InvalidHardMatch"),
    ("quarantineUponUpnConflictEnabled", False, "a duplicate UPN fails the export (AttributeValueMustBeUnique) "
                                                "instead of a placeholder"),
    ("quarantineUponProxyAddressesConflictEnabled", False, "a duplicate SMTP address fails the export "
                                                           "(AttributeValueMustBeUnique) instead of being quarantined"),
    ("allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled", True, "a hard match may remap onPremisesObjectIdentifier "
                                                                   "to another on-premises object (MC1263280)"),
)


def sync_feature_findings(features):
    """The tenant's directory-sync features that change what the sync does, as info findings; an
    unreadable set is said to be unknown, never assumed."""
    if features is None:
        return [finding(SYNC_FEATURE, INFO, CLOUD, TENANT_OBJECT, "features", None,
                        "the tenant's directory-sync features could not be read (the app needs "
                        "OnPremDirectorySynchronization.Read.All): blockSoftMatchEnabled, softMatchOnUpnEnabled and "
                        "blockCloudObjectTakeoverThroughHardMatchEnabled are unknown", common_name="tenant")]
    found = []
    for name, value, effect in FEATURE_EFFECTS:
        current = features.get(name, sync.DEFAULT_FEATURES.get(name))
        if current is value:
            found.append(finding(SYNC_FEATURE, INFO, CLOUD, TENANT_OBJECT, name, value,
                                 "%s is %s: %s (onPremisesDirectorySynchronizationFeature resource type)" % (
                                     name, str(value).lower(), effect), common_name="tenant"))
    return found


# -- the scan ------------------------------------------------------------------------------------

class CloudScan(object):
    """Feed every cloud object once (``add_user``, ``add_group``, ``add_contact``,
    ``add_deleted_user``, ``set_role_holders``), then ``finish()``.  Each call returns findings.

    ``domains``: an object with ``initial`` (``_graph.directory.Domains``) or None; ``features``:
    the ``features`` dict (``_graph.directory.sync_features``), None when unreadable;
    ``error_filter``: ``dict(property, value, search, max_results)`` for ``provisioning_error``;
    ``now``: the clock (seconds since the epoch) for the rules with an enforcement date, None:
    those rules are in force (``RULES_IN_FORCE``).
    """

    def __init__(self, ad_index=None, domains=None, features=None, error_filter=None, now=None):
        self.ad = AdSide(ad_index)
        initial = domains.get("initial") if isinstance(domains, dict) else getattr(domains, "initial", None)
        self.initial_domain = _lower(initial)
        self.features = features
        # What the engine model is told of the tenant; unreadable features are the defaults there
        # (the sync_feature finding says they are unknown).
        self.tenant = sync.TenantFacts(features, initial_domain=self.initial_domain,
                                       now=RULES_IN_FORCE if now is None else now)
        self.error_filter = ErrorFilter(error_filter)
        # {lower-case address: (id, name, kind, synced)} for addresses AD brings (every UPN when AD
        # was not scanned), and for the values quarantined so far.
        self._holders = {}
        self._quarantined = set()
        self._errors = []           # (object summary, kind, error), in read order
        self._placeholders = []     # (user summary, quarantined UPN, AD name, AD object, AD DN, AD identity)
        self._targets = {}          # {cloud user id: (upn, how, value, dn)}: users a match would hit
        self._roles = None
        self.counts = {"users": 0, "groups": 0, "contacts": 0, "deleted_users": 0}

    # -- feeding -----------------------------------------------------------------------------

    def add_user(self, user):
        self.counts["users"] += 1
        held = held_addresses(user)
        self._remember(user, USER, held)
        self._collect_errors(user, USER)
        found = []
        quarantined = placeholder_of(user, self.initial_domain)
        if quarantined:
            self._placeholders.append((_summary(user), quarantined) + self._placeholder_ad(user, quarantined))
        if not self.ad.present:
            return found
        synced = bool(user.get("onPremisesSyncEnabled"))
        anchor = user.get("onPremisesImmutableId")
        soft_dn = link = why_not = None
        for attribute, address in held:
            dn = self.ad.by_address(address)
            if dn is None:
                continue
            if self.ad.kind(dn) != USER:
                found.append(object_type_mismatch_finding(user, USER, attribute, address, dn, self.ad.kind(dn),
                                                          self.ad.name(dn)))
            elif not synced and soft_dn is None:
                soft_dn = dn
                expected = soft_match_expected(user, self.ad.soft_keys.get(dn), self.features)
                # A soft match the first sync makes is the sync working as designed, not a
                # conflict: no finding (an admin holder is still admin_role_match's).
                link, why_not = self._proposal(dn, user)
                if not anchor and not expected:
                    found.append(preprovisioned_finding(user, attribute, address, dn, self.ad.name(dn), expected,
                                                        link, why_not))
                self._targets.setdefault(user["id"], (user.get("userPrincipalName"), attribute, address, dn))
        if anchor and not synced and self.ad.by_anchor(anchor):
            self._targets[user["id"]] = (user.get("userPrincipalName"), "hard", anchor, self.ad.by_anchor(anchor))
        elif anchor and not self.ad.by_anchor(anchor):
            found.append(orphaned_anchor_finding(user, soft_dn, self.ad.name(soft_dn) if soft_dn else None,
                                                 link, why_not))
        holder = self.ad.by_anchor(anchor)
        if holder and self._remap_refused(user, holder, anchor):
            found.append(object_identifier_mismatch_finding(user, holder, self.ad.object_guids[holder],
                                                            self.ad.name(holder)))
        return found

    def add_group(self, group):
        self.counts["groups"] += 1
        return self._add_mail_object(group, GROUP)

    def add_contact(self, contact):
        self.counts["contacts"] += 1
        return self._add_mail_object(contact, CONTACT)

    def _add_mail_object(self, obj, kind):
        held = held_addresses(obj)
        self._remember(obj, kind, held)
        self._collect_errors(obj, kind)
        found = []
        for attribute, address in held:
            dn = self.ad.by_address(address)
            if dn is None or self.ad.kind(dn) == kind:
                continue
            if self.ad.kind(dn) != USER:
                found.append(object_type_mismatch_finding(obj, kind, attribute, address, dn, self.ad.kind(dn),
                                                          self.ad.name(dn)))
                continue
            conflict = self._address_conflict(obj, kind, attribute, address, dn)
            if conflict is not None:
                found.append(conflict)
        return found

    def add_deleted_user(self, user):
        self.counts["deleted_users"] += 1
        if not self.ad.present:
            return []
        dn = self.ad.by_anchor(user.get("onPremisesImmutableId"))
        if dn:
            return [recycle_bin_finding(user, "onPremisesImmutableId", user.get("onPremisesImmutableId"), dn,
                                        self.ad.name(dn), True)]
        for attribute, address in held_addresses(user, deleted=True):
            dn = self.ad.by_address(address)
            if dn:
                return [recycle_bin_finding(user, attribute, address, dn, self.ad.name(dn), False)]
        return []

    def set_role_holders(self, holders):
        """``{user id: {"active": [role], "eligible": [role]}}``, a role being ``{"id",
        "displayName"}`` or a role definition id (``_graph.directory.named_role_holdings``' shape)."""
        self._roles = dict((user_id, _role_list(held)) for user_id, held in (holders or {}).items())
        return []

    def match_targets(self):
        """Ids of the cloud users a soft or hard match would hit: whose roles matter."""
        return sorted(self._targets)

    # -- the end -----------------------------------------------------------------------------

    def finish(self):
        found = sync_feature_findings(self.features)
        for summary, kind, error in self._errors:
            holder = self._holder(_bare_address(error.get("value")), summary["id"])
            found.append(provisioning_error_finding(summary, kind, error, holder and (holder[0], holder[1])))
        for summary, quarantined, ad_name, ad_object, dn, identity in self._placeholders:
            collided = self._holder(quarantined.lower(), summary["id"])
            link = why_not = None
            if collided and not collided[3] and collided[2] == USER and collided[4] is not None and ad_object:
                cloud = collided[4]
                if dn:
                    identity = self.ad.identity(dn, cloud)
                link = proposals.proposed_link(ad_object, identity, cloud)
                why_not = None if link else proposals.no_proposal_reason(identity, cloud)
            found.append(placeholder_finding(summary, quarantined, collided, ad_name, link, why_not))
        for user_id, target in sorted(self._targets.items()):
            roles = (self._roles or {}).get(user_id)
            if not roles:
                continue
            upn, how, value, dn = target
            reason = admin_role_refusal((upn, how, value), roles)
            if reason:
                found.append(admin_role_finding(user_id, (upn, how, value), dn, self.ad.name(dn), reason))
        return found

    # -- bookkeeping -------------------------------------------------------------------------

    def _remember(self, obj, kind, held):
        entry = None
        for attribute, address in held:
            keep = (address in self._quarantined or self.ad.by_address(address) is not None
                    or (not self.ad.present and attribute == "userPrincipalName"))
            if keep and address not in self._holders:
                if entry is None:
                    # A user's identity too: a placeholder's proposal compares it in finish().
                    entry = (obj.get("id"), obj.get("userPrincipalName") or display_name(obj), kind,
                             bool(obj.get("onPremisesSyncEnabled")),
                             proposals.cloud_identity(obj) if kind == USER else None)
                self._holders[address] = entry

    def _holder(self, address, exclude_id):
        holder = self._holders.get(address)
        return holder if holder and holder[0] != exclude_id else None

    def _collect_errors(self, obj, kind):
        for error in provisioning_errors(obj):
            value = _bare_address(error.get("value"))
            if value:
                self._quarantined.add(value)
            if self.error_filter.full(len(self._errors)) or not self.error_filter.accepts(obj, error):
                continue
            self._errors.append((_summary(obj), kind, dict(error)))

    def _proposal(self, dn, user):
        """(the proposed link or None, why none) between AD user ``dn`` and active cloud user ``user``."""
        cloud = proposals.cloud_identity(user)
        identity = self.ad.identity(dn, cloud)
        link = proposals.proposed_link(dn, identity, cloud)
        return link, (None if link else proposals.no_proposal_reason(identity, cloud))

    # -- the engine model, asked about one AD user and one cloud object -------------------------

    def _ad_user(self, dn, anchor=None, address=None):
        """AD user ``dn`` as the engine model has it, from what the index keeps: objectGUID, the
        soft keys (primary SMTP address, UPN), sAMAccountName; ``anchor`` the ImmutableId it is
        found by (its mS-DS-ConsistencyGuid, or objectGUID), ``address`` another address it brings,
        as a secondary SMTP address (the index holds UPN, mail and proxy addresses in one
        namespace).  None when the question needs what the index lacks: the objectGUID, or a
        GUID anchor, for a hard match."""
        guid = self.ad.object_guids.get(dn)
        consistency = None
        if anchor:
            try:
                consistency = SourceAnchor.from_immutable_id(anchor, allow_opaque=False).guid
            except AnchorError:
                return None
            if not guid:
                return None
        primary, upn = self.ad.soft_keys.get(dn) or (None, None)
        proxies = ["SMTP:" + primary] if primary else []
        if address and address != primary:
            proxies.append("smtp:" + address)
        return sync.AdUser(dn, guid or _NO_GUID, consistency, sam=self.ad.names.get(dn), upn=upn,
                           proxy_addresses=proxies)

    def _predict(self, ad_user, cloud):
        return sync.predict(ad_user, sync.World([cloud], self.tenant))

    def _remap_refused(self, user, dn, anchor):
        """Whether the hard match of AD user ``dn`` (holding ``anchor``) onto ``user`` is refused
        because of onPremisesObjectIdentifier (MC1263280), as ``predict`` says."""
        ad_user = self._ad_user(dn, anchor=anchor)
        if ad_user is None:
            return False
        return self._predict(ad_user, cloud_object(user)).error == "AttributeUpdateNotAllowed"

    def _address_conflict(self, obj, kind, attribute, address, dn):
        """What the sync does when AD user ``dn`` meets cloud group or contact ``obj`` holding
        ``address``, as ``predict`` says: ObjectTypeMismatch when the soft match on the user's
        primary address finds it, a uniqueness conflict (quarantined, or AttributeValueMustBeUnique)
        for any other address it brings.  The user's primary held by a group or contact stays
        object_type_mismatch when the tenant blocks soft match too (the model then quarantines it):
        the scan has always named it so, the way out is the same."""
        ad_user = self._ad_user(dn, address=address)
        prediction = self._predict(ad_user, cloud_object(obj, kind))
        primary = (self.ad.soft_keys.get(dn) or (None, None))[0]
        conflicted = prediction.error == "AttributeValueMustBeUnique" or any(
            (smtp_address(value) or "").lower() == address for dummy, value in prediction.quarantined)
        if prediction.error == "ObjectTypeMismatch" or (address == primary and conflicted):
            return object_type_mismatch_finding(obj, kind, attribute, address, dn, USER, self.ad.name(dn))
        if conflicted:
            return address_conflict_finding(obj, kind, attribute, address, dn, self.ad.name(dn), prediction)
        return None

    def _placeholder_ad(self, user, quarantined):
        """(AD name, AD object for a link, AD DN or None, AD identity or None) of the AD user joined
        to the placeholder: by its anchor, else by the quarantined UPN; without it, what Graph says
        of it - the placeholder is that user's synced copy (onPremisesSamAccountName,
        onPremisesDistinguishedName, mailNickname, displayName), and its quarantined values are
        the UPN and addresses the AD user brings."""
        dn = self.ad.by_anchor(user.get("onPremisesImmutableId")) or self.ad.by_address(quarantined.lower())
        if dn:
            return self.ad.name(dn), dn, dn, None
        errors = provisioning_errors(user)
        proxies = [e["value"] for e in errors if isinstance(e.get("value"), str)
                   and _property_key(e.get("propertyCausingError")) == PROXY_PROPERTY.lower()]
        primary = primary_smtp(proxies)
        own = proposals.cloud_identity(user)
        identity = proposals.ad_identity(primary or own.primary, quarantined, own.nickname, own.sam, own.display,
                                         [_bare_address(p) for p in proxies] + sorted(own.addresses))
        sam, on_prem_dn = user.get("onPremisesSamAccountName"), user.get("onPremisesDistinguishedName")
        return sam or on_prem_dn, on_prem_dn or sam, None, identity


def _summary(obj):
    """What a deferred finding needs of an object, and nothing more."""
    return dict((k, obj.get(k)) for k in ("id", "displayName", "userPrincipalName", "mail"))
