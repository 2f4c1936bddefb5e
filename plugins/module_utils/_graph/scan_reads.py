# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The Graph side of the sync-conflict scan: whole-tenant list reads, streamed into
``_scan.cloud.CloudScan``.  Internal to this collection: not a public API.

Every read is a paged collection GET with ``$select`` of what the rules need ("List users",
"List groups", "List orgContacts", "List deletedItems", "List unifiedRoleAssignments"), never one
request per object: the number of requests grows with the tenant's size divided by the page size
(``$top`` 999, the most Graph gives).  Users are yielded as the pages come, so memory holds one
page.  ``onPremisesProvisioningErrors`` is "returned only on $select", so it is always named.

A collection the app may not read (403: no Group.Read.All, OrgContact.Read.All,
User.DeleteRestore.All or RoleManagement.Read.Directory) is skipped with a warning: the rules
that need it did not run, which is not the same as finding nothing.
"""

from ansible_collections.syncfix.entra.plugins.module_utils._graph import directory
from ansible_collections.syncfix.entra.plugins.module_utils._graph.client import GraphError

PAGE_SIZE = 999
USER_SELECT = ",".join([
    "id", "userPrincipalName", "displayName", "mail", "mailNickname", "proxyAddresses", "accountEnabled",
    "createdDateTime", "onPremisesSyncEnabled", "onPremisesImmutableId", "onPremisesProvisioningErrors",
    "onPremisesSamAccountName", "onPremisesDistinguishedName", "onPremisesObjectIdentifier",
])
MAIL_OBJECT_SELECT = "id,displayName,mail,proxyAddresses,onPremisesSyncEnabled,onPremisesProvisioningErrors"
DELETED_USER_SELECT = "id,userPrincipalName,displayName,mail,proxyAddresses,onPremisesSyncEnabled,onPremisesImmutableId,deletedDateTime"

USERS_PATH = "/users"
GROUPS_PATH = "/groups"
CONTACTS_PATH = "/contacts"
DELETED_USERS_PATH = "/directory/deletedItems/microsoft.graph.user"

# What read_tenant's ``options`` may say, and the default of each.
DEFAULT_OPTIONS = {"page_size": PAGE_SIZE, "groups": True, "contacts": True, "deleted_users": True, "roles": True}


class TenantReader(object):
    """The tenant, read on demand: ``domains`` and ``features`` once, ``users()`` and the other
    collections as generators, ``role_holders(ids)`` in bulk.  ``scan(cloud_scan)`` runs them all
    in the order the rules need and returns every finding.  ``warnings`` says what could not be read."""

    def __init__(self, client, options=None):
        self.client = client
        self.options = dict(DEFAULT_OPTIONS)
        # Other keys (a caller may pass its whole option set) are not ours and are left alone.
        self.options.update(dict((k, v) for k, v in (options or {}).items() if k in DEFAULT_OPTIONS and v is not None))
        self.warnings = []
        self._domains = self._features = None
        self._features_read = False

    # -- the tenant's facts --------------------------------------------------------------------

    @property
    def domains(self):
        if self._domains is None:
            self._domains = directory.read_domains(self.client)
        return self._domains

    @property
    def verified_domains(self):
        """The tenant's verified domains, lower-cased (``_graph.directory.Domains.verified``)."""
        return self.domains.verified

    @property
    def features(self):
        """The directory-sync ``features`` dict, or None when the app may not read them."""
        if not self._features_read:
            self._features = directory.sync_features(self.client)
            self._features_read = True
            if self._features is None:
                self.warnings.append("the tenant's directory-sync features could not be read (403): grant "
                                     "OnPremDirectorySynchronization.Read.All")
        return self._features

    # -- collections ---------------------------------------------------------------------------

    def _list(self, path, select, operation, permission):
        """Every item of one collection, page by page; a 403 is a warning and an empty stream."""
        params = {"$select": select, "$top": str(self.options["page_size"])}
        try:
            yield from self.client.iterate(path, params=params, operation=operation)
        except GraphError as error:
            if error.status != 403:
                raise
            self.warnings.append("%s: %s; grant %s to scan them" % (operation, error.describe(), permission))

    def users(self):
        """Active users: streamed, one page in memory.  A Graph that lacks an optional property
        (onPremisesObjectIdentifier on some clouds) refuses it; the list is read without it and
        the rules that need it say nothing ("A property this Graph lacks is unknown")."""
        select = USER_SELECT
        while True:
            items = self.client.iterate(USERS_PATH, params={"$select": select, "$top": str(self.options["page_size"])},
                                        operation="list users")
            try:
                first = next(items, None)
            except GraphError as error:
                name = directory.refused_optional_property(error, select)
                if not name:
                    raise
                select = ",".join(p for p in select.split(",") if p != name)
                self.warnings.append("this Graph lacks %s: object_identifier_mismatch is not checked" % name)
                continue
            if first is not None:
                yield first
                yield from items
            return

    def groups(self):
        return self._list(GROUPS_PATH, MAIL_OBJECT_SELECT, "list groups", "Group.Read.All")

    def contacts(self):
        return self._list(CONTACTS_PATH, MAIL_OBJECT_SELECT, "list organizational contacts", "OrgContact.Read.All")

    def deleted_users(self):
        return self._list(DELETED_USERS_PATH, DELETED_USER_SELECT, "list deleted users", "User.DeleteRestore.All")

    # -- directory roles -----------------------------------------------------------------------

    def role_grants(self):
        """``{principal id: {"active": set, "eligible": set}}`` of role definition ids: every
        assignment and eligibility in two paged reads (``_graph.directory.ROLE_SOURCES``).  A tenant
        without Entra ID P2 answers AadPremiumLicenseRequired for eligibilities: nobody is eligible."""
        return directory.role_grants(self.client, paged=True)

    def role_holders(self, user_ids):
        """Roles each of ``user_ids`` holds or is eligible for, directly or through a role-assignable
        group ("Use Microsoft Entra groups to manage role assignments"), named once
        (``_graph.directory.named_role_holdings``' shape).  The group memberships are read for these
        users only (``_graph.directory.role_assignable_groups``), and only when a principal other
        than them holds a role."""
        user_ids = list(user_ids)
        if not user_ids:
            return {}
        try:
            grants = self.role_grants()
        except GraphError as error:
            if error.status != 403:
                raise
            self.warnings.append("directory roles: %s; grant RoleManagement.Read.Directory so admin_role_match can "
                                 "run" % error.describe())
            return {}
        holdings = dict((user_id, {"active": set(), "eligible": set()}) for user_id in user_ids)
        if set(grants) - set(user_ids):
            for user_id, groups in directory.role_assignable_groups(self.client, user_ids).items():
                for group_id in groups:
                    for kind, ids in grants.get(group_id, {}).items():
                        holdings[user_id][kind] |= ids
        for user_id in user_ids:
            for kind, ids in grants.get(user_id, {}).items():
                holdings[user_id][kind] |= ids
        held = dict((user_id, dict((kind, sorted(ids)) for kind, ids in kinds.items()))
                    for user_id, kinds in holdings.items() if kinds["active"] or kinds["eligible"])
        return directory.named_role_holdings(self.client, held)

    # -- everything, in order ------------------------------------------------------------------

    def feed(self, cloud_scan):
        """Feed the whole tenant to ``cloud_scan`` (a ``_scan.cloud.CloudScan``), yielding its
        findings as they come; the caller then calls ``cloud_scan.finish()``.  Roles are read
        last, for the users a match would hit (known only then)."""
        for user in self.users():
            yield from cloud_scan.add_user(user)
        for enabled, stream, add in (("groups", self.groups, cloud_scan.add_group),
                                     ("contacts", self.contacts, cloud_scan.add_contact),
                                     ("deleted_users", self.deleted_users, cloud_scan.add_deleted_user)):
            if self.options[enabled]:
                for obj in stream():
                    yield from add(obj)
        targets = cloud_scan.match_targets()
        if self.options["roles"] and targets:
            yield from cloud_scan.set_role_holders(self.role_holders(targets))

    def scan(self, cloud_scan):
        """``feed`` and ``finish``: every finding, as a list."""
        return list(self.feed(cloud_scan)) + cloud_scan.finish()


def read_tenant(client, options=None):
    """A ``TenantReader`` over ``client`` (a ``_graph.client.GraphClient``).  ``options``:
    ``page_size`` ($top, 1-999, default 999), ``groups``, ``contacts``, ``deleted_users``,
    ``roles`` (booleans, default true: read that part).  Nothing is read until asked for."""
    return TenantReader(client, options)
