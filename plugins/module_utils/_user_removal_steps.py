# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Deleting, purging and restoring cloud users over Graph: the adapter ``entra_user_purge``
plans with.  Internal to this collection: not a public API.

It reads the record of every user about to be removed, turns each user's ``RemovalPlan``
(the rules, in ``user_removal``) into an ``ItemPlan`` for the converge engine, and, when the
engine applies it, writes the backup and sends the steps in order.  It knows nothing of
Ansible options.
"""

import datetime
import json
import os
import tempfile

from ansible_collections.syncfix.entra.plugins.module_utils import entra_directory as directory
from ansible_collections.syncfix.entra.plugins.module_utils._converge import ItemPlan
from ansible_collections.syncfix.entra.plugins.module_utils._errors import InputError, SyncfixError, error_details
from ansible_collections.syncfix.entra.plugins.module_utils.graph_client import NotWritten, OutcomeUnknown
from ansible_collections.syncfix.entra.plugins.module_utils.user_removal import (
    ACTIVE, GONE, STEP_RESULT, data_loss_reasons, plan_removal, role_reasons,
)

NO_ROLES = {"active": [], "eligible": []}


class RemovalOptions:
    """What the run asks for, beyond each user's selector."""

    def __init__(self, state, allow_data_loss=False, backup_dir=None, new_user_principal_name=None,
                 auto_reconcile_proxy_conflict=False, allow_role_holder_removal=False):
        self.state = state
        self.allow_data_loss = allow_data_loss
        self.allow_role_holder_removal = allow_role_holder_removal
        self.backup_dir = backup_dir
        self.new_user_principal_name = new_user_principal_name
        self.auto_reconcile_proxy_conflict = auto_reconcile_proxy_conflict


class StepFailed(SyncfixError):
    """A step that failed, with where the user is now (an earlier step may have landed)."""

    def __init__(self, cause, where):
        self.cause = cause
        self.where = where
        self.kind = error_details(cause)["kind"]
        super(StepFailed, self).__init__(self.describe())

    def describe(self):
        describe = getattr(self.cause, "describe", None)
        return "%s; the user is now %s" % (describe() if callable(describe) else self.cause, self.where)

    def details(self):
        return dict(error_details(self.cause), message=self.describe())


def read_records(client, state, located):
    """``{user_id: record}`` of every user to delete or purge: its properties, licenses, group
    memberships and directory roles, read in bulk before anything is written.  A restore
    destroys nothing, so it reads none."""
    if state == "restored":
        return {}
    removals = [(where, user) for where, user in located.found.values() if where != GONE]
    active = [user["id"] for where, user in removals if where == ACTIVE]
    licenses = directory.license_details(client, active)
    memberships = directory.group_memberships(client, active)
    roles = directory.role_holdings(client, [user["id"] for where, user in removals], active_ids=active)
    return dict((user["id"], dict(user=user, licenses=licenses.get(user["id"], []),
                                  memberOf=memberships.get(user["id"], []),
                                  roles=roles.get(user["id"], NO_ROLES), location=where))
                for where, user in removals)


def plan_users(client, selectors, located, options):
    """An ItemPlan per selector, in order, from ``located`` (``entra_directory.locate_users``,
    with no ambiguous selector left)."""
    records = read_records(client, options.state, located)
    plans = []
    for selector in selectors:
        where, user = located.found[selector]
        plans.append(plan_user(client, selector, where, user, records.get(user["id"]) if user else None, options))
    return plans


def plan_user(client, selector, where, user, record, options):
    """One user's ItemPlan: the refusal, or the steps to send and where they leave the user."""
    reasons = data_loss_reasons(user, record["licenses"]) if record else []
    roles = role_reasons(record["roles"]) if record else []
    removal = plan_removal(options.state, where, selector, user, reasons, options.allow_data_loss, roles,
                           options.allow_role_holder_removal)
    fields = dict(id=user["id"] if user else None)
    if record is not None and removal.steps:
        fields["record"] = record

    def apply(plan):
        run_steps(client, plan, user["id"], removal.steps, options)

    return ItemPlan(selector, where, removal.after, changed=removal.changed, action=removal.action, apply=apply,
                    refusal=removal.refusal, note=removal.note or "already as requested", fields=fields)


def run_steps(client, plan, user_id, steps, options):
    """Write the backup, then send the steps in order; ``plan.after`` follows each step that
    lands, so a failure says where the user is left (``plan.partial`` once one has landed)."""
    plan.after = plan.before
    try:
        if options.backup_dir and "record" in plan.fields:
            plan.fields["backup_file"] = write_backup(options.backup_dir, plan.fields["record"])
        for step in steps:
            try:
                _send(client, step, user_id, plan.item, options, just_deleted="soft_delete" in steps)
            except OutcomeUnknown as lost:
                settle(client, step, user_id, plan.item, lost)
            plan.after = STEP_RESULT[step]
    except (SyncfixError, OSError) as error:
        plan.partial = plan.after != plan.before
        raise StepFailed(error, plan.after) from error


def settle(client, step, user_id, label, lost):
    """A step whose answer was lost: read where the user is, and go on only if the step landed.
    Sending it again could misread the second answer (a 404 for a delete that landed)."""
    try:
        where = directory.where_is(client, user_id, label)
    except SyncfixError as unread:
        raise OutcomeUnknown(None, "OutcomeUnknown", "%s; reading the user back failed too (%s): run the task "
                             "again, it reads before it writes" % (lost.message, unread), None, lost.operation, label)
    # Just after a delete, the user can be in neither place for a moment (eventual consistency).
    landed = {"soft_delete": where != ACTIVE, "purge": where == GONE, "restore": where == ACTIVE}[step]
    if not landed:
        raise NotWritten(None, "NotWritten", "not done: %s (reading the user back shows it %s)" % (lost.message, where),
                         None, lost.operation, label)


def _send(client, step, user_id, label, options, just_deleted):
    if step == "soft_delete":
        client.request("DELETE", "/users/%s" % user_id, operation="soft-delete user", target=label)
    elif step == "purge":
        directory.purge_deleted_user(client, user_id, label, just_deleted=just_deleted)
    else:
        body = {"autoReconcileProxyConflict": options.auto_reconcile_proxy_conflict}
        if options.new_user_principal_name:
            body["newUserPrincipalName"] = options.new_user_principal_name
        client.request("POST", "/directory/deletedItems/%s/restore" % user_id, body=body,
                       operation="restore user", target=label)


def prepare_backup_dir(backup_dir):
    """Create ``backup_dir`` (0700) and prove it takes a file, before the first delete: a
    backup that can't be written must stop the run, not follow a purge."""
    try:
        os.makedirs(backup_dir, mode=0o700, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=backup_dir, prefix=".probe-")
        probe.close()
    except OSError as e:
        raise InputError("backup_dir %s can't be written (%s): nothing was deleted. Give a directory this "
                         "user can write, or leave backup_dir out." % (backup_dir, e.strerror or e))


def write_backup(backup_dir, record):
    """Write ``record`` to ``<backup_dir>/<object id>-<UTC time>.json``, readable by its owner
    only (it holds personal data); returns the path."""
    os.makedirs(backup_dir, mode=0o700, exist_ok=True)
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    path = os.path.join(backup_dir, "%s-%s.json" % (record["user"]["id"], stamp))
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as out:
        json.dump(record, out, indent=2, sort_keys=True)
    return path
