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
  - Refuses, before anything is written, users that were synced from on-premises, hold or
    are eligible for directory roles, have licenses or a mailbox, unless
    O(allow_data_loss=true). An active synced user is always refused, because Entra only
    lets it be deleted on-premises.
  - Before deleting or purging, reads the full record (properties, licenses, group
    memberships, roles), returns it and writes it to O(backup_dir) when given.
extends_documentation_fragment:
  - syncfix.entra.graph
attributes:
  check_mode:
    support: full
    description: Reads the users, builds the records and reports what would change; sends no write.
  diff_mode:
    support: full
    description: "Shows one line per changed user, C(<user>: active|deleted|gone), before and after."
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
    description: Several users, each as O(user).
    type: list
    elements: str
  state:
    description:
      - V(deleted) soft-deletes (recoverable for 30 days).
      - V(purged) soft-deletes if needed, then removes the user from the recycle bin. This is irreversible.
      - V(restored) restores a soft-deleted user.
    type: str
    choices: [deleted, purged, restored]
    default: deleted
  allow_data_loss:
    description:
      - Delete or purge users that were synced, hold or are eligible for roles, have licenses
        or a mailbox. Their records are still returned and backed up.
    type: bool
    default: false
  backup_dir:
    description:
      - A directory on the controller where the full record of each user is written, as
        C(<object id>-<UTC time>.json), before it is deleted or purged. Created if missing.
      - Left out, the records are only returned in RV(results[].record).
    type: path
  new_user_principal_name:
    description:
      - With O(state=restored) and a single O(user), the UPN to restore it with, when its old
        UPN is taken by an active user meanwhile.
    type: str
  auto_reconcile_proxy_conflict:
    description:
      - With O(state=restored), drop the restored user's proxy addresses that active objects
        now hold, instead of failing the restore.
    type: bool
    default: false
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
  check_mode: true

- name: Undo a deletion within 30 days
  syncfix.entra.entra_user_purge:
    user: 4f1c3c55-9f55-4f43-9b8e-0d1ad77c3a1e
    state: restored
    auto_reconcile_proxy_conflict: true
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
      sample: soft-deleted and purged
    record:
      description: The full record read before deleting or purging (properties, licenses, memberships, roles).
      type: dict
      returned: when the user was deleted or purged, or would be in check mode
      sample: {"user": {"id": "4f1c...", "userPrincipalName": "vp@contoso.com"}, "licenses": [], "memberOf": [],
               "roles": {"active": [], "eligible": []}}
    backup_file:
      description: Where the record was written.
      type: str
      returned: when O(backup_dir) is set and the user was deleted or purged
      sample: /var/backups/entra/4f1c3c55-9f55-4f43-9b8e-0d1ad77c3a1e-20261122T101500Z.json
    failed:
      description: Present and true when this item failed.
      type: bool
      sample: true
graph_requests:
  description: Counts of Graph requests sent, throttled and retried in this run.
  returned: when Graph was called
  type: dict
  sample: {"requests": 6, "batch_items": 8}
"""

import datetime
import json
import os

from ansible_collections.syncfix.entra.plugins.module_utils import entra_directory as directory
from ansible_collections.syncfix.entra.plugins.module_utils.entra_module import EntraModule, graph_failure_message
from ansible_collections.syncfix.entra.plugins.module_utils.graph_auth import AuthError
from ansible_collections.syncfix.entra.plugins.module_utils.graph_client import GraphError
from ansible_collections.syncfix.entra.plugins.module_utils.user_removal import (
    ACTIVE, GONE, IN_RECYCLE_BIN, data_loss_reasons, plan_removal,
)

AFTER = {"deleted": IN_RECYCLE_BIN, "purged": GONE, "restored": ACTIVE}


def locate(client, selectors):
    """Each selector -> (where, user); ambiguous selectors are collected as problems."""
    lookup = directory.find_users(client, selectors)
    deleted = directory.deleted_users(client)
    located, problems = {}, []
    for selector in selectors:
        if selector in lookup.ambiguous:
            problems.append("%s matches several active users (%s); name one by object id" % (
                selector, ", ".join(sorted(u.get("userPrincipalName") for u in lookup.ambiguous[selector]))))
            continue
        if selector in lookup.found:
            located[selector] = (ACTIVE, lookup.found[selector])
            continue
        matches = directory.match_deleted(deleted, selector)
        if len(matches) > 1:
            problems.append("%s matches several soft-deleted users (%s); name one by object id" % (
                selector, ", ".join(sorted(m["id"] for m in matches))))
        else:
            located[selector] = (IN_RECYCLE_BIN, matches[0]) if matches else (GONE, None)
    return located, problems


def write_backup(backup_dir, record):
    os.makedirs(backup_dir, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = os.path.join(backup_dir, "%s-%s.json" % (record["user"]["id"], stamp))
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(record, handle, indent=2, sort_keys=True)
    return path


STEP_RESULT = {"soft_delete": IN_RECYCLE_BIN, "purge": GONE, "restore": ACTIVE}


def run_steps(client, user_id, steps, params, label, result):
    """Run the steps in order; ``result['after']`` always says where the user is now."""
    result["after"] = result["before"]
    for step in steps:
        if step == "soft_delete":
            client.request("DELETE", "/users/%s" % user_id, operation="soft-delete user", target=label)
        elif step == "purge":
            directory.purge_deleted_user(client, user_id, label, just_deleted="soft_delete" in steps)
        else:
            body = {"autoReconcileProxyConflict": params["auto_reconcile_proxy_conflict"]}
            if params["new_user_principal_name"]:
                body["newUserPrincipalName"] = params["new_user_principal_name"]
            client.request("POST", "/directory/deletedItems/%s/restore" % user_id, body=body,
                           operation="restore user", target=label)
        result["after"] = STEP_RESULT[step]


def main():
    entra = EntraModule(
        argument_spec=dict(
            user=dict(type="str"),
            users=dict(type="list", elements="str"),
            state=dict(type="str", default="deleted", choices=["deleted", "purged", "restored"]),
            allow_data_loss=dict(type="bool", default=False),
            backup_dir=dict(type="path"),
            new_user_principal_name=dict(type="str"),
            auto_reconcile_proxy_conflict=dict(type="bool", default=False),
        ),
        mutually_exclusive=[["user", "users"], ["users", "new_user_principal_name"]],
        required_one_of=[["user", "users"]],
        supports_check_mode=True,
    )
    params = entra.params
    state = params["state"]
    selectors = [params["user"]] if params["user"] else list(params["users"])
    if any(not s or not s.strip() for s in selectors):
        entra.fail("users: empty selector; give a UPN, object id, mail or proxy address for each")
    if len(set(s.lower() for s in selectors)) != len(selectors):
        entra.fail("users: a user is listed twice; nothing was changed")

    try:
        client = entra.client
        located, problems = locate(client, selectors)
        if problems:
            entra.fail("ambiguous users, nothing was changed: " + "; ".join(problems))
        removals = [located[s][1]["id"] for s in selectors if state != "restored" and located[s][0] != GONE]
        active = [located[s][1]["id"] for s in selectors if state != "restored" and located[s][0] == ACTIVE]
        licenses = directory.license_details(client, active)
        memberships = directory.group_memberships(client, active)
        roles = directory.role_holdings(client, removals)
    except (GraphError, AuthError) as e:
        entra.fail(graph_failure_message(e) + "; nothing was changed")

    results, work = [], []
    for selector in selectors:
        where, user = located[selector]
        record = None
        reasons = []
        if user is not None and state != "restored":
            user_id = user["id"]
            record = dict(user=user, licenses=licenses.get(user_id, []), memberOf=memberships.get(user_id, []),
                          roles=roles.get(user_id, {"active": [], "eligible": []}), location=where)
            reasons = data_loss_reasons(user, record["licenses"], record["roles"])
        plan = plan_removal(state, where, selector, user, reasons, params["allow_data_loss"])
        result = dict(item=selector, id=user["id"] if user else None, changed=plan.changed, before=where,
                      after=AFTER[state] if plan.changed else where)
        if record is not None and plan.steps:
            result["record"] = record
        if plan.refusal:
            result.update(failed=True, msg=plan.refusal)
        else:
            result["msg"] = plan.note or ("would " if entra.check_mode else "") + " and ".join(
                {"soft_delete": "soft-delete", "purge": "purge", "restore": "restore"}[s] for s in plan.steps)
        results.append(result)
        work.append((result, plan, user))

    diff = dict(before="".join(sorted("%s: %s\n" % (r["item"], r["before"]) for r in results if r["changed"])),
                after="".join(sorted("%s: %s\n" % (r["item"], r["after"]) for r in results if r["changed"])))
    if any(r.get("failed") for r in results):
        for result in results:
            result["changed"] = False
            result["after"] = result["before"]
        entra.exit_bulk(results)
    if entra.check_mode:
        entra.exit_bulk(results, diff=diff)

    for result, plan, user in work:
        if not plan.changed:
            continue
        try:
            if params["backup_dir"] and "record" in result:
                result["backup_file"] = write_backup(params["backup_dir"], result["record"])
            run_steps(client, user["id"], plan.steps, params, result["item"], result)
        except (GraphError, AuthError, OSError) as e:
            result.update(failed=True, changed=result["after"] != result["before"],
                          msg="%s; the user is now %s" % (graph_failure_message(e), result["after"]))
    entra.exit_bulk(results, diff=diff)


if __name__ == "__main__":
    main()
