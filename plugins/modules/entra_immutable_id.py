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
    already holds, a user that already has a different value unless O(force=true), and the two
    cases the 2026 hard-match hardening makes the sync refuse (see the notes).
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
attributes:
  check_mode:
    support: full
    description: Reads the users and reports what would change; sends no write.
  diff_mode:
    support: full
    description: "Shows one line per changed user, C(<upn>: <immutable id>), before and after."
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
      - Applies to every item of O(users) that does not set its own.
    type: str
    choices: [present, absent]
    default: present
  force:
    description:
      - Replace a different value the user already has. The old value is returned in
        RV(results[].before).
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
    type: bool
    default: false
  users:
    description:
      - Several users in one run; each item takes O(user), the value as for a single user
        (one of O(immutable_id) and O(consistency_guid), or O(object_guid) alone, with
        O(object_guid) optionally beside either) and optionally O(state).
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
notes:
  - "The 2026 hard-match hardening (\"Microsoft Entra Connect: When you have an existing tenant\",
    message-center posts MC1262584 and MC1263280) blocks two hard matches, and the module refuses
    to stamp them, because the stamp would link nothing:"
  - A cloud user that holds, or is eligible for, a directory role labelled PRIVILEGED in
    "Microsoft Entra built-in roles" (Global Administrator, User Administrator, Helpdesk
    Administrator, Hybrid Identity Administrator, Global Reader and the others so labelled).
    The sync reports C(InvalidHardMatch). A role without the label (Exchange Administrator, for
    example) does not block. A role held through a role-assignable group is not seen.
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
graph_requests:
  description: Counts of Graph requests sent, throttled and retried in this run.
  returned: when Graph was called
  type: dict
  sample: {"requests": 4, "batch_items": 42, "throttled": 0}
"""

from ansible_collections.syncfix.entra.plugins.module_utils import entra_directory as directory
from ansible_collections.syncfix.entra.plugins.module_utils.anchor import AnchorError, SourceAnchor
from ansible_collections.syncfix.entra.plugins.module_utils.entra_module import EntraModule, graph_failure_message
from ansible_collections.syncfix.entra.plugins.module_utils.graph_auth import AuthError
from ansible_collections.syncfix.entra.plugins.module_utils.graph_client import GraphError
from ansible_collections.syncfix.entra.plugins.module_utils.hard_match import UserFacts, plan_immutable_id

VALUE_OPTIONS = ("immutable_id", "object_guid", "consistency_guid")
ITEM_SPEC = dict(
    user=dict(type="str", required=True),
    immutable_id=dict(type="str"),
    object_guid=dict(type="str"),
    consistency_guid=dict(type="str"),
    state=dict(type="str", choices=["present", "absent"]),
)


class Item:
    def __init__(self, selector, desired, state, object_guid=None):
        self.selector = selector
        self.desired = desired
        self.state = state
        # The objectGUID of the AD object the anchor belongs to, when given (see object_guid).
        self.object_guid = object_guid


def parse_items(params):
    """Every requested item, validated before Graph is called; raises ValueError naming the item."""
    raw = params["users"] if params["users"] is not None else [dict((k, params[k]) for k in ITEM_SPEC)]
    items, problems = [], []
    for entry in raw:
        label = entry.get("user") or "(no user)"
        state = entry.get("state") or params["state"]
        given = [name for name in VALUE_OPTIONS if entry.get(name)]
        try:
            if not entry.get("user"):
                raise ValueError("user is required")
            if state == "absent":
                if given:
                    raise ValueError("state=absent clears the value; remove %s" % ", ".join(given))
                items.append(Item(entry["user"], None, state))
                continue
            anchors = [name for name in ("immutable_id", "consistency_guid") if entry.get(name)]
            if not given:
                raise ValueError("state=present needs one of immutable_id, object_guid, consistency_guid")
            if len(anchors) > 1:
                raise ValueError("state=present takes one of immutable_id and consistency_guid (got both); "
                                 "object_guid may go with either")
            object_guid = str(SourceAnchor.from_guid(entry["object_guid"]).guid) if entry.get("object_guid") else None
            if not anchors:
                anchor = SourceAnchor.from_guid(entry["object_guid"])
            elif anchors[0] == "immutable_id":
                anchor = SourceAnchor.from_immutable_id(entry["immutable_id"])
            else:
                anchor = SourceAnchor.from_guid(entry["consistency_guid"])
            items.append(Item(entry["user"], anchor.immutable_id, state, object_guid))
        except (AnchorError, ValueError) as e:
            problems.append("%s: %s" % (label, e))
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
        raise ValueError("invalid input, nothing was changed: " + "; ".join(problems))
    return items


def describe(value):
    if value is None:
        return {"immutable_id": None, "guid": None}
    anchor = SourceAnchor.from_immutable_id(value)
    return {"immutable_id": value, "guid": str(anchor.guid) if anchor.is_guid else None}


def gather_facts(client, items, users):
    """Read, in bulk, what the rules need for the users that would change."""
    writes = [i for i in items if users[i.selector].get("onPremisesImmutableId") != i.desired]
    stamps = [i for i in writes if i.desired is not None]
    holders, roles, domains, features = {}, {}, directory.Domains([]), {}
    if writes:
        # Stamps may need the UPN moved; clears are refused on a federated UPN.
        domains = directory.read_domains(client)
    if stamps:
        features = directory.sync_features(client)
        holders = directory.anchor_holders(client, [i.desired for i in stamps])
        for deleted in directory.deleted_users(client):
            if deleted.get("onPremisesImmutableId") in holders:
                holders[deleted["onPremisesImmutableId"]].append(dict(deleted, deleted=True))
        roles = directory.role_holdings(client, [users[i.selector]["id"] for i in stamps])
    return holders, roles, domains, features


def fact_warnings(plans, features):
    """What could not be checked before a stamp, so the user knows what the sync may still refuse."""
    stamping = [p for p in plans if p.changed and p.desired is not None]
    warnings = []
    if stamping and features is None:
        warnings.append("could not read the tenant's directory sync features (the app needs "
                        "OnPremDirectorySynchronization.Read.All): if blockCloudObjectTakeoverThroughHardMatchEnabled is "
                        "on, the next sync refuses these hard matches (InvalidHardMatch)")
    unknown = sorted(p.user.upn for p in stamping if not p.user.object_identifier_known)
    if unknown:
        warnings.append("this Graph does not offer onPremisesObjectIdentifier, so it was not checked for %s: if it "
                        "is set to another AD object's objectGUID, Entra blocks the hard match (\"Hard match operation blocked due to security "
                        "hardening\")" % ", ".join(unknown))
    return warnings


def apply_federated(client, plan, initial_domain, label):
    """Move the UPN to the initial domain, stamp, move it back; restore the UPN on failure.

    Graph refuses a new immutable id while the UPN is on a federated domain ("Update user",
    onPremisesImmutableId).  If restoring the UPN fails too, both failures are reported, with
    the UPN the user was left with.

    No password is sent with the move: "Update user" says passwordProfile "can't be used for
    federated users" (the password MSOnline's Set-MsolUserPrincipalName wanted for this move is
    not Graph's rule), and app-only it would also need the User Administrator role.
    """
    user = plan.user
    temporary = "%s@%s" % (user.upn.rsplit("@", 1)[0], initial_domain)
    move_back = {"userPrincipalName": user.upn}
    move_away = {"userPrincipalName": temporary}
    directory.patch_user(client, user.id, move_away, "move UPN to the initial domain", label)
    try:
        directory.patch_user(client, user.id, {"onPremisesImmutableId": plan.desired}, "set onPremisesImmutableId",
                             label)
    except GraphError as stamp_error:
        try:
            directory.patch_user(client, user.id, move_back, "restore UPN %s" % user.upn, label)
        except GraphError as restore_error:
            raise GraphError(stamp_error.status, stamp_error.code, "%s; restoring the UPN failed too, so the user is "
                             "left as %s: %s" % (stamp_error.message, temporary, restore_error.describe()),
                             stamp_error.request_id, stamp_error.operation, label)
        raise
    directory.patch_user(client, user.id, move_back, "move UPN back to %s" % user.upn, label)


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
            users=dict(type="list", elements="dict", options=ITEM_SPEC),
        ),
        mutually_exclusive=[["user", "users"], ["users", "immutable_id"], ["users", "object_guid"],
                            ["users", "consistency_guid"]],
        required_one_of=[["user", "users"]],
        supports_check_mode=True,
    )
    params = entra.params
    try:
        items = parse_items(params)
    except ValueError as e:
        entra.fail(str(e))

    try:
        client = entra.client
        lookup = directory.find_users(client, [i.selector for i in items])
        if lookup.missing or lookup.ambiguous:
            problems = ["%s: no cloud user has this UPN, object id or SMTP address" % s for s in lookup.missing]
            problems += ["%s: matches several cloud users (%s); name one by object id" % (
                s, ", ".join(u.get("userPrincipalName") for u in found)) for s, found in lookup.ambiguous.items()]
            entra.fail("unknown users, nothing was changed: " + "; ".join(problems))
        users = lookup.found
        holders, roles, domains, features = gather_facts(client, items, users)
    except (GraphError, AuthError) as e:
        entra.fail(graph_failure_message(e) + "; nothing was changed")

    plans = []
    for item in items:
        graph_user = users[item.selector]
        held = roles.get(graph_user["id"], {})
        facts = UserFacts(graph_user, held.get("active", []) + held.get("eligible", []), domains.federated)
        plans.append(plan_immutable_id(facts, item.desired, holders.get(item.desired, ()), params["force"],
                                       params["federated_upn_workaround"], features, item.object_guid))
    refused = [(item, plan) for item, plan in zip(items, plans) if plan.refusal]
    for warning in fact_warnings(plans, features):
        entra.module.warn(warning)
    if any(plan.move_upn for plan in plans) and not domains.initial:
        entra.fail("the tenant's initial onmicrosoft.com domain was not found in /domains; cannot move UPNs")

    results = []
    for item, plan in zip(items, plans):
        result = dict(item=item.selector, id=plan.user.id, changed=plan.changed,
                      before=describe(plan.user.immutable_id),
                      after=describe(plan.desired if plan.changed else plan.user.immutable_id))
        if plan.refusal:
            result.update(failed=True, msg=plan.refusal)
        else:
            result["msg"] = ("%s onPremisesImmutableId" % ("clear" if plan.desired is None else "set")
                             if plan.changed else "already as requested")
        results.append(result)
    diff = dict(
        before="".join(sorted("%s: %s\n" % (p.user.upn, p.user.immutable_id) for p in plans if p.changed)),
        after="".join(sorted("%s: %s\n" % (p.user.upn, p.desired) for p in plans if p.changed)),
    )
    if refused:
        for result in results:
            result["changed"] = False
        entra.exit_bulk(results, diff=None)
    if entra.check_mode:
        entra.exit_bulk(results, diff=diff)

    by_label = dict((r["item"], r) for r in results)
    plain = [(i, p) for i, p in zip(items, plans) if p.changed and not p.move_upn]
    outcome = directory.patch_users(client, [(p.user.id, {"onPremisesImmutableId": p.desired}, i.selector)
                                             for i, p in plain], "set onPremisesImmutableId")
    for label, error in outcome:
        if error is not None:
            by_label[label].update(changed=False, failed=True, msg=error.describe(),
                                   after=by_label[label]["before"])
    for item, plan in [(i, p) for i, p in zip(items, plans) if p.changed and p.move_upn]:
        try:
            apply_federated(client, plan, domains.initial, item.selector)
            by_label[item.selector]["msg"] = "set onPremisesImmutableId (UPN moved to %s and back)" % domains.initial
        except (GraphError, AuthError) as e:
            by_label[item.selector].update(changed=False, failed=True, msg=graph_failure_message(e),
                                           after=by_label[item.selector]["before"])
    entra.exit_bulk(results, diff=diff)


if __name__ == "__main__":
    main()
