# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Bulk reads and writes of Entra directory objects over Graph: the adapter the Entra modules use.

Everything here reads many objects per request: ``$filter=... in (...)`` lists of up to 15
values, or up to 15 ``proxyAddresses/any(...)`` expressions joined by ``or``, sent 20 requests
to a ``$batch``; whole-tenant lists (role assignments) are read once, never per object.  It
returns plain dicts and GraphError; it knows nothing of Ansible options.
"""

import re

from urllib.parse import urlencode

from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import SyncfixError
from ansible_collections.syncfix.entra.plugins.module_utils._rules.proxy_address import smtp_addresses
from ansible_collections.syncfix.entra.plugins.module_utils._graph.client import (
    BATCH_LIMIT, GraphError, NotWritten, OutcomeUnknown,
)
from ansible_collections.syncfix.entra.plugins.module_utils._rules.user_removal import ACTIVE, GONE, IN_RECYCLE_BIN, names_user

# Expressions in one default-query filter clause (Microsoft Graph known issues, "Some limitations
# apply to query parameters": with ``in``, "the request is limited to 15 expressions in the
# filter clause by default"): the values of an ``in`` list, or the ``or``-joined expressions of
# a chain ("Use the $filter query parameter" lists ``or`` among the conditional operators).
IN_LIMIT = 15
USER_SELECT = ",".join([
    "id", "userPrincipalName", "displayName", "mail", "proxyAddresses", "accountEnabled",
    "onPremisesImmutableId", "onPremisesSyncEnabled", "onPremisesObjectIdentifier",
    "onPremisesDistinguishedName", "onPremisesLastSyncDateTime", "onPremisesSamAccountName",
    "onPremisesProvisioningErrors", "assignedLicenses",
])
DELETED_USER_SELECT = USER_SELECT + ",deletedDateTime"
_OBJECT_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def odata_string(value):
    """An OData string literal: single quotes doubled ("OData URL conventions", 5.1.1.6.1)."""
    return "'%s'" % value.replace("'", "''")


def _get(path, params, advanced=False):
    request = {"method": "GET", "url": "%s?%s" % (path, urlencode(params))}
    if advanced:
        request["headers"] = {"ConsistencyLevel": "eventual"}
    return request


def _chunks(values, size):
    values = list(values)
    return [values[i:i + size] for i in range(0, len(values), size)]


def _answer_items(client, request, answer, operation):
    """Every item of the collection one $batch answer holds, later pages included.

    A collection answered inside a batch is paged like any other ("Combine multiple HTTP
    requests using JSON batching": items carry ``@odata.nextLink``), so the later pages are
    read with the request's own headers. Any answer other than 2xx is a GraphError.
    """
    if answer is None:
        raise GraphError("no answer", "BatchItemMissing", "the $batch response had no answer for this request",
                         operation=operation, target=request["url"])
    if answer["status"] >= 400:
        raise GraphError.from_response(answer["status"], answer.get("body"), answer.get("headers"),
                                       operation, request["url"])
    page = answer.get("body") or {}
    items = list(page.get("value", []))
    advanced = "ConsistencyLevel" in (request.get("headers") or {})
    while page.get("@odata.nextLink"):
        page = client.get(page["@odata.nextLink"], advanced=advanced, operation=operation,
                          target=request["url"]) or {}
        items.extend(page.get("value", []))
    return items


def _collect_each(client, reads):
    """Run ``reads`` (``[(operation, GET request)]``) through one $batch call, so that they
    overlap: ``[(request, every item of its collection)]``."""
    requests = [request for operation, request in reads]
    return [(request, _answer_items(client, request, answer, operation))
            for (operation, request), answer in zip(reads, client.batch(requests))]


def _collect(client, requests, operation):
    """``_collect_each`` for requests of one operation."""
    return _collect_each(client, [(operation, request) for request in requests])


def _smtp_reads(path, addresses, select, operation):
    """Reads of the objects at ``path`` holding any of ``addresses`` (SMTP, without prefix):
    ``proxyAddresses/any(p:p eq 'smtp:...')`` expressions, IN_LIMIT to a request joined by
    ``or``.  Each address is an expression of its own: ``any(p:p in (...))`` is not documented."""
    wanted = list(dict.fromkeys(a.lower() for a in addresses))
    return [(operation, _get(path, {"$filter": " or ".join("proxyAddresses/any(p:p eq %s)" % odata_string("smtp:" + a)
                                                           for a in chunk), "$select": select}))
            for chunk in _chunks(wanted, IN_LIMIT)]


def _smtp_addresses(obj):
    """The SMTP addresses in an object's proxyAddresses, primary or not, lower-cased: what the
    filter matched, compared the way the directory compares them (case-insensitively)."""
    return set(address.lower() for address in smtp_addresses(obj.get("proxyAddresses")))


# Graph refuses a whole $select that names a property its schema lacks ("Could not find a
# property named 'x' on type 'microsoft.graph.user'"). onPremisesObjectIdentifier came with the
# 2026 hard-match hardening and is not yet in every cloud's v1.0 schema, so it is asked for but
# dropped when refused; users read without it lack the key, which callers treat as unknown.
OPTIONAL_USER_PROPERTIES = ("onPremisesObjectIdentifier",)
_UNKNOWN_PROPERTY = re.compile(r"Could not find a property named '([^']+)'")


def refused_optional_property(error, select):
    """The optional property Graph refused in ``select`` (a 400 naming it), else None."""
    found = _UNKNOWN_PROPERTY.search(error.message or "") if error.status == 400 else None
    name = found.group(1) if found else None
    return name if name in OPTIONAL_USER_PROPERTIES and name in select.split(",") else None


def _without_refused_optional(read, select):
    """``read(select)``; each time Graph refuses an optional property, again without it."""
    while True:
        try:
            return read(select)
        except GraphError as error:
            name = refused_optional_property(error, select)
            if not name:
                raise
            select = ",".join(p for p in select.split(",") if p != name)


class UserLookup:
    """Which cloud user each selector (object id, UPN or any SMTP address) names."""

    def __init__(self):
        self.found = {}
        self.missing = []
        self.ambiguous = {}


def find_users(client, selectors, select=USER_SELECT):
    """Resolve selectors in bulk: ids and UPNs with ``in`` filters, the rest by proxy address."""
    return _without_refused_optional(lambda chosen: _find_users(client, selectors, chosen), select)


def _find_users(client, selectors, select):
    lookup = UserLookup()
    pending = list(dict.fromkeys(selectors))
    by_field = (("id", [s for s in pending if _OBJECT_ID.match(s)]),
                ("userPrincipalName", [s for s in pending if "@" in s]))
    reads, fields, named = [], [], {}
    for field, values in by_field:
        for chunk in _chunks(values, IN_LIMIT):
            reads.append(("find users by %s" % field, _get("/users", {
                "$filter": "%s in (%s)" % (field, ",".join(odata_string(v) for v in chunk)), "$select": select})))
            fields.append(field)
        for value in values:
            named.setdefault((field, value.lower()), []).append(value)
    for field, (request, users) in zip(fields, _collect_each(client, reads)):
        for user in users:
            for value in named.get((field, (user.get(field) or "").lower()), []):
                lookup.found[value] = user
    rest = [s for s in by_field[1][1] if s not in lookup.found]
    holders = _users_holding(client, rest, select)
    for selector in rest:
        users = holders.get(selector.lower(), [])
        if len(users) == 1:
            lookup.found[selector] = users[0]
        elif len(users) > 1:
            lookup.ambiguous[selector] = users
    lookup.missing = [s for s in pending if s not in lookup.found and s not in lookup.ambiguous]
    return lookup


def _users_holding(client, addresses, select):
    """``{address, lower-cased: [user]}``: the active users holding each SMTP address, asked
    IN_LIMIT addresses to a request and told apart here (the filter says which user matched some
    address of the chain, not which).  proxyAddresses is read for that even when ``select`` lacks
    it, and then left out of the users returned."""
    chosen = select if "proxyAddresses" in select.split(",") else select + ",proxyAddresses"
    users = {}
    for request, answered in _collect_each(client, _smtp_reads("/users", addresses, chosen,
                                                               "find users by proxy address")):
        for user in answered:
            users[user["id"]] = user
    holders = dict((address.lower(), []) for address in addresses)
    for user in users.values():
        for address in _smtp_addresses(user) & set(holders):
            holders[address].append(user if chosen == select else
                                    dict((k, v) for k, v in user.items() if k != "proxyAddresses"))
    return holders


def users_by_immutable_id(client, immutable_ids, select=USER_SELECT):
    """Active users whose onPremisesImmutableId is one of these, with ``select`` (advanced query:
    "Advanced query capabilities on Microsoft Entra ID objects", onPremisesImmutableId ``in``)."""
    def read(chosen):
        requests = [_get("/users", {"$filter": "onPremisesImmutableId in (%s)" % ",".join(odata_string(v) for v in chunk),
                                    "$select": chosen, "$count": "true"}, advanced=True)
                    for chunk in _chunks(list(dict.fromkeys(immutable_ids)), IN_LIMIT)]
        return [user for request, users in _collect(client, requests, "find users by immutable id") for user in users]
    return _without_refused_optional(read, select)


MAIL_OBJECT_SELECT = "id,displayName,mail,proxyAddresses"


def mail_objects(client, addresses):
    """Cloud groups and contacts holding any of these SMTP addresses: ``[(kind, object)]``, each
    once.  A user's address held by one of them is an ObjectTypeMismatch candidate.  Both
    collections are asked in one $batch call, IN_LIMIT addresses to a request."""
    reads, kinds = [], []
    for kind, path in (("group", "/groups"), ("contact", "/contacts")):
        asked = _smtp_reads(path, addresses, MAIL_OBJECT_SELECT, "find %ss by proxy address" % kind)
        reads += asked
        kinds += [kind] * len(asked)
    found = {}
    for kind, (request, objects) in zip(kinds, _collect_each(client, reads)):
        for obj in objects:
            found[obj["id"]] = (kind, obj)
    return list(found.values())


def anchor_holders(client, immutable_ids):
    """Active users holding each ImmutableId: ``{immutable_id: [user, ...]}`` (advanced query)."""
    holders = dict((value, []) for value in immutable_ids)
    requests = [_get("/users", {"$filter": "onPremisesImmutableId in (%s)" % ",".join(odata_string(v) for v in chunk),
                                "$select": "id,userPrincipalName,onPremisesImmutableId", "$count": "true"},
                     advanced=True)
                for chunk in _chunks(holders, IN_LIMIT)]
    for request, users in _collect(client, requests, "find holders of immutable ids"):
        for user in users:
            if user.get("onPremisesImmutableId") in holders:
                holders[user["onPremisesImmutableId"]].append(dict(user, deleted=False))
    return holders


def deleted_users(client, select=DELETED_USER_SELECT):
    """Every soft-deleted user (the recycle bin), one paged read."""
    return _without_refused_optional(
        lambda chosen: list(client.iterate("/directory/deletedItems/microsoft.graph.user",
                                           params={"$select": chosen, "$top": "999"}, operation="list deleted users")),
        select)


ROLE_SOURCES = (
    ("active", "/roleManagement/directory/roleAssignments"),
    ("eligible", "/roleManagement/directory/roleEligibilityScheduleInstances"),
)
ROLE_GRANT_SELECT = "principalId,roleDefinitionId"


def role_grants(client, paged=False):
    """``{principal id: {"active": set, "eligible": set}}`` of role definition ids: every
    directory role assignment and eligibility of the tenant ("List unifiedRoleAssignments",
    "List roleEligibilityScheduleInstances"), each list read once: both in one $batch call, or
    with ``paged`` in plain paged GETs one after the other (the scan's way, as it reads every
    other list).  Eligibility is PIM, which needs Entra ID P2 or Governance: a tenant without it
    answers 400 AadPremiumLicenseRequired, and nobody there can be eligible for a role."""
    grants = {}
    for kind, listed in _role_grant_lists(client, paged):
        try:
            for grant in listed():
                if grant.get("principalId") and grant.get("roleDefinitionId"):
                    held = grants.setdefault(grant["principalId"], {"active": set(), "eligible": set()})
                    held[kind].add(grant["roleDefinitionId"])
        except GraphError as error:
            if kind == "eligible" and error.code == "AadPremiumLicenseRequired":
                continue
            raise
    return grants


def _role_grant_lists(client, paged):
    """``[(kind, read)]`` per ROLE_SOURCES: ``read()`` gives that list's grants (or its GraphError)."""
    if paged:
        return [(kind, lambda path=path, kind=kind: client.iterate(path, operation="list %s directory roles" % kind))
                for kind, path in ROLE_SOURCES]
    reads = [("read %s directory roles" % kind, _get(path, {"$select": ROLE_GRANT_SELECT})) for kind, path in ROLE_SOURCES]
    answers = client.batch([request for operation, request in reads])
    return [(kind, lambda read=read, answer=answer: _answer_items(client, read[1], answer, read[0]))
            for (kind, path), read, answer in zip(ROLE_SOURCES, reads, answers)]


def group_members(client, principals):
    """``{group id: [member id]}`` for those of ``principals`` that are groups, their direct
    members ("List group members", ``GET /groups/{id}/members``), in one $batch call.  Any other
    principal (a user, a service principal) answers 404 there: it is no group."""
    principals = list(principals)
    requests = [_get("/groups/%s/members" % principal, {"$select": "id"}) for principal in principals]
    members = {}
    for principal, request, answer in zip(principals, requests, client.batch(requests)):
        try:
            members[principal] = [m["id"] for m in _answer_items(client, request, answer, "read role group members")
                                  if m.get("id")]
        except GraphError as error:
            if error.status != 404:
                raise
    return members


def _role_groups(client, grants, principals, users):
    """``{group id: [member id]}`` for the groups among ``principals``.  An app that may read
    users but not groups (403 on "List group members": it needs GroupMember.Read.All,
    Group.Read.All or Directory.Read.All, which entra_immutable_id's and entra_user_purge's
    documented permissions lack) reads each of ``users``' own memberships instead ("List a
    user's direct memberships", User.Read.All suffices): one request per user, as before."""
    try:
        return group_members(client, principals)
    except GraphError as error:
        if error.status != 403:
            raise
    groups = {}
    for user_id, memberships in group_memberships(client, sorted(users)).items():
        for membership in memberships:
            if membership["id"] in grants:
                groups.setdefault(membership["id"], []).append(user_id)
    return groups


def role_holdings(client, user_ids, active_ids=None):
    """Directory role definitions each user holds or is eligible for, directly or through a
    role-assignable group it is a member of (for ``active_ids`` only, when given).

    Returns ``{user_id: {"active": [role definition ids], "eligible": [...]}}``.  The tenant's
    grants are read once (``role_grants``), whatever the number of users; then the members of
    each principal holding a role that is none of these users, the only ones that can be groups
    (``_role_groups``: each user's memberships instead when the app may not read groups).
    A role assigned to a group is held by its members, and a role-assignable group can't have
    groups as members, so its direct members are all ("Use Microsoft Entra groups to manage role
    assignments").  A few requests, never one per user.
    """
    holdings = dict((user_id, {"active": set(), "eligible": set()}) for user_id in user_ids)
    if not holdings:
        return {}
    grants = role_grants(client)
    # Soft-deleted users are nobody's members: ``active_ids`` names the others.
    members = set(holdings if active_ids is None else active_ids) & set(holdings)
    groups = _role_groups(client, grants, sorted(set(grants) - set(holdings)), members) if members else {}
    for group_id, member_ids in groups.items():
        for user_id in members.intersection(member_ids):
            for kind in ("active", "eligible"):
                holdings[user_id][kind] |= grants[group_id][kind]
    for user_id in holdings:
        for kind, ids in grants.get(user_id, {}).items():
            holdings[user_id][kind] |= ids
    return dict((user_id, dict((kind, sorted(ids)) for kind, ids in kinds.items()))
                for user_id, kinds in holdings.items())


def role_names(client):
    """``{role definition id: displayName}`` of every directory role definition, built-in and
    custom, in one paged list ("List unifiedRoleDefinitions": a built-in role's definition id is
    its template id, the ``roleDefinitionId`` of its assignments).  One read for all roles, never
    one per role; same permission as reading the assignments (RoleManagement.Read.Directory)."""
    return dict((d["id"], d.get("displayName")) for d in client.iterate(
        "/roleManagement/directory/roleDefinitions", params={"$select": "id,displayName"},
        operation="read directory role names") if d.get("id"))


def named_role_holdings(client, holdings):
    """``holdings`` (``role_holdings``) with each role as ``{"id", "displayName"}``; the names are
    read once, and only when somebody holds a role.  A role the list lacks keeps its id alone
    (displayName null)."""
    held = set(r for kinds in holdings.values() for ids in kinds.values() for r in ids)
    names = role_names(client) if held else {}
    return dict((user_id, dict((kind, [{"id": r, "displayName": names.get(r)} for r in ids])
                               for kind, ids in kinds.items()))
                for user_id, kinds in holdings.items())


def role_assignable_groups(client, user_ids):
    """``{user_id: [group id]}``: the role-assignable groups each user is a direct member of.  A
    role assigned to such a group is held by its members ("Use Microsoft Entra groups to manage
    role assignments"); such a group can't have groups as members, so direct is transitive."""
    requests = [_get("/users/%s/memberOf" % user_id, {"$select": "id,isAssignableToRole"}) for user_id in user_ids]
    return dict((user_id, [m["id"] for m in members if m.get("isAssignableToRole")])
                for user_id, (request, members) in zip(user_ids, _collect(client, requests, "read role groups")))


def license_details(client, user_ids):
    """SKU part numbers (``ENTERPRISEPACK``...) licensed to each user: ``{user_id: [sku, ...]}``."""
    requests = [{"method": "GET", "url": "/users/%s/licenseDetails" % user_id} for user_id in user_ids]
    return dict((user_id, sorted(d.get("skuPartNumber") or d.get("skuId") for d in details))
                for user_id, (request, details) in zip(user_ids, _collect(client, requests, "read licenses")))


def group_memberships(client, user_ids):
    """Groups and directory roles each user is a direct member of: ``{user_id: [{id, displayName, type}]}``."""
    requests = [_get("/users/%s/memberOf" % user_id, {"$select": "id,displayName"}) for user_id in user_ids]
    return dict((user_id, [{"id": m.get("id"), "displayName": m.get("displayName"),
                            "type": (m.get("@odata.type") or "").replace("#microsoft.graph.", "")} for m in members])
                for user_id, (request, members) in zip(user_ids, _collect(client, requests, "read memberships")))


def match_deleted(deleted, selector):
    """The soft-deleted users a selector (object id, UPN or SMTP address) names."""
    return [d for d in deleted if names_user(d, selector)]


class Domains:
    """The tenant's domains: which are federated, which is the initial onmicrosoft.com one."""

    def __init__(self, domains):
        self.federated = sorted(d["id"].lower() for d in domains if (d.get("authenticationType") or "").lower() == "federated")
        initial = [d["id"] for d in domains if d.get("isInitial")]
        self.initial = initial[0] if initial else None
        self.verified = sorted(d["id"].lower() for d in domains if d.get("isVerified", True))


def sync_features(client):
    """The tenant's directory-sync ``features`` ("onPremisesDirectorySynchronization resource
    type"), or None when the app may not read them (it needs OnPremDirectorySynchronization.Read.All)."""
    try:
        page = client.get("/directory/onPremisesSynchronization", operation="read directory sync features") or {}
    except GraphError as error:
        if error.status == 403:
            return None
        raise
    entries = page.get("value") or []
    return dict(entries[0].get("features") or {}) if entries else {}


def read_domains(client):
    return Domains(list(client.iterate("/domains", operation="list domains")))


def patch_users(client, patches, operation):
    """PATCH many users through $batch: ``patches`` is ``[(user_id, body, label)]``.

    Returns ``[(label, None or GraphError)]`` in order, so the caller can say which were done.
    """
    requests = [_patch_request(user_id, body) for user_id, body, label in patches]
    return [(label, answer_error(answer, operation, label))
            for (user_id, body, label), answer in zip(patches, client.batch(requests))]


def _patch_request(user_id, body):
    return {"method": "PATCH", "url": "/users/%s" % user_id, "body": body}


def answer_error(answer, operation, target):
    """The GraphError of one $batch answer (None, the item missing, or 4xx/5xx), None for 2xx."""
    if answer is not None and answer["status"] < 400:
        return None
    return GraphError.from_response(answer["status"] if answer else "no answer", (answer or {}).get("body"),
                                    (answer or {}).get("headers"), operation, target)


# How many times a write read back as not carried out is sent again: it did not land, so
# sending it again writes it once, not twice.
RESENDS = 3


def send_settled(client, items, request, answered, settle, lost=SyncfixError, on_resend=None, resends=RESENDS):
    """Send one write per item through ``$batch``, one envelope (BATCH_LIMIT) at a time, and
    settle the envelopes whose answer is lost; returns each item's outcome, in order.

    ``request(item)`` is the item's write; ``answered(item, answer)`` its outcome from its answer:
    None when it landed, else the error.  When sending an envelope raises ``lost`` (its answer
    lost, the connection dropped), ``settle(items, error)`` reads its items back and gives each
    one's outcome: None for a write that landed, NotWritten for one that was not carried out,
    another error when that can't be told.  The NotWritten are sent again (``on_resend(item)``
    first), up to ``resends`` times, and then keep that outcome.  One lost envelope holds back
    only its own writes, and nothing lands twice: a write goes again only once reading back has
    shown that it did not land."""
    outcomes, pending = [None] * len(items), list(range(len(items)))
    for attempt in range(resends + 1):
        for start in range(0, len(pending), BATCH_LIMIT):
            chunk = pending[start:start + BATCH_LIMIT]
            envelope = [items[i] for i in chunk]
            try:
                answers = client.batch([request(item) for item in envelope])
                settled = [answered(item, answer) for item, answer in zip(envelope, answers)]
            except lost as error:
                settled = settle(envelope, error)
            for index, outcome in zip(chunk, settled):
                outcomes[index] = outcome
        pending = [i for i in pending if isinstance(outcomes[i], NotWritten)]
        if not pending or attempt == resends:
            return outcomes
        for index in pending if on_resend is not None else ():
            on_resend(items[index])
    return outcomes


def patch_users_settled(client, patches, operation, resends=RESENDS):
    """``patch_users`` through ``send_settled``: a patch whose envelope was lost and whose values
    are there when its users are read back landed (its outcome None); one whose values are not
    was not carried out, so it is sent again, up to ``resends`` times, and then gets the error.
    Returns ``[(label, None or GraphError)]`` in order."""
    outcomes = send_settled(
        client, list(patches), lambda patch: _patch_request(patch[0], patch[1]),
        lambda patch, answer: answer_error(answer, operation, patch[2]),
        lambda envelope, error: [outcome for label, outcome in settle_patches(client, envelope, error, operation)],
        resends=resends)
    return [(label, outcome) for (user_id, body, label), outcome in zip(patches, outcomes)]


def settle_patches(client, patches, error, operation):
    fields = sorted(set(field for user_id, body, label in patches for field in body))
    try:
        current = find_users(client, [user_id for user_id, body, label in patches],
                             select=",".join(["id"] + fields)).found
    except SyncfixError as unread:
        return [(label, OutcomeUnknown(None, "OutcomeUnknown", "%s; reading the users back failed too (%s), so "
                                       "whether this write landed is unknown: run the task again, it reads before "
                                       "it writes" % (error, unread), None, operation, label))
                for user_id, body, label in patches]
    outcome = []
    for user_id, body, label in patches:
        user = current.get(user_id) or {}
        landed = all(user.get(field) == value for field, value in body.items())
        outcome.append((label, None if landed else NotWritten(
            getattr(error, "status", None), getattr(error, "code", None) or "Error",
            "not written: %s (reading the user back shows the old value)" % error, None, operation, label)))
    return outcome


def patch_user(client, user_id, body, operation, label):
    """One PATCH; when its answer is lost, the user is read back to tell whether it landed."""
    try:
        client.request("PATCH", "/users/%s" % user_id, body=body, operation=operation, target=label)
    except OutcomeUnknown as lost:
        ((label, error),) = settle_patches(client, [(user_id, body, label)], lost, operation)
        if error is not None:
            raise error


# Seconds to wait between tries when a user just soft-deleted is not yet in the recycle bin:
# the directory is eventually consistent, so a purge right after the delete can meet a 404
# (``_backends.entra_user_purge_batch``).
RECYCLE_BIN_WAITS = (1, 2, 4, 8)


def where_is(client, user_id, label):
    """ACTIVE, IN_RECYCLE_BIN or GONE: where one user is now, read by object id."""
    for path, where in (("/users/%s" % user_id, ACTIVE), ("/directory/deletedItems/%s" % user_id, IN_RECYCLE_BIN)):
        try:
            client.get(path, params={"$select": "id"}, operation="read where the user is", target=label)
            return where
        except GraphError as error:
            if error.status != 404:
                raise
    return GONE


BOTH = "active and soft-deleted"


class UserLocations:
    """Where each selector's user is: ``found`` is ``{selector: (where, user)}`` with ``where``
    ACTIVE, IN_RECYCLE_BIN or GONE (user None); ``ambiguous`` is ``{selector: (where,
    [candidate UPNs or ids])}`` for selectors that name several active or soft-deleted users,
    or an active user and a different soft-deleted one (``where`` BOTH)."""

    def __init__(self):
        self.found = {}
        self.ambiguous = {}

    def problems(self):
        """One line per ambiguous selector, naming the candidates and the way out."""
        lines = []
        for selector, (where, candidates) in self.ambiguous.items():
            kind = {ACTIVE: "active", IN_RECYCLE_BIN: "soft-deleted"}.get(where, where)
            lines.append("%s matches several %s users (%s); name one by object id" % (
                selector, kind, ", ".join(candidates)))
        return lines


def locate_users(client, selectors):
    """Sort selectors into found (active, in the recycle bin, or gone) and ambiguous.

    Every selector is looked for in the directory and in the recycle bin (read once for all
    selectors): ``old@contoso.com`` can be the UPN of a soft-deleted user and an alias of an
    active one, and acting on either would be a guess, so that selector is ambiguous.
    """
    lookup = find_users(client, selectors)
    deleted = deleted_users(client)
    located = UserLocations()
    for selector in selectors:
        matches = match_deleted(deleted, selector)
        if selector in lookup.ambiguous:
            candidates = sorted(u.get("userPrincipalName") for u in lookup.ambiguous[selector])
            located.ambiguous[selector] = (ACTIVE, candidates)
        elif selector in lookup.found:
            active = lookup.found[selector]
            others = [m for m in matches if m.get("id") != active.get("id")]
            if others:
                located.ambiguous[selector] = (BOTH, ["%s (active, %s)" % (active.get("userPrincipalName"), active["id"])]
                                               + sorted("%s (soft-deleted, %s)" % (m.get("userPrincipalName"), m["id"])
                                                        for m in others))
            else:
                located.found[selector] = (ACTIVE, active)
        elif len(matches) > 1:
            located.ambiguous[selector] = (IN_RECYCLE_BIN, sorted(m["id"] for m in matches))
        else:
            located.found[selector] = (IN_RECYCLE_BIN, matches[0]) if matches else (GONE, None)
    return located
