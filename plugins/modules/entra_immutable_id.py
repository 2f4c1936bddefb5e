#!/usr/bin/python
# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: entra_immutable_id
short_description: Set or clear the onPremisesImmutableId of Entra cloud users (hard match)
version_added: 0.1.0
description:
  - Stamps the source anchor of an on-premises AD user onto a cloud-only Entra user, so that
    the next Entra Connect or Cloud Sync cycle joins the two (hard match) instead of failing
    with C(AttributeValueMustBeUnique) or creating a duplicate.
  - Takes one user (O(user)) or many (O(users)) in one run. Users are read in bulk, every
    refusal is found before anything is written, and writes go through C($batch) paced under
    the Graph write quota.
  - Before writing it refuses, with the reason and the way out, a user synced from
    on-premises (Graph cannot change its value), a value another user, active or soft-deleted,
    already holds, a user that already has a different value unless O(force=true), a user that
    holds or is eligible for any directory role unless O(allow_role_holder=true), and the two
    cases the 2026 hard-match hardening makes the sync refuse (see the notes).
  - Opt-ins are per item. O(users[].force), O(users[].federated_upn_workaround) and
    O(users[].allow_role_holder) unlock their own item only; left out, the module-level option
    of the same name applies. A refused item fails with its reason and the other items are still
    written (every refusal is found before the first write), so one changed user does not hold
    back a whole chunk of a plan, and no item borrows another's opt-in.
  - It also refuses every stamp while the tenant's directory sync feature
    C(blockCloudObjectTakeoverThroughHardMatchEnabled) is on, because the sync engine would then
    refuse the hard match (C(InvalidHardMatch)) and the stamp would link nothing. Reading the
    features needs C(OnPremDirectorySynchronization.Read.All); without it the module warns.
  - Where this Graph does not offer C(onPremisesObjectIdentifier) (some clouds' v1.0 schema
    predates it), the module reads the users without it and warns that this check was not made.
  - A user whose UPN is on a federated domain cannot get a new value; with
    O(federated_upn_workaround=true) its UPN is moved to the initial onmicrosoft.com domain,
    the value is set and the UPN is moved back (and restored if setting the value fails).
  - Such a user is never cleared with O(state=absent), because Graph requires an immutable id
    for a UPN on a federated domain ("Update user", "Create user"); the module refuses before
    any write. Move the UPN to a managed domain first, and keep it there, then clear the value.
extends_documentation_fragment:
  - syncfix.entra.graph
  - syncfix.entra.lookup
attributes:
  check_mode:
    support: full
    description: Reads the users and reports what would change; sends no write.
  diff_mode:
    support: full
    description:
      - Per changed user, keyed by its UPN, C(userPrincipalName), C(onPremisesImmutableId) and
        the C(anchor_guid) it encodes, before and after; an unset value is left out.
      - In check mode a run with refused items still shows the other items' changes.
  platform:
    support: full
    platforms: [microsoft_graph]
    description: Runs on the controller and talks to Microsoft Graph.
options:
  user:
    description:
      - The cloud user, by user principal name, object id or any SMTP address.
      - Mutually exclusive with O(users).
    type: str
  immutable_id:
    description:
      - The value to set, as Graph stores it (Base64 of the AD GUID, or an opaque anchor).
      - With O(state=present), give one of O(immutable_id) and O(consistency_guid), or
        O(object_guid) alone.
    type: str
  object_guid:
    description:
      - The objectGUID of the AD object this anchor belongs to, as a GUID.
      - Alone, it is also the value to set, converted to the ImmutableId (the anchor when
        mS-DS-ConsistencyGuid is empty or holds the objectGUID).
      - With O(immutable_id) or O(consistency_guid), it only names the AD object, for the
        C(onPremisesObjectIdentifier) check (see the notes).
      - "Left out: the GUID the immutable id decodes to, which is the objectGUID unless
        mS-DS-ConsistencyGuid was set to another value. An opaque immutable id decodes to no
        GUID; a cloud user whose C(onPremisesObjectIdentifier) is set is then refused, asking
        for this option."
    type: str
  consistency_guid:
    description:
      - The AD user's mS-DS-ConsistencyGuid as a GUID; converted to the ImmutableId.
      - Mutually exclusive with O(immutable_id).
    type: str
  state:
    description:
      - V(present) sets the value; V(absent) clears it (Graph receives JSON C(null)).
      - Clearing a value unlinks the cloud user from its AD object, so V(absent) needs
        O(force=true) like a replacement does, is refused for a user that holds or is
        eligible for a role labelled PRIVILEGED even with O(force=true), and needs
        O(allow_role_holder=true) for a user that holds or is eligible for any other directory role.
      - Applies to every item of O(users) that does not set its own.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - Replace a different value the user already has, or clear one with O(state=absent).
        The old value is returned in RV(results[].before).
      - Never overrides the refusals for synced users, role holders, the tenant's
        takeover block or the 2026 hard-match hardening.
      - Applies to every item of O(users) that does not set its own O(users[].force).
    type: bool
    default: false
  allow_role_holder:
    description:
      - Stamp or clear a cloud user that holds or is eligible for a directory role that is not
        labelled PRIVILEGED (Exchange Administrator, a custom role, ...), directly, through a
        role-assignable group (see the notes for what is read).
        Linking the account hands its roles to whoever controls the AD user; clearing its anchor
        lets the next sync soft match it, roles and all, to another AD user.
      - Left false, such a user is refused, naming its roles.
      - A role labelled PRIVILEGED is refused whatever this option says (see the notes).
      - Applies to every item of O(users) that does not set its own O(users[].allow_role_holder).
    type: bool
    default: false
  allow_opaque_anchor:
    description:
      - Accept an O(immutable_id) that is neither the Base64 of a GUID nor canonical Base64,
        for a tenant whose sourceAnchor is some other string.
      - Left false, such a value is refused. It is almost always a mistyped GUID anchor (bad
        padding, non-canonical Base64, stray spaces) that would link nothing.
      - GUID text given as O(immutable_id) is always refused; give it as O(object_guid) or
        O(consistency_guid).
    type: bool
    default: false
  federated_upn_workaround:
    description:
      - For a user whose UPN is on a federated domain, move the UPN to the initial
        onmicrosoft.com domain, set the value, and move the UPN back (three PATCH requests,
        one user at a time; if setting the value fails, the UPN is moved back).
      - No password is sent. Microsoft Graph refuses C(passwordProfile) for a federated user
        ("This can't be used for federated users", "Update user"), and the user needs none,
        as it signs in through federation again once the UPN is back. For the few seconds
        the UPN is on the initial domain, federated sign-in does not work for that user.
      - Left out or V(false), such a user is refused with this option named.
      - Applies to every item of O(users) that does not set its own
        O(users[].federated_upn_workaround).
    type: bool
    default: false
  users:
    description:
      - Several users in one run; each item takes O(user), the value as for a single user
        (one of O(immutable_id) and O(consistency_guid), or O(object_guid) alone, with
        O(object_guid) optionally beside either) and optionally O(state) and its own opt-ins.
    type: list
    elements: dict
    suboptions:
      user:
        description: As O(user).
        type: str
        required: true
      immutable_id:
        description: As O(immutable_id).
        type: str
      object_guid:
        description: As O(object_guid).
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
      federated_upn_workaround:
        description:
          - As O(federated_upn_workaround), for this item only; left out, the module-level
            O(federated_upn_workaround) applies.
        type: bool
      allow_role_holder:
        description:
          - As O(allow_role_holder), for this item only; left out, the module-level
            O(allow_role_holder) applies.
        type: bool
notes:
  - "Graph application permissions: C(User.ReadWrite.All), C(RoleManagement.Read.Directory),
    C(Domain.Read.All), C(OnPremDirectorySynchronization.Read.All). Without the last one the
    sync features can't be read and the module warns instead of refusing; the others are
    needed (the role check reads role assignments and eligibilities, the federated-UPN check
    reads the domains). No directory role is needed: the module never writes to a user that
    holds one labelled PRIVILEGED."
  - "Role holdings read: directory role assignments and eligibilities (PIM for roles), of the user
    and of the role-assignable groups it is a member of. An eligible membership of a
    role-assignable group (PIM for Groups) is not read yet: such a user is not seen as a role
    holder until it activates the membership."
  - "The 2026 hard-match hardening (\"Microsoft Entra Connect: When you have an existing tenant\",
    message-center posts MC1262584 and MC1263280) blocks two hard matches, and the module refuses
    to stamp them, because the stamp would link nothing:"
  - A cloud user that holds, or is eligible for, a directory role labelled PRIVILEGED in
    "Microsoft Entra built-in roles" (Global Administrator, User Administrator, Helpdesk
    Administrator, Hybrid Identity Administrator, Global Reader and the others so labelled).
    The sync reports C(InvalidHardMatch). A role held through a role-assignable group counts (its
    members hold it). Such a user is not cleared with O(state=absent) either, even with
    O(force=true). A role without the label (Exchange Administrator, a custom role) does not block
    the sync, but the module still asks for O(allow_role_holder=true) on the item.
  - "A cloud user whose C(onPremisesObjectIdentifier) is set and differs from the objectGUID
    of the AD object being linked (O(object_guid), or the GUID the immutable id decodes to).
    The sync fails with \"Hard match operation blocked due to security hardening. Review
    OnPremisesObjectIdentifier mapping.\" (C(AttributeUpdateNotAllowed)). The same AD object,
    or no identifier, is a hard match as before. Ways out, named in the refusal: clear the
    identifier (C(PATCH https://graph.microsoft.com/beta/users/{id}) with
    C({\"onPremisesObjectIdentifier\": null}), permission
    C(User-OnPremisesSyncBehavior.ReadWrite.All), as a Global Administrator or Hybrid Identity
    Administrator; or ADSyncTools C(Clear-ADSyncToolsOnPremisesAttribute -Id <id>
    -onPremisesObjectIdentifier)), or turn on the tenant feature
    C(allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled) (disabled by default) for the
    change window. With that feature on, the module does not refuse."
  - "Writes are never sent twice. When the answer to a C($batch) of stamps is lost, or a later
    batch is refused, each user is read back: an item whose value is there is done, any other
    is untouched and failed. If O(federated_upn_workaround) set the value but could not move
    the UPN back, the result says so (changed, failed, the temporary UPN), and running the task
    again finds the user on that UPN and moves it back."
seealso:
  - plugin: syncfix.entra.to_immutable_id
    plugin_type: filter
  - module: syncfix.entra.ad_source_anchor
author:
  - syncfix.entra contributors (@syncfix)
"""

EXAMPLES = r"""
- name: Hard match the pre-created cloud mailbox of a new hire to her AD account
  syncfix.entra.entra_immutable_id:
    user: vp@contoso.com
    object_guid: 3ab39606-c642-489b-84b6-58c038d3ef39
    tenant_id: "{{ entra_tenant_id }}"
    client_id: "{{ entra_client_id }}"
    client_secret: "{{ entra_client_secret }}"

- name: Stamp many users in one run, auth set once for the group
  module_defaults:
    group/syncfix.entra.entra:
      tenant_id: "{{ entra_tenant_id }}"
      client_id: "{{ entra_client_id }}"
      client_certificate_path: /etc/ansible/entra-app.pem
  block:
    - name: Show the plan first
      syncfix.entra.entra_immutable_id:
        users:
          - user: ann@contoso.com
            object_guid: 46e23144-8377-483e-a87e-b6769db62eed
          - user: bob@contoso.com
            immutable_id: QF5HMK7n80qvdYsUPIHa9Q==
      check_mode: true
      diff: true

- name: Clear the value of a cloud-only user so it can be soft matched instead
  syncfix.entra.entra_immutable_id:
    user: 4f1c3c55-9f55-4f43-9b8e-0d1ad77c3a1e
    state: absent
    force: true

- name: Opt-ins per item - only ann's stray value is replaced, only the mail admin is linked
  syncfix.entra.entra_immutable_id:
    users:
      - user: ann@contoso.com
        object_guid: 46e23144-8377-483e-a87e-b6769db62eed
        force: true
      - user: exchange-admin@contoso.com
        object_guid: 0d9f3a52-6b1e-4b8e-9a7c-2f1d5c3e4a01
        allow_role_holder: true
      - user: bob@contoso.com
        immutable_id: QF5HMK7n80qvdYsUPIHa9Q==

- name: Re-point a user on a federated domain
  syncfix.entra.entra_immutable_id:
    user: ann@federated.contoso.com
    immutable_id: RDHiRneDPkiofrZ2nbYu7Q==
    force: true
    federated_upn_workaround: true
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
      sample: vp@contoso.com
    id:
      description: The cloud user's object id.
      type: str
      sample: 4f1c3c55-9f55-4f43-9b8e-0d1ad77c3a1e
    changed:
      description: Whether the value was (or in check mode would be) written.
      type: bool
      sample: true
    before:
      description: The value before, with its GUID when it is one.
      type: dict
      sample: {"immutable_id": null, "guid": null}
    after:
      description: The value after, with its GUID when it is one.
      type: dict
      sample: {"immutable_id": "BpazOkLGm0iEtljAONPvOQ==", "guid": "3ab39606-c642-489b-84b6-58c038d3ef39"}
    msg:
      description: What was done, or why not.
      type: str
      sample: set onPremisesImmutableId
    failed:
      description: Present and true when this item failed.
      type: bool
      sample: true
    error:
      description:
        - What went wrong, for a playbook to branch on - kind (refused, input, graph, ldap, auth) and the
          service's code, status or LDAP result.
      returned: when this item failed.
      type: dict
      sample: {"kind": "refused", "message": "cloud user vp@contoso.com is synced from on-premises ..."}
    found:
      description: False for a selector that named no object and was skipped (O(lookup_failure_action=warn) or V(ignore)).
      returned: when the item was skipped
      type: bool
      sample: false
error:
  description:
    - Why the task failed before any item was written - kind (input, graph, auth) and the service's code,
      status and request id.
  returned: when the task failed before planning, for example on bad input or a Graph error while reading.
  type: dict
  sample: {"kind": "graph", "status": 403, "code": "Authorization_RequestDenied", "request_id": "9f1c..."}
graph_requests:
  description: Counts of Graph requests sent, throttled and retried in this run.
  returned: when Graph was called
  type: dict
  sample: {"requests": 4, "batch_items": 42, "throttled": 0}
"""

from ansible_collections.syncfix.entra.plugins.module_utils._backends.entra_immutable_id import (
    plan_items, read_requests,
)
from ansible_collections.syncfix.entra.plugins.module_utils._module.converge import converge
from ansible_collections.syncfix.entra.plugins.module_utils._module.entra_module import EntraModule
from ansible_collections.syncfix.entra.plugins.module_utils._module.item_specs import IMMUTABLE_ID_ITEM, item_spec
from ansible_collections.syncfix.entra.plugins.module_utils._rules.lookup_failure import lookup_failure_spec


def diff_entry(facts):
    """Per changed user, keyed by its UPN: the UPN (it moves with the federated workaround), its
    immutable id and the AD object GUID that id encodes; an unset value is left out."""
    def entry(plan, side):
        value = getattr(plan, side)
        upn = facts.user_principal_name(plan.item)
        return upn, {"userPrincipalName": value.get("user_principal_name") or upn,
                     "onPremisesImmutableId": value["immutable_id"], "anchor_guid": value.get("guid")}

    return entry


def main():
    entra = EntraModule(
        argument_spec=dict(
            user=dict(type="str"),
            immutable_id=dict(type="str"),
            object_guid=dict(type="str"),
            consistency_guid=dict(type="str"),
            state=dict(type="str", default="present", choices=["present", "absent"]),
            force=dict(type="bool", default=False),
            federated_upn_workaround=dict(type="bool", default=False),
            allow_role_holder=dict(type="bool", default=False),
            allow_opaque_anchor=dict(type="bool", default=False),
            # immutable_id and consistency_guid together are refused per item by hard_match,
            # whose message names the item; a suboption mutually_exclusive would not.
            users=dict(type="list", elements="dict", options=item_spec(IMMUTABLE_ID_ITEM)),
            **lookup_failure_spec()
        ),
        mutually_exclusive=[["user", "users"], ["users", "immutable_id"], ["users", "object_guid"],
                            ["users", "consistency_guid"], ["immutable_id", "consistency_guid"]],
        required_one_of=[["user", "users"]],
        supports_check_mode=True,
    )
    items, facts = read_requests(entra)
    converge(entra, plan_items(entra, items, facts), diff_entry(facts), refused_fail_alone=True)


if __name__ == "__main__":
    main()
