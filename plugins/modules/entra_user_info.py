#!/usr/bin/python
# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: entra_user_info
short_description: Read Entra cloud users in bulk, with their sync state and what blocks a match
version_added: 0.1.0
description:
  - Reads cloud users by user principal name, object id or any SMTP address, in bulk, and
    returns what matters for linking them to on-premises AD users - whether they are synced,
    their immutable id (decoded to the AD GUID when it is one), provisioning errors such as
    quarantined duplicate values, directory roles held or eligible, licenses, and whether they
    sit in the recycle bin.
  - A selector that names no active user is looked up among soft-deleted users, whose UPN
    Entra prefixes with their object id, and by mail and proxy address.
extends_documentation_fragment:
  - syncfix.entra.graph
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Reads only; there is nothing to diff.
  platform:
    support: full
    platforms: [microsoft_graph]
    description: Runs on the controller and talks to Microsoft Graph.
options:
  users:
    description: The users to read, each by user principal name, object id or SMTP address.
    type: list
    elements: str
    required: true
  include_deleted:
    description: Look up selectors that name no active user among soft-deleted users.
    type: bool
    default: true
  details:
    description:
      - Extra reads per found active user. Each costs one Graph request per user (two for
        V(roles)), sent through C($batch); leave out what you do not need on large lists.
    type: list
    elements: str
    choices: [roles, licenses]
    default: [roles, licenses]
author:
  - syncfix.entra contributors (@syncfix)
"""

EXAMPLES = r"""
- name: What does Entra know about the new VP?
  syncfix.entra.entra_user_info:
    users: [vp@contoso.com]
  register: vp

- name: Stop if her cloud user is already synced from somewhere else
  ansible.builtin.assert:
    that: not vp.users[0].sync.enabled
    fail_msg: "{{ vp.users[0].user_principal_name }} is already synced from {{ vp.users[0].sync.distinguished_name }}"

- name: Find who holds an address, in the recycle bin too
  syncfix.entra.entra_user_info:
    users: [sales@contoso.com]
    details: []
"""

RETURN = r"""
users:
  description: One entry per selector, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The selector as given.
      type: str
      sample: vp@contoso.com
    found:
      description: Whether an active or soft-deleted user matched.
      type: bool
      sample: true
    id:
      description: Object id.
      type: str
      sample: 4f1c3c55-9f55-4f43-9b8e-0d1ad77c3a1e
    user_principal_name:
      description: UPN (for a soft-deleted user, as Entra renamed it).
      type: str
      sample: vp@contoso.com
    mail:
      description: Primary SMTP address.
      type: str
      sample: vp@contoso.com
    proxy_addresses:
      description: All proxy addresses, sorted.
      type: list
      elements: str
      sample: ["SMTP:vp@contoso.com", "smtp:vp@contoso.onmicrosoft.com"]
    deleted:
      description: Whether the user is soft-deleted (in the recycle bin).
      type: bool
      sample: false
    deleted_date_time:
      description: When it was deleted; it is purged automatically 30 days later.
      type: str
      sample: "2026-11-01T10:00:00Z"
    sync:
      description: On-premises sync state.
      type: dict
      contains:
        enabled:
          description: C(onPremisesSyncEnabled); true means the user is mastered on-premises.
          type: bool
          sample: false
        immutable_id:
          description: C(onPremisesImmutableId).
          type: str
          sample: BpazOkLGm0iEtljAONPvOQ==
        anchor:
          description: The immutable id decoded (kind, guid, hex, connector_dn), or null.
          type: dict
          sample: {"kind": "guid", "guid": "3ab39606-c642-489b-84b6-58c038d3ef39"}
        last_sync:
          description: C(onPremisesLastSyncDateTime).
          type: str
          sample: "2026-11-20T08:00:00Z"
        distinguished_name:
          description: C(onPremisesDistinguishedName).
          type: str
          sample: CN=VP,OU=Staff,DC=contoso,DC=com
    provisioning_errors:
      description: C(onPremisesProvisioningErrors), for example a UPN or address quarantined as a duplicate.
      type: list
      elements: dict
      sample: [{"category": "PropertyConflict", "propertyCausingError": "ProxyAddress", "value": "smtp:vp@contoso.com"}]
    roles:
      description: Directory role definition ids held (active) or eligible; present when requested.
      type: dict
      sample: {"active": ["62e90394-69f5-4237-9190-012177145e10"], "eligible": []}
    licenses:
      description: SKU part numbers; present when requested.
      type: list
      elements: str
      sample: ["ENTERPRISEPACK"]
    candidates:
      description: When a selector matched several users, their UPNs.
      type: list
      elements: str
      sample: ["a@contoso.com", "b@contoso.com"]
"""

from ansible_collections.syncfix.entra.plugins.module_utils import entra_directory as directory
from ansible_collections.syncfix.entra.plugins.module_utils.anchor import AnchorError, SourceAnchor
from ansible_collections.syncfix.entra.plugins.module_utils.entra_module import EntraModule, graph_failure_message
from ansible_collections.syncfix.entra.plugins.module_utils.graph_auth import AuthError
from ansible_collections.syncfix.entra.plugins.module_utils.graph_client import GraphError


def decode_anchor(value):
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


def main():
    entra = EntraModule(
        argument_spec=dict(
            users=dict(type="list", elements="str", required=True),
            include_deleted=dict(type="bool", default=True),
            details=dict(type="list", elements="str", choices=["roles", "licenses"], default=["roles", "licenses"]),
        ),
        supports_check_mode=True,
    )
    params = entra.params
    selectors = [s.strip() for s in params["users"]]
    empty = [s for s in params["users"] if not s.strip()]
    if empty:
        entra.fail("users: %d empty selector(s); give a UPN, object id or SMTP address for each" % len(empty))
    try:
        client = entra.client
        lookup = directory.find_users(client, selectors)
        found_ids = [u["id"] for u in lookup.found.values()]
        roles = directory.role_holdings(client, found_ids) if "roles" in params["details"] else {}
        licenses = directory.license_details(client, found_ids) if "licenses" in params["details"] else {}
        deleted = directory.deleted_users(client) if params["include_deleted"] and lookup.missing else []
    except (GraphError, AuthError) as e:
        entra.fail(graph_failure_message(e))

    users = []
    for selector in selectors:
        if selector in lookup.found:
            user = lookup.found[selector]
            entry = describe_user(selector, user, deleted=False)
            if "roles" in params["details"]:
                entry["roles"] = roles.get(user["id"])
            if "licenses" in params["details"]:
                entry["licenses"] = licenses.get(user["id"])
        elif selector in lookup.ambiguous:
            entry = dict(item=selector, found=False,
                         candidates=sorted(u.get("userPrincipalName") for u in lookup.ambiguous[selector]))
        else:
            matches = directory.match_deleted(deleted, selector)
            if len(matches) == 1:
                entry = describe_user(selector, matches[0], deleted=True)
            else:
                entry = dict(item=selector, found=False)
                if matches:
                    entry["candidates"] = sorted(m.get("userPrincipalName") for m in matches)
        users.append(entry)
    read = list(lookup.found.values()) + deleted
    if read and not any("onPremisesObjectIdentifier" in u for u in read):
        entra.module.warn("this Graph does not offer onPremisesObjectIdentifier; sync.object_identifier is null for "
                          "every user, whether or not it is set")
    entra.module.exit_json(changed=False, users=users, graph_requests=dict(client.stats))


if __name__ == "__main__":
    main()
