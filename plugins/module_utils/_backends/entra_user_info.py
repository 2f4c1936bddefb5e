# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What entra_user_info reads of cloud users and how it describes them.  Internal to this
collection: not a public API.

``read_users`` is the only part that talks to Graph (through ``_graph.directory``); the rest is
pure: a selector is answered by its one active user, else by its one soft-deleted user (Entra
prefixes a deleted user's UPN with its object id, see ``_graph.directory.match_deleted``), else
it is not found, with the candidates when several users answer it.  Roles come with their
names (one list of role definitions, read only when somebody holds a role).
"""

from ansible_collections.syncfix.entra.plugins.module_utils._graph import directory
from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import InputError
from ansible_collections.syncfix.entra.plugins.module_utils._rules.anchor import AnchorError, SourceAnchor

DETAILS = ("roles", "licenses")
OBJECT_IDENTIFIER_UNKNOWN = ("this Graph does not offer onPremisesObjectIdentifier; sync.object_identifier is null "
                             "for every user, whether or not it is set")


def parse_selectors(users):
    """The selectors, stripped; InputError when any is empty."""
    empty = [s for s in users if not s.strip()]
    if empty:
        raise InputError("users: %d empty selector(s); give a UPN, object id or SMTP address for each" % len(empty))
    return [s.strip() for s in users]


class UserReading:
    """Everything read for one run: the lookup, roles and licenses per user id, deleted users."""

    def __init__(self, lookup, roles, licenses, deleted):
        self.lookup = lookup
        self.roles = roles
        self.licenses = licenses
        self.deleted = deleted

    def users_read(self):
        return list(self.lookup.found.values()) + self.deleted


def read_users(client, selectors, details, include_deleted):
    """Look the selectors up, read the requested details of the found users, and the recycle
    bin only when a selector named no active user.  Raises GraphError."""
    lookup = directory.find_users(client, selectors)
    found_ids = [u["id"] for u in lookup.found.values()]
    roles = directory.named_role_holdings(client, directory.role_holdings(client, found_ids)) \
        if "roles" in details else {}
    licenses = directory.license_details(client, found_ids) if "licenses" in details else {}
    deleted = directory.deleted_users(client) if include_deleted and lookup.missing else []
    return UserReading(lookup, roles, licenses, deleted)


def decode_anchor(value):
    """An immutable id decoded (to the AD GUID when it is one); an undecodable one says why."""
    if not value:
        return None
    try:
        return SourceAnchor.from_immutable_id(value).to_dict()
    except AnchorError as e:
        return {"kind": "invalid", "error": str(e)}


def describe_user(selector, user, deleted):
    return dict(
        item=selector, found=True, id=user.get("id"),
        user_principal_name=user.get("userPrincipalName"), display_name=user.get("displayName"),
        mail=user.get("mail"), proxy_addresses=sorted(user.get("proxyAddresses") or [], key=lambda v: (v.lower(), v)),
        account_enabled=user.get("accountEnabled"), deleted=deleted, deleted_date_time=user.get("deletedDateTime"),
        sync=dict(
            enabled=bool(user.get("onPremisesSyncEnabled")),
            immutable_id=user.get("onPremisesImmutableId"),
            anchor=decode_anchor(user.get("onPremisesImmutableId")),
            last_sync=user.get("onPremisesLastSyncDateTime"),
            distinguished_name=user.get("onPremisesDistinguishedName"),
            sam_account_name=user.get("onPremisesSamAccountName"),
            object_identifier=user.get("onPremisesObjectIdentifier"),
        ),
        provisioning_errors=user.get("onPremisesProvisioningErrors") or [],
    )


def describe_selector(selector, reading, details):
    """One ``users`` entry: the active user, else the one deleted user, else not found."""
    lookup = reading.lookup
    if selector in lookup.found:
        user = lookup.found[selector]
        entry = describe_user(selector, user, deleted=False)
        if "roles" in details:
            entry["roles"] = reading.roles.get(user["id"])
        if "licenses" in details:
            entry["licenses"] = reading.licenses.get(user["id"])
        return entry
    if selector in lookup.ambiguous:
        return dict(item=selector, found=False,
                    candidates=sorted(u.get("userPrincipalName") for u in lookup.ambiguous[selector]))
    matches = directory.match_deleted(reading.deleted, selector)
    if len(matches) == 1:
        return describe_user(selector, matches[0], deleted=True)
    entry = dict(item=selector, found=False)
    if matches:
        entry["candidates"] = sorted(m.get("userPrincipalName") for m in matches)
    return entry


def unknown_selectors(entries, include_deleted):
    """``[(selector, why)]`` of the entries that name no single user, in order: the lookup
    failures (``_rules.lookup_failure.decide``)."""
    where = "no active or soft-deleted user" if include_deleted else "no active user (include_deleted is false)"
    unknown = []
    for entry in entries:
        if entry["found"]:
            continue
        if entry.get("candidates"):
            unknown.append((entry["item"], "matches several users (%s); name one by object id"
                            % ", ".join(entry["candidates"])))
        else:
            unknown.append((entry["item"], "matches %s" % where))
    return unknown


def unknown_property_warnings(reading):
    """A property this Graph lacks is unknown, not absent: say so rather than return null as fact."""
    read = reading.users_read()
    if read and not any("onPremisesObjectIdentifier" in u for u in read):
        return [OBJECT_IDENTIFIER_UNKNOWN]
    return []
