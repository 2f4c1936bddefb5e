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
  - A selector that names no user, or several, fails the task naming each such selector (and
    the candidates), unless O(lookup_failure_action) is V(warn) or V(ignore); then its entry
    says RV(users[].found=false).
  - Directory roles are given with their names, read in one list of role definitions.
extends_documentation_fragment:
  - syncfix.entra.graph
  - syncfix.entra.lookup
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
notes:
  - "Graph application permissions: C(User.Read.All), C(RoleManagement.Read.Directory) (for
    O(details=roles); leave V(roles) out of O(details) to run with C(User.Read.All) alone)."
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

- name: Find who holds an address, in the recycle bin too; nobody is an answer, not a failure
  syncfix.entra.entra_user_info:
    users: [sales@contoso.com]
    details: []
    lookup_failure_action: ignore
  register: holder

- name: Stop if a Global Administrator is among them
  ansible.builtin.assert:
    that: >-
      vp.users | selectattr('found') | map(attribute='roles.active') | flatten
      | selectattr('displayName', 'equalto', 'Global Administrator') | list | length == 0
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
      description:
        - Whether an active or soft-deleted user matched. False only with O(lookup_failure_action=warn)
          or O(lookup_failure_action=ignore); with V(fail) the task fails instead.
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
    display_name:
      description: C(displayName).
      type: str
      sample: Vice President
    account_enabled:
      description: C(accountEnabled); a disabled duplicate is a hint, not a proof, of a resiliency leftover.
      type: bool
      sample: true
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
        sam_account_name:
          description: C(onPremisesSamAccountName).
          type: str
          sample: vp
        object_identifier:
          description:
            - C(onPremisesObjectIdentifier), the AD object the sync last joined (absent where this
              Graph does not offer the property).
          type: str
          sample: 3ab39606-c642-489b-84b6-58c038d3ef39
    provisioning_errors:
      description: C(onPremisesProvisioningErrors), for example a UPN or address quarantined as a duplicate.
      type: list
      elements: dict
      sample: [{"category": "PropertyConflict", "propertyCausingError": "ProxyAddress", "value": "smtp:vp@contoso.com"}]
    roles:
      description:
        - Directory roles held (C(active)) or eligible for (C(eligible)), each with its role
          definition C(id) and C(displayName) (null for a definition the list lacks); present
          when requested.
      type: dict
      contains:
        active:
          description: Roles held, directly or through a role-assignable group.
          type: list
          elements: dict
        eligible:
          description: Roles the user is eligible for (PIM).
          type: list
          elements: dict
      sample: {"active": [{"id": "62e90394-69f5-4237-9190-012177145e10", "displayName": "Global Administrator"}],
               "eligible": []}
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
error:
  description:
    - What went wrong, for a playbook to branch on - kind (input, graph, auth, lookup) and the
      service's code, status or request id; for C(lookup), C(selectors) names the unknown ones.
  returned: when the task failed
  type: dict
  sample: {"kind": "graph", "message": "find users /users: Graph answered 403 Authorization_RequestDenied: ...",
           "status": 403, "code": "Authorization_RequestDenied", "request_id": "2f1e7c1a-0000-4000-8000-000000000001",
           "operation": "find users", "target": "/users"}
graph_requests:
  description: Counts of Graph requests sent, throttled and retried in this run.
  returned: when Graph was called
  type: dict
  sample: {"requests": 3, "batch_items": 2}
"""

from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import SyncfixError
from ansible_collections.syncfix.entra.plugins.module_utils._rules.lookup_failure import decide, lookup_failure_spec
from ansible_collections.syncfix.entra.plugins.module_utils._backends.entra_user_info import (
    DETAILS, describe_selector, parse_selectors, read_users, unknown_property_warnings, unknown_selectors,
)
from ansible_collections.syncfix.entra.plugins.module_utils._module.entra_module import EntraModule


def main():
    entra = EntraModule(
        argument_spec=dict(
            users=dict(type="list", elements="str", required=True),
            include_deleted=dict(type="bool", default=True),
            details=dict(type="list", elements="str", choices=list(DETAILS), default=list(DETAILS)),
            **lookup_failure_spec()
        ),
        supports_check_mode=True,
    )
    params = entra.params
    try:
        selectors = parse_selectors(params["users"])
        reading = read_users(entra.client, selectors, params["details"], params["include_deleted"])
    except SyncfixError as e:  # InputError, GraphError, AuthError: their details go in the result's error
        entra.fail_error(e)
    for warning in unknown_property_warnings(reading):
        entra.warn(warning)
    users = [describe_selector(s, reading, params["details"]) for s in selectors]
    lookup = decide(params["lookup_failure_action"], unknown_selectors(users, params["include_deleted"]),
                    fix="check the selector")
    if lookup.failed:
        entra.fail("unknown users: " + lookup.summary(), users=users,
                   error=dict(kind="lookup", selectors=list(lookup.failures), message=lookup.summary()))
    for warning in lookup.warnings:
        entra.warn(warning)
    entra.exit(changed=False, users=users)


if __name__ == "__main__":
    main()
