#!/usr/bin/python
# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: ad_source_anchor
short_description: Set or clear the mS-DS-ConsistencyGuid of AD users (reverse hard match)
version_added: 0.1.0
description:
  - Writes a cloud user's anchor into an AD user's C(mS-DS-ConsistencyGuid), the attribute
    Entra Connect takes the sourceAnchor from. This is the reverse hard match - when an AD
    user was deleted and recreated (new objectGUID), writing the old anchor makes the new
    object take over its existing cloud identity, mailbox and licenses included.
  - "Replacing a different value re-links the AD user to another cloud user, and clearing a value
    unlinks it; both need O(force=true) (per item, O(objects[].force)). Without it the item is
    refused before any write, naming the object."
  - A value that is already another AD object's sourceAnchor (its C(mS-DS-ConsistencyGuid), or
    its objectGUID when it has none) is refused, naming that object, even with O(force=true) -
    two AD objects with one anchor both claim one cloud user. One LDAP search finds the holders
    of every value in the run.
extends_documentation_fragment:
  - syncfix.entra.ad
  - syncfix.entra.lookup
attributes:
  check_mode:
    support: full
    description: Reads the users and reports the change; sends no modify operation.
  diff_mode:
    support: full
    description:
      - Per changed object, keyed by its DN, C(mS-DS-ConsistencyGuid) as a GUID and as the
        immutable id, before and after; an unset value is left out.
  platform:
    support: full
    platforms: [active_directory]
    description: Runs on the controller and talks LDAP to a domain controller.
options:
  object:
    description:
      - The AD user, by distinguished name, objectGUID, UPN, mail, proxy address or
        sAMAccountName. Mutually exclusive with O(objects).
    type: str
  immutable_id:
    description:
      - The anchor as Entra shows it (C(onPremisesImmutableId), Base64 of 16 bytes).
      - With O(state=present) exactly one of O(immutable_id) and O(consistency_guid) is needed.
    type: str
  consistency_guid:
    description:
      - The anchor as a GUID, the value C(mS-DS-ConsistencyGuid) takes (for example the
        objectGUID of a deleted AD user whose cloud user must be taken over).
      - The same option name as in M(syncfix.entra.entra_immutable_id), where it means the same value.
    type: str
  state:
    description:
      - V(present) writes the value; V(absent) clears the attribute.
      - Clearing a value unlinks the AD user from its cloud user (the next sync may soft match or
        provision it anew), so V(absent) needs O(force=true) like a replacement does.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - Replace a different value the user already has, or clear one with O(state=absent). The old
        one is returned in RV(results[].before).
      - Never overrides the refusal of an anchor another AD object holds.
      - Applies to every item of O(objects) that does not set its own O(objects[].force).
    type: bool
    default: false
  objects:
    description: Several users in one run.
    type: list
    elements: dict
    suboptions:
      object:
        description: As O(object).
        type: str
        required: true
      immutable_id:
        description: As O(immutable_id).
        type: str
      consistency_guid:
        description: As O(consistency_guid).
        type: str
      state:
        description: As O(state); left out, the module's O(state).
        type: str
        choices: [present, absent]
      force:
        description: As O(force), for this item only; left out, the module-level O(force) applies.
        type: bool
notes:
  - "AD rights of the bind account: read the users, Write Property on their
    C(mS-DS-ConsistencyGuid) (what the Entra Connect account is given by
    C(Set-ADSyncMsDsConsistencyGuidPermissions)), and read C(objectGUID) and
    C(mS-DS-ConsistencyGuid) across the naming context for the uniqueness check."
seealso:
  - module: syncfix.entra.entra_immutable_id
  - plugin: syncfix.entra.from_immutable_id
    plugin_type: filter
author:
  - syncfix.entra contributors (@syncfix)
"""

EXAMPLES = r"""
- name: The recreated AD account takes over the cloud identity of the deleted one
  syncfix.entra.ad_source_anchor:
    server: [dc1.contoso.com]
    bind_dn: svc-syncfix@contoso.com
    bind_password: "{{ vault_ad_password }}"
    object: jdoe
    immutable_id: "{{ cloud_user.onPremisesImmutableId }}"

- name: Clear a wrong anchor (clearing unlinks the user, so it needs force)
  syncfix.entra.ad_source_anchor:
    server: [dc1.contoso.com]
    bind_dn: svc-syncfix@contoso.com
    bind_password: "{{ vault_ad_password }}"
    object: CN=John Doe,OU=Staff,DC=contoso,DC=com
    state: absent
    force: true

- name: Per-item force - only jdoe's anchor may be replaced
  syncfix.entra.ad_source_anchor:
    server: [dc1.contoso.com]
    bind_dn: svc-syncfix@contoso.com
    bind_password: "{{ vault_ad_password }}"
    objects:
      - object: jdoe
        consistency_guid: 3ab39606-c642-489b-84b6-58c038d3ef39
        force: true
      - object: ann
        consistency_guid: 0b1c3ec4-2d2a-4b5f-9e0e-5ad2e1c3d4f5
"""

RETURN = r"""
results:
  description: One entry per user, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The user as given.
      type: str
      sample: jdoe
    dn:
      description: Its distinguished name.
      type: str
      sample: CN=John Doe,OU=Staff,DC=contoso,DC=com
    changed:
      description: Whether the attribute was (or in check mode would be) written.
      type: bool
      sample: true
    before:
      description: The value before, as GUID and ImmutableId, or nulls when empty.
      type: dict
      sample: {"guid": null, "immutable_id": null}
    after:
      description: The value after, as GUID and ImmutableId.
      type: dict
      sample: {"guid": "3ab39606-c642-489b-84b6-58c038d3ef39", "immutable_id": "BpazOkLGm0iEtljAONPvOQ=="}
    msg:
      description: What was done, or why not.
      type: str
      sample: set mS-DS-ConsistencyGuid
    failed:
      description: Present and true when this item failed.
      type: bool
      sample: true
    error:
      description:
        - What went wrong, for a playbook to branch on - kind (refused, input, ldap) and the LDAP result.
      returned: when this item failed
      type: dict
      sample: {"kind": "refused", "message": "BpazOkLGm0iEtljAONPvOQ== is already held by CN=Ann,OU=Staff,DC=contoso,DC=com"}
    found:
      description: False for a selector that named no object and was skipped (O(lookup_failure_action=warn) or V(ignore)).
      returned: when the item was skipped
      type: bool
      sample: false
error:
  description:
    - Why the task failed before any item was written - kind (input, ldap) and the LDAP result.
  returned: when the task failed before planning, for example on bad input or an unknown object
  type: dict
  sample: {"kind": "input", "message": "unknown objects, nothing was changed: nobody: no AD user has this name"}
ldap_operations:
  description: Counts of LDAP searches and modify operations sent.
  returned: when a domain controller was contacted
  type: dict
  sample: {"searches": 1, "modifies": 1}
"""

from ansible_collections.syncfix.entra.plugins.module_utils._backends.ad_source_anchor import plan_objects
from ansible_collections.syncfix.entra.plugins.module_utils._module.ad_module import ADModule
from ansible_collections.syncfix.entra.plugins.module_utils._module.converge import converge
from ansible_collections.syncfix.entra.plugins.module_utils._module.item_specs import (
    AD_ANCHOR_ITEM, item_opt_in, item_spec, single_item,
)
from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import InputError
from ansible_collections.syncfix.entra.plugins.module_utils._rules.lookup_failure import lookup_failure_spec
from ansible_collections.syncfix.entra.plugins.module_utils._rules.reverse_hard_match import (
    ATTRIBUTE, parse_anchor_requests,
)


def diff_entry(plan, side):
    """Per changed object (by DN): mS-DS-ConsistencyGuid as a GUID and as the immutable id."""
    value = getattr(plan, side)
    return plan.fields["dn"], {"mS-DS-ConsistencyGuid": value.get("guid"), "immutable_id": value["immutable_id"]}


def main():
    ad = ADModule(
        argument_spec=dict(
            object=dict(type="str"),
            immutable_id=dict(type="str"),
            consistency_guid=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            force=dict(type="bool", default=False),
            # Both anchors on one item are refused by reverse_hard_match, naming the item.
            objects=dict(type="list", elements="dict", options=item_spec(AD_ANCHOR_ITEM)),
            **lookup_failure_spec()
        ),
        mutually_exclusive=[["object", "objects"], ["immutable_id", "consistency_guid"], ["objects", "immutable_id"],
                            ["objects", "consistency_guid"]],
        required_one_of=[["object", "objects"]],
        supports_check_mode=True,
    )
    entries = single_item(ad.params, "objects", AD_ANCHOR_ITEM)
    try:
        requests = parse_anchor_requests(entries, ad.params["state"])
    except InputError as e:
        ad.fail_error(e)
    # Each item's own force, else the module's (parse_anchor_requests refused duplicates).
    forces = dict(((e.get("object") or "").strip().lower(), item_opt_in(e, ad.params, "force")) for e in entries)
    found = ad.find_objects([identity for identity, anchor in requests], [ATTRIBUTE], classes=("user",))
    requests = [(identity, desired) for identity, desired in requests if identity in found]
    converge(ad, plan_objects(ad.connection, requests, found, forces), diff_entry)


if __name__ == "__main__":
    main()
