#!/usr/bin/python
# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: link_plan
short_description: Plan how each AD user gets linked to its Entra ID user (read-only)
version_added: 0.1.0
description:
  - Reads Active Directory and Microsoft Entra ID in bulk and, for each declared link between
    an AD user and a cloud user, predicts what the next sync does, says the link's state, picks
    the least destructive method that links it, and lists the ordered actions, each shaped as
    an item of the module that carries it out, grouped by phase in RV(phases).
  - The prediction follows Microsoft's documented rules (hard match on the source anchor, soft
    match on the primary SMTP address or the UPN, Duplicate Attribute Resiliency, the
    documented refusals and the 2026 hard-match hardening); the role
    P(syncfix.entra.remediation#role) applies the phases in order.
  - >-
    The module never chooses a cloud user for a person. A link that leaves out O(links[].cloud)
    gets only what the sync itself does cleanly - V(linked) when the engine already joined the
    AD user to a cloud user that carries no quarantined value, V(pending) when the next sync's own
    match or provision quarantines nothing. Wherever the sync would refuse (blockSoftMatchEnabled,
    Existing Admin Role Conflict, InvalidSoftMatch, an address reserved by a soft-deleted user),
    quarantine a value or create a placeholder duplicate, the link is V(blocked) with the reason
    and the way out, which names each candidate by UPN and object id to declare
    (C(declare cloud: <object id> if <upn> is this person's account)).
  - Without a declared cloud user nothing is restored, stamped, forced, purged, recreated or
    removed as a duplicate, whatever O(allow_purge) and O(allow_data_loss) say. A soft-deleted
    user holding the AD user's address or UPN is never a target; the row warns and says how to
    restore it on purpose (name it by object id in O(links[].cloud)).
  - Opt-ins are per link and reach only that link's actions - O(links[].allow_purge),
    O(links[].allow_data_loss), O(links[].federated_upn_workaround), O(links[].force),
    O(links[].allow_role_holder), O(links[].proposal). Each action's item carries the opt-ins its
    module needs for it (C(force), C(federated_upn_workaround), C(allow_role_holder) on a stamp;
    C(force) and C(allow_role_holder) on a cleared anchor; C(allow_data_loss) on a purge; C(force)
    on a reverse anchor that overwrites), only when true; no module-level opt-in is derived from a
    plan.
  - Writes nothing to either directory, in check mode or not. With O(report_path) it writes
    JSON, CSV and Markdown reports on the controller, in check mode too.
extends_documentation_fragment:
  - syncfix.entra.graph
  - syncfix.entra.ad
attributes:
  check_mode:
    support: full
    description: Read-only; the same result in check mode.
  diff_mode:
    support: none
    description: Nothing to diff; the plan is the result.
  platform:
    support: full
    platforms: [active_directory, microsoft_entra]
    description: Runs on the controller; talks LDAP to a domain controller and HTTPS to Microsoft Graph.
options:
  # Both fragments give their CA and validation options a short alias; a module that talks to
  # both directories can't tell them apart, so it accepts only the long names.
  graph_ca_path:
    aliases: []
  graph_validate_certs:
    aliases: []
  ldap_ca_path:
    aliases: [ca_cert]
  ldap_validate_certs:
    aliases: []
  links:
    description: One entry per link.
    type: list
    elements: dict
    required: true
    suboptions:
      ad:
        description: The AD user - sAMAccountName, UPN, mail, DN or objectGUID.
        type: str
        required: true
      cloud:
        description:
          - The Entra ID user - UPN, object id or SMTP address of an active user, or the object
            id of a soft-deleted one (restoring it is then the declaration). A UPN or address
            that only soft-deleted users hold blocks the link (C(soft-deleted-by-name)) - name
            the account by object id to restore it on purpose.
          - Left out, the link gets only what the sync itself does cleanly (see the description);
            the module never picks a cloud user.
        type: str
      state:
        description:
          - V(linked) - the two must be linked. V(unlinked) - the cloud user must stay
            cloud-only (a stray immutable id is cleared; where the engine would link them
            anyway, the AD user is taken out of the sync scope).
        type: str
        choices: [linked, unlinked]
        default: linked
      method:
        description:
          - V(auto) picks, least destructive first - soft match (align the AD user's primary
            SMTP address), hard match (stamp the anchor, restoring a soft-deleted user first),
            reverse anchor (only before the AD user is first synced), recreate.
          - V(recreate) deletes and purges the cloud user so the sync provisions it again;
            it needs O(links[].allow_purge).
        type: str
        choices: [auto, hard, soft, reverse, recreate]
        default: auto
      allow_purge:
        description:
          - This link may delete and purge its declared cloud user (V(recreate)), or the
            resiliency duplicate the engine joined it to. Left out, O(allow_purge). Never applies
            to a link without O(links[].cloud).
        type: bool
      allow_data_loss:
        description:
          - This link's purge may remove a cloud user with a mailbox, licences or a sync link
            (never a role holder). Left out, O(allow_data_loss). Never applies to a link without
            O(links[].cloud). The purge item carries C(allow_data_loss) only when it needs it.
        type: bool
      federated_upn_workaround:
        description:
          - This link's stamp may move a federated UPN to the initial domain and back. Left out,
            O(federated_upn_workaround).
        type: bool
      force:
        description:
          - This link may re-point its declared cloud user when it holds a different immutable
            id (an anchor the engine did not join), or overwrite the AD user's
            C(mS-DS-ConsistencyGuid) for a reverse anchor. Without it such a link is blocked
            (rule C(force)). The stamp or reverse-anchor item then carries C(force). No run-wide
            default.
        type: bool
      allow_role_holder:
        description:
          - This link may link a cloud user that holds or is eligible for a directory role
            (built-in or custom, direct or through a group), handing the role to whoever controls
            the AD account. Without it such a link is blocked (rule C(role-holder)). Roles
            labelled PRIVILEGED stay refused whatever this says (Entra blocks the hard match,
            MC1262584), and soft match onto a role holder stays refused. No run-wide default.
        type: bool
      proposal:
        description:
          - The scan's proposal this link came from (M(syncfix.entra.sync_conflicts_info)'s
            C(remediation_links)). A proposal that is not confirmed blocks the link (rule
            C(unconfirmed-proposal)) unless O(accept_proposals=true); a V(low) confidence one stays
            blocked until confirmed.
        type: dict
        suboptions:
          confidence:
            description: How sure the scan is.
            type: str
            choices: [high, medium, low]
          evidence:
            description: What the proposal rests on, for the reviewer.
            type: list
            elements: str
          confirmed:
            description: A person reviewed the proposal and confirms the cloud user is this person's account.
            type: bool
            default: false
  allow_purge:
    description: Default of O(links[].allow_purge).
    type: bool
    default: false
  allow_data_loss:
    description: Default of O(links[].allow_data_loss).
    type: bool
    default: false
  federated_upn_workaround:
    description: Default of O(links[].federated_upn_workaround).
    type: bool
    default: false
  accept_proposals:
    description:
      - Plan links whose O(links[].proposal) is not confirmed, when its confidence is V(high) or
        V(medium). V(low) confidence proposals need O(links[].proposal.confirmed) whatever this says.
    type: bool
    default: false
  backup_dir:
    description:
      - The private folder M(syncfix.entra.entra_user_purge) will keep each purge's record in.
        When the plan purges anything, the task fails - in check mode too, before it returns a
        plan - if this is not set, or is a folder others can write, another user owns, a
        symbolic link, or one that can't be created. Not read when nothing is purged.
    type: path
  skip_blocked:
    description:
      - Left false, RV(phases) is empty while any link is blocked, so nothing is applied from
        a plan with blockers. True, RV(phases) holds the actions of the links that are not blocked.
    type: bool
    default: false
  sync_scope_ous:
    description:
      - The OUs the sync engine synchronises (Entra Connect's OU filter, Cloud Sync's scoping).
        A linked AD user outside them is blocked. Left out, every OU counts as in scope.
    type: list
    elements: str
  report_path:
    description:
      - Write the plan as C(<report_path>.json), C(.csv) and C(.md) (mode 0600), for a
        change-window reviewer. Left out, no report is written.
      - Each file is written under a temporary name in its folder and renamed into place, never
        through a symbolic link; a missing folder is created 0700, and a folder that is a symbolic
        link, is owned by another user or can be written by others is refused.
      - The CSV is formula-neutralised (a cell starting with C(=), C(+), C(-), C(@), tab or CR gets a
        leading apostrophe) and the Markdown escapes HTML and markup; the JSON keeps exact values.
    type: path
  return_links:
    description:
      - Which links RV(links) and RV(msg) carry. V(all) - every one. V(changes) - those with
        an action or a blocker. V(none) - none; RV(phases), RV(counts) and RV(blocked) are
        whole either way, and O(report_path) gets every link.
      - At thousands of links the rows are megabytes - in the module's memory on the way out,
        in the controller's registered variable, in every AWX job event that shows them; the
        role P(syncfix.entra.remediation#role) asks for V(none) above
        C(remediation_links_in_log) links and points to its report.
    type: str
    choices: [all, changes, none]
    default: all
notes:
  - "AD rights of the bind account: read only - the users' C(objectGUID),
    C(mS-DS-ConsistencyGuid), C(proxyAddresses), C(mail), C(userPrincipalName) and
    C(adminDescription); any authenticated user can read these by default."
  - "Graph application permissions: C(User.Read.All), C(Group.Read.All), C(OrgContact.Read.All),
    C(RoleManagement.Read.Directory), C(Domain.Read.All),
    C(OnPremDirectorySynchronization.Read.All). Read-only: the role's write modules need theirs."
  - Reads, never per link - the AD users with OR-filtered paged searches (50 selectors each),
    Graph users with C($filter ... in) and C(proxyAddresses/any) lists through C($batch), the
    recycle bin, groups and contacts holding the addresses, role assignments, the sync
    features and the domains once.
  - Whether a cloud user has an Exchange Online mailbox is read from what Exchange stamps
    (C(mail), SMTP proxy addresses); Graph v1.0 has no property for it.
  - This module takes the connection options of both directories, so the TLS options have
    their own names here - O(graph_ca_path), O(graph_validate_certs), O(ldap_ca_path),
    O(ldap_validate_certs); the single-directory alias C(ca_path) is not accepted.
seealso:
  - module: syncfix.entra.ad_sync_scope
  - module: syncfix.entra.entra_immutable_id
  - module: syncfix.entra.ad_proxy_addresses
  - module: syncfix.entra.entra_user_purge
  - module: syncfix.entra.adsync_cycle
author:
  - syncfix.entra contributors (@syncfix)
"""

EXAMPLES = r"""
- name: Plan the VP's link and write a report for the change window
  syncfix.entra.link_plan:
    links:
      - ad: vp
        cloud: vp@contoso.com
    report_path: /var/tmp/change-4711/link-plan
  register: plan

- name: Show what the role would do
  ansible.builtin.debug:
    msg: "{{ plan.msg.splitlines() }}"

- name: Every link the sync would make on its own, nothing declared but the AD users
  syncfix.entra.link_plan:
    links: "{{ new_hires | map('community.general.dict_kv', 'ad') | list }}"
    skip_blocked: true

- name: Re-point one pre-created account that holds a stray anchor, and only that one
  syncfix.entra.link_plan:
    links:
      - ad: vp
        cloud: 5f0c3c4b-1d1e-4c55-9f61-2b1f1b1a0c11
        force: true
      - ad: ann
        cloud: ann@contoso.com
"""

RETURN = r"""
links:
  description: One entry per declared link, in order.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The link, as its O(links[].ad) was given.
      type: str
      sample: vp
    ad:
      description: The AD user's facts, or null when it was not found.
      type: dict
      sample: {"dn": "CN=Vera Price,OU=Staff,DC=contoso,DC=com", "object_guid": "3ab39606-c642-489b-84b6-58c038d3ef39",
               "anchor": "BpazOkLGm0iEtljAONPvOQ==", "primary_smtp": "vp@contoso.com", "in_scope": true}
    cloud:
      description: The cloud user's facts, or null when there is none (the sync would provision one).
      type: dict
      sample: {"id": "5f0c3c4b-1d1e-4c55-9f61-2b1f1b1a0c11", "upn": "vp@contoso.com", "immutable_id": null,
               "synced": false, "deleted": false, "mailbox": true, "roles": []}
    state:
      description:
        - V(linked), V(pending) (the next sync links them as things are), V(conflict) (it
          would not; the actions fix it), V(duplicate) (the engine joined the AD user to
          another cloud user, typically a resiliency placeholder), V(blocked) (a person must
          act first) or V(unlinked).
      type: str
      sample: duplicate
    method:
      description: The method chosen - none, soft, hard, reverse, recreate, remove_duplicate or unlink.
      type: str
      sample: remove_duplicate
    actions:
      description:
        - The ordered actions, each C({phase, module, item, why}). C(item) is an item of the module's
          C(users)/C(objects) option, with this link's own opt-ins in it where the module needs them
          (such as C(force) on a stamp that re-points a cloud user); there are no task-wide options.
      type: list
      elements: dict
      sample: [{"phase": "stamp", "module": "syncfix.entra.entra_immutable_id",
                "item": {"user": "5f0c3c4b-1d1e-4c55-9f61-2b1f1b1a0c11", "immutable_id": "BpazOkLGm0iEtljAONPvOQ==",
                         "object_guid": "3ab39606-c642-489b-84b6-58c038d3ef39", "force": true},
                "why": "hard match"}]
    blockers:
      description: What needs a person, each with the rule, the reason, the way out and the Microsoft source.
      type: list
      elements: dict
      sample: [{"rule": "privileged-role", "reason": "vp@contoso.com is eligible for Global Administrator",
                "way_out": "remove the role assignment, link, then assign it again",
                "source": "MC1262584"}]
    current:
      description: What the next sync does with the AD user as things are.
      type: dict
      sample: {"outcome": "provision", "upn": "vp####@contoso.onmicrosoft.com",
               "quarantined": [["ProxyAddress", "SMTP:vp@contoso.com"]]}
    predicted:
      description: What the sync that ends the plan does, after the actions.
      type: dict
      sample: {"outcome": "hard", "target": "5f0c3c4b-1d1e-4c55-9f61-2b1f1b1a0c11", "target_name": "vp@contoso.com"}
    warnings:
      description:
        - What could not be checked (for example a property this Graph lacks), and soft-deleted
          namesakes - a soft-deleted user holding the AD user's address or UPN, with how to restore
          it on purpose (C(cloud) set to its object id).
      type: list
      elements: str
      sample: []
phases:
  description:
    - The actions of the links that are not blocked, grouped by phase in the order they must
      run - C(scope_out), C(cycle_out), C(purge), C(restore), C(stamp), C(clear_anchor), C(reverse_anchor),
      C(align_smtp), C(scope_in), C(cycle). Each list holds module items, ready for one bulk task.
    - Empty while any link is blocked, unless O(skip_blocked=true).
    - Each item carries its own link's opt-ins; nothing in a phase is task-wide.
  returned: always
  type: dict
  sample: {"scope_out": [{"object": "CN=Vera Price,OU=Staff,DC=contoso,DC=com", "state": "excluded"}], "cycle_out": [{}],
           "purge": [{"user": "0d3c...", "state": "purged"}], "restore": [], "stamp": [], "clear_anchor": [], "reverse_anchor": [],
           "align_smtp": [], "scope_in": [], "cycle": [{}]}
counts:
  description: Links per state, all links, and the actions planned.
  returned: always
  type: dict
  sample: {"links": 1, "linked": 0, "pending": 0, "conflict": 0, "duplicate": 1, "blocked": 0, "unlinked": 0, "actions": 6}
blocked:
  description: The blocked links, each with a one-line summary.
  returned: always
  type: list
  elements: dict
  sample: [{"name": "admin", "summary": "admin: privileged-role: ...", "blockers": []}]
msg:
  description: The plan as a table, one line per link, then each link's actions in order and its blockers, then the counts.
  returned: always
  type: str
  sample: "link  cloud user  state  method  next sync after the plan"
report:
  description: The report files written.
  returned: when O(report_path) is set
  type: dict
  sample: {"json": "/var/tmp/link-plan.json", "csv": "/var/tmp/link-plan.csv", "md": "/var/tmp/link-plan.md"}
changed:
  description: Always false; this module writes to neither directory.
  returned: always
  type: bool
  sample: false
graph_requests:
  description: Counts of Graph requests sent.
  returned: always
  type: dict
  sample: {"requests": 9}
ldap_operations:
  description: Counts of LDAP searches.
  returned: always
  type: dict
  sample: {"searches": 1, "modifies": 0}
error:
  description: What went wrong, for a playbook to branch on - kind (input, graph, ldap, auth) and the service's code, status or LDAP result.
  returned: when the task failed
  type: dict
  sample: {"kind": "ldap", "message": "...", "result": 49}
"""

from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import SyncfixError
from ansible_collections.syncfix.entra.plugins.module_utils._backends.link_plan import (
    backup_dir_problem, read_ad_users, read_cloud,
)
from ansible_collections.syncfix.entra.plugins.module_utils._plan.rows import (
    LINK_ITEM, RETURN_LINKS, plan_rows, returned, returned_rows,
)
from ansible_collections.syncfix.entra.plugins.module_utils._report.link_plan import table, write_reports
from ansible_collections.syncfix.entra.plugins.module_utils._module.base import SyncfixModule


def main():
    base = SyncfixModule(
        argument_spec=dict(
            links=dict(type="list", elements="dict", required=True, options=LINK_ITEM),
            allow_purge=dict(type="bool", default=False),
            allow_data_loss=dict(type="bool", default=False),
            federated_upn_workaround=dict(type="bool", default=False),
            accept_proposals=dict(type="bool", default=False),
            backup_dir=dict(type="path"),
            skip_blocked=dict(type="bool", default=False),
            sync_scope_ous=dict(type="list", elements="str"),
            report_path=dict(type="path"),
            return_links=dict(type="str", default="all", choices=list(RETURN_LINKS)),
        ),
        directories=("graph", "ad"),
        supports_check_mode=True,
    )
    params = base.params
    links = params["links"]
    try:
        ad_users, ad_problems = read_ad_users(base.ad, [link["ad"] for link in links], params["sync_scope_ous"] or ())
        cloud = read_cloud(base.graph, list(ad_users.values()), [link["cloud"] for link in links if link["cloud"]])
    except SyncfixError as e:
        base.fail_error(e, "%s; nothing was read to the end, nothing was changed" % e)
    for warning in cloud.warnings:
        base.warn(warning)
    which = params["return_links"]
    detailed = None if params["report_path"] else (lambda row: returned(row, which))
    result = plan_rows(links, params, ad_users, ad_problems, cloud, detailed)
    problem = backup_dir_problem(result, params["backup_dir"])
    if problem:
        base.fail("%s; nothing was changed" % problem, counts=result["counts"])
    # What was read is done with: let the result's copies on the way out reuse its memory.
    del links, ad_users, ad_problems, cloud
    rows = result.pop("links")
    result["links"] = returned_rows(rows, which)
    result["msg"] = table(result["links"], result["counts"], left_out=len(rows) - len(result["links"]),
                          report=params["report_path"])
    if params["report_path"]:
        try:
            result["report"] = write_reports(params["report_path"], rows, result["counts"])
        except (IOError, OSError) as e:
            result["links"] = rows
            base.fail("report_path %s can't be written (%s); the plan is in this result" % (params["report_path"], e),
                      **result)
    del rows
    base.exit(changed=False, **result)


if __name__ == "__main__":
    main()
