#!/usr/bin/python
# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: entra_user_purge
short_description: Soft-delete, purge or restore Entra cloud users, recycle bin included
version_added: 0.1.0
description:
  - The "nuclear option" of sync-conflict remediation, made safe. A disposable cloud user
    that blocks a match is deleted, and purged from the recycle bin where it would still
    hold its anchor and, with a mailbox, its SMTP addresses (that the soft-deleted mailbox
    keeps its addresses reserved is field experience, not a Microsoft statement; restoring and
    linking the user is the safer way where it is possible).
  - Finds each user among active and soft-deleted users by user principal name (a deleted
    user's renamed UPN too), object id, mail or any proxy address. The recycle-bin holder of
    an address is the classic trap this finds.
  - Refuses, before anything is written, users that were synced from on-premises, have
    licenses or a mailbox, unless the user's own O(users[].allow_data_loss) (else the task's
    O(allow_data_loss)) is V(true); users that hold or are eligible for directory roles,
    unless its O(users[].allow_role_holder_removal) (else the task's) is V(true). An opt-in
    unlocks the user it is given for, never another item. An active synced user is always
    refused, because Entra only lets it be deleted on-premises.
  - A refused user fails alone - nothing is written for it, not even its backup - and the
    other users, each checked on its own, are still removed; the task fails naming it. Two
    items naming one user are both refused. Bad input stops the whole run before any write - a
    selector that names no user (see O(lookup_failure_action)), a user whose object id is not
    a GUID, a backup that can't be written.
  - Before deleting or purging, reads the full record (properties, licenses, group
    memberships, directory roles with their names) and writes it to O(backup_dir), before the
    first write. The task output carries the file's path and a summary
    (RV(results[].record_summary)), never the record itself - it is personal data, and job
    output and logs are read by many.
  - A selector that names no user is answered by O(backup_dir) - a user an earlier run purged
    has its record there, and the item is "already purged" (unchanged). A selector that names
    no user and no record fails the task, unless O(lookup_failure_action) says otherwise.
extends_documentation_fragment:
  - syncfix.entra.graph
  - syncfix.entra.lookup
attributes:
  check_mode:
    support: full
    description: Reads the users, builds the records' summaries and reports what would change; writes no backup file and sends no write.
  diff_mode:
    support: full
    description: Per changed user, as named, its C(state) (V(active), V(deleted) or V(gone)) before and after.
  platform:
    support: full
    platforms: [microsoft_graph]
    description: Runs on the controller and talks to Microsoft Graph.
options:
  user:
    description:
      - The cloud user, by UPN, object id, mail or proxy address. Mutually exclusive with O(users).
    type: str
  users:
    description:
      - Several users, each a dict with the keys of the single-user options. A phase of
        M(syncfix.entra.link_plan) (C(phases.purge), C(phases.restore)) can be given unchanged.
      - Each user may be named once.
    type: list
    elements: dict
    suboptions:
      user:
        description: The cloud user, by UPN, object id, mail or proxy address.
        type: str
        required: true
      state:
        description: This user's O(state); defaults to the task's.
        type: str
        choices: [deleted, purged, restored]
      new_user_principal_name:
        description: As O(new_user_principal_name), for this user.
        type: str
      mail_from_sync:
        description:
          - The sync wrote this user's C(mail) and proxy addresses from its AD user - it is a
            resiliency duplicate - so they are no sign of a mailbox. Exchange Online gives a user
            mailbox only to a licensed user, so a licence still counts as one.
          - M(syncfix.entra.link_plan) sets it on the duplicates it removes.
        type: bool
        default: false
      allow_data_loss:
        description:
          - As O(allow_data_loss), for this user alone - another item's opt-in never unlocks it.
          - Left out, the task's O(allow_data_loss) applies. V(false) refuses this user's data loss
            even when the task's option is V(true).
          - M(syncfix.entra.link_plan) sets it on the items of its plan that may lose data; its
            plans never rely on the task's option.
        type: bool
      allow_role_holder_removal:
        description:
          - As O(allow_role_holder_removal), for this user alone.
          - Left out, the task's O(allow_role_holder_removal) applies. V(false) refuses this user
            when it holds a role even when the task's option is V(true).
        type: bool
  state:
    description:
      - V(deleted) soft-deletes (recoverable for 30 days).
      - V(purged) soft-deletes if needed, then removes the user from the recycle bin. This is irreversible.
      - V(restored) restores a soft-deleted user.
      - Required unless every item of O(users) has its own O(users[].state).
    type: str
    choices: [deleted, purged, restored]
  allow_data_loss:
    description:
      - Delete or purge users that were synced, have licenses or a mailbox. Their records are
        still written to O(backup_dir).
      - Does not cover directory roles; see O(allow_role_holder_removal).
      - The default of every item of O(users) that does not set its own O(users[].allow_data_loss).
    type: bool
    default: false
  allow_role_holder_removal:
    description:
      - Delete or purge users that hold or are eligible for a directory role (active or
        eligible assignments, read through PIM). Removing an administrator is its own
        decision; O(allow_data_loss) does not cover it.
      - The default of every item of O(users) that does not set its own O(users[].allow_role_holder_removal).
    type: bool
    default: false
  backup_dir:
    description:
      - A directory on the controller where the full record of each user is written, as
        C(<object id>-<UTC time>.json) (mode 0600; the directory is created 0700 if missing),
        before it is deleted or purged. That file is the only copy of what was removed.
      - Every record of the run is written and synced to disk before its first delete; a record
        that can't be written stops the run before any delete. The file is written under a
        temporary name and renamed into place, never through a symbolic link, and named only by
        the user's object id checked as a GUID (a user whose id is not one is refused).
      - Refused before any Graph request, in check mode too, when it is a symbolic link, is
        owned by another user, or can be written by others (group or world writable).
      - Required when any user is V(deleted) or V(purged) - a purge is irreversible, and the
        record is the only way to know afterwards what it destroyed. Keep it between runs - it
        is also how a second run knows that a user it no longer finds was purged by the first.
      - Not used with O(state=restored).
    type: path
  new_user_principal_name:
    description:
      - With O(state=restored), the UPN to restore O(user) with, when its old UPN is taken by an
        active user meanwhile. For several users, give it per item (O(users[].new_user_principal_name)).
    type: str
  auto_reconcile_proxy_conflict:
    description:
      - With O(state=restored), drop the restored user's proxy addresses that active objects
        now hold, instead of failing the restore.
    type: bool
    default: false
notes:
  - "Graph application permissions: C(User.ReadWrite.All), C(RoleManagement.Read.Directory)
    (the record of each user lists its directory roles, and a role holder is refused)."
  - "Graph application permissions, with O(state=purged) or O(state=restored) also:
    C(User.DeleteRestore.All) (\"Permanently delete an item\", \"Restore deleted item\")."
  - "A delete, purge or restore whose answer is lost on the way back (a dropped connection) is
    not sent again - a second DELETE would answer 404 for a user it had removed. The user is
    read back by object id, and the item says where it is: done, or untouched with the error."
seealso:
  - module: syncfix.entra.entra_user_info
author:
  - syncfix.entra contributors (@syncfix)
"""

EXAMPLES = r"""
- name: Remove the pre-created cloud user that blocks the new hire's soft match, recycle bin included
  syncfix.entra.entra_user_purge:
    user: vp@contoso.com
    state: purged
    allow_data_loss: true
    backup_dir: /var/backups/entra

- name: Who still holds this address in the recycle bin? Show it, change nothing
  syncfix.entra.entra_user_purge:
    user: sales@contoso.com
    state: purged
    backup_dir: /var/backups/entra
  check_mode: true

- name: Delete the leavers' cloud users, skipping those already gone without failing
  syncfix.entra.entra_user_purge:
    users:
      - user: leaver1@contoso.com
      - user: leaver2@contoso.com
    state: deleted
    backup_dir: /var/backups/entra
    lookup_failure_action: warn

- name: Undo a deletion within 30 days
  syncfix.entra.entra_user_purge:
    user: 4f1c3c55-9f55-4f43-9b8e-0d1ad77c3a1e
    state: restored
    auto_reconcile_proxy_conflict: true

- name: Purge one user and restore another under a new UPN, in one task
  syncfix.entra.entra_user_purge:
    users:
      - user: old.vp@contoso.com
        state: purged
      - user: 7d2e4c1a-5b6f-4e8d-9a0b-1c2d3e4f5a6b
        state: restored
        new_user_principal_name: ann.lee@contoso.com
    allow_data_loss: true
    backup_dir: /var/backups/entra
"""

RETURN = r"""
results:
  description: One entry per user, in the order given.
  returned: always
  type: list
  elements: dict
  contains:
    item:
      description: The user as given (its selector).
      type: str
      sample: vp@contoso.com
    id:
      description: Object id of the matched user.
      type: str
      sample: 4f1c3c55-9f55-4f43-9b8e-0d1ad77c3a1e
    changed:
      description: Whether the user was (or in check mode would be) deleted, purged or restored.
      type: bool
      sample: true
    before:
      description: Where the user was - V(active), V(deleted) (recycle bin) or V(gone).
      type: str
      sample: active
    after:
      description: Where the user is afterwards.
      type: str
      sample: gone
    msg:
      description: What was done, or why not.
      type: str
      sample: soft-delete and purge
    record_summary:
      description:
        - Who the user is and how much its record holds; the record itself is in RV(results[].backup_file).
        - C(licenses), C(groups) and C(roles) are counts; C(mailbox) says whether it is mail-enabled.
      type: dict
      returned: when the user is (or in check mode would be) deleted or purged, or is refused
      sample: {"id": "4f1c3c55-9f55-4f43-9b8e-0d1ad77c3a1e", "userPrincipalName": "vp@contoso.com",
               "displayName": "VP", "licenses": 1, "groups": 3, "roles": 0, "mailbox": true,
               "onPremisesSyncEnabled": false, "deletedDateTime": null}
    backup_file:
      description: The record written before the delete or purge; for a user an earlier run purged, its record.
      type: str
      returned: when the user was deleted or purged, or was found purged by its record
      sample: /var/backups/entra/4f1c3c55-9f55-4f43-9b8e-0d1ad77c3a1e-20261122T101500Z.json
    failed:
      description: Present and true when this item failed.
      type: bool
      sample: true
    error:
      description: What went wrong, for a playbook to branch on - kind (refused, input, graph, ldap, auth) and the
        service's code, status or LDAP result.
      returned: when this item failed
      type: dict
      sample: {"kind": "graph", "status": 404, "code": "Request_ResourceNotFound", "request_id": "5f0c...",
               "operation": "purge user", "target": "vp@contoso.com",
               "message": "purge user vp@contoso.com: Graph answered 404 Request_ResourceNotFound: ..."}
error:
  description: Why the task failed before any item was written - kind (input, graph, auth) and the service's code.
  returned: when the task failed before planning, for example on bad input or a Graph error while reading
  type: dict
  sample: {"kind": "input", "message": "backup_dir /var/backups/entra is not writable ..."}
graph_requests:
  description: Counts of Graph requests sent, throttled and retried in this run.
  returned: when Graph was called
  type: dict
  sample: {"requests": 6, "batch_items": 8}
"""

from ansible_collections.syncfix.entra.plugins.module_utils._graph import directory
from ansible_collections.syncfix.entra.plugins.module_utils._module.converge import converge
from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import InputError, SyncfixError
from ansible_collections.syncfix.entra.plugins.module_utils._module.item_specs import (
    USER_REMOVAL_ITEM, item_opt_in, item_spec, single_item,
)
from ansible_collections.syncfix.entra.plugins.module_utils._rules.lookup_failure import lookup_failure_spec
from ansible_collections.syncfix.entra.plugins.module_utils._module.base import describe_error
from ansible_collections.syncfix.entra.plugins.module_utils._backends.entra_user_purge import (
    RemovalOptions, backup_dir_problem, plan_users, prepare_backup_dir, run_stopped,
)
from ansible_collections.syncfix.entra.plugins.module_utils._module.entra_module import EntraModule
from ansible_collections.syncfix.entra.plugins.module_utils._rules.user_removal import parse_removal_items


def diff_entry(plan, side):
    """Per changed user (as named): where it is - active, deleted (the recycle bin) or gone."""
    return plan.item, {"state": getattr(plan, side)}


def main():
    entra = EntraModule(
        argument_spec=dict(
            user=dict(type="str"),
            users=dict(type="list", elements="dict", options=item_spec(USER_REMOVAL_ITEM)),
            state=dict(type="str", choices=["deleted", "purged", "restored"]),
            allow_data_loss=dict(type="bool", default=False),
            allow_role_holder_removal=dict(type="bool", default=False),
            backup_dir=dict(type="path"),
            new_user_principal_name=dict(type="str"),
            auto_reconcile_proxy_conflict=dict(type="bool", default=False),
            **lookup_failure_spec()
        ),
        mutually_exclusive=[["user", "users"], ["users", "new_user_principal_name"]],
        required_one_of=[["user", "users"]],
        required_by={"user": ["state"]},
        supports_check_mode=True,
    )
    params = entra.params
    given = single_item(params, "users", USER_REMOVAL_ITEM)
    try:
        items = parse_removal_items(given, params["state"])
    except InputError as e:
        entra.fail_error(e)
    # The record of a removed user is kept only in backup_dir: no delete without one.
    removals = ["%s (state is %s)" % (selector, state) for selector, state, dummy in items if state != "restored"]
    if removals and not params["backup_dir"]:
        entra.fail_error(InputError("backup_dir is required to delete or purge users - the record of each removed "
                                    "user is kept only there: %s; nothing was changed" % ", ".join(removals)))
    # A shared, foreign or symlinked folder is refused before any request, in check mode too.
    problem = backup_dir_problem(params["backup_dir"]) if removals else None
    if problem:
        entra.fail_error(InputError(problem))
    if params["auto_reconcile_proxy_conflict"] and not any(state == "restored" for dummy, state, dummy_upn in items):
        entra.fail_error(InputError("auto_reconcile_proxy_conflict applies only to state: restored; nothing was changed"))
    options = RemovalOptions(None, params["allow_data_loss"], params["backup_dir"], None,
                             params["auto_reconcile_proxy_conflict"], params["allow_role_holder_removal"],
                             params["lookup_failure_action"])
    # Each item's opt-ins are its own (the task's options are the default of the items that set none).
    requests = [(selector, options.for_item(state, new_upn, bool(item.get("mail_from_sync")),
                                            item_opt_in(item, params, "allow_data_loss"),
                                            item_opt_in(item, params, "allow_role_holder_removal")))
                for item, (selector, state, new_upn) in zip(given, items)]
    try:
        located = directory.locate_users(entra.graph, [selector for selector, dummy in requests])
        if located.ambiguous:
            entra.fail("ambiguous users, nothing was changed: " + "; ".join(located.problems()))
        plans, warnings = plan_users(entra.graph, requests, located)
    except SyncfixError as e:
        entra.fail_error(e, describe_error(e) + "; nothing was changed")
    for warning in warnings:
        entra.warn(warning)
    # Bad input (a selector naming no one, an id that can't name a backup) stops the run before
    # any write; a user refused for itself (data to lose, a role) fails alone - its opt-ins are
    # its own, and the others, each checked on its own, go ahead (issue 26).
    stopped = run_stopped(plans)
    if options.backup_dir and not entra.check_mode and not stopped \
            and any(p.changed and "record_summary" in p.fields for p in plans):
        try:
            prepare_backup_dir(options.backup_dir)
        except InputError as e:
            entra.fail_error(e)
    converge(entra, plans, diff_entry, refused_fail_alone=not stopped)


if __name__ == "__main__":
    main()
