# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Deleting, purging and restoring cloud users over Graph: the adapter ``entra_user_purge``
plans with.  Internal to this collection: not a public API.

It reads the record of every user about to be removed, turns each user's ``RemovalPlan``
(the rules, in ``_rules.user_removal``) into an ``ItemPlan`` for the converge engine; when the
engine applies the first, every user's backup is written and the steps go out in order, in
bulk (``_backends.entra_user_purge_batch``).  The record (personal
data: properties, licenses, memberships, roles) goes only to the backup file; the result
carries its path and a summary.  A selector that names no user is answered by the backup
directory (a user purged by an earlier run has its record there), else it is a lookup
failure (``_rules.lookup_failure``).  It knows nothing of Ansible options.
"""

import json
import os
import tempfile

from ansible_collections.syncfix.entra.plugins.module_utils._graph import directory
from ansible_collections.syncfix.entra.plugins.module_utils._module.converge import ItemPlan
from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import InputError, SyncfixError, error_details
from ansible_collections.syncfix.entra.plugins.module_utils._rules.lookup_failure import FAIL, decide
from ansible_collections.syncfix.entra.plugins.module_utils._report.private_file import (
    PrivateFileError, ensure_folder, folder_problem,
)
from ansible_collections.syncfix.entra.plugins.module_utils._backends.entra_user_purge_batch import RemovalBatch, backup_name
from ansible_collections.syncfix.entra.plugins.module_utils._rules.user_removal import (
    ACTIVE, GONE, STEP_RESULT, data_loss_reasons, names_user, plan_removal, record_summary, role_reasons,
)

NO_ROLES = {"active": [], "eligible": []}


class RemovalOptions:
    """What the run asks for, beyond each user's selector."""

    def __init__(self, state, allow_data_loss=False, backup_dir=None, new_user_principal_name=None,
                 auto_reconcile_proxy_conflict=False, allow_role_holder_removal=False, lookup_failure_action=FAIL,
                 mail_from_sync=False):
        self.state = state
        self.mail_from_sync = mail_from_sync
        self.lookup_failure_action = lookup_failure_action
        self.allow_data_loss = allow_data_loss
        self.allow_role_holder_removal = allow_role_holder_removal
        self.backup_dir = backup_dir
        self.new_user_principal_name = new_user_principal_name
        self.auto_reconcile_proxy_conflict = auto_reconcile_proxy_conflict

    def for_item(self, state, new_user_principal_name=None, mail_from_sync=False, allow_data_loss=None,
                 allow_role_holder_removal=None):
        """These options with one item's own ``state``, restore UPN, ``mail_from_sync`` and
        opt-ins (None: the run's).  An item's opt-in unlocks that item alone."""
        return RemovalOptions(state, self.allow_data_loss if allow_data_loss is None else allow_data_loss,
                              self.backup_dir, new_user_principal_name, self.auto_reconcile_proxy_conflict,
                              self.allow_role_holder_removal if allow_role_holder_removal is None
                              else allow_role_holder_removal, self.lookup_failure_action, mail_from_sync)


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


def read_records(client, located, selectors):
    """``{user_id: record}`` of every user the ``selectors`` name that is to be deleted or
    purged: its properties, licenses, group memberships and directory roles (``{"id",
    "displayName"}``, the names read in one list), read in bulk before anything is written.  A
    restore destroys nothing, so its selectors are not given."""
    removals = [located.found[s] for s in selectors if located.found[s][0] != GONE]
    if not removals:
        return {}
    active = [user["id"] for where, user in removals if where == ACTIVE]
    licenses = directory.license_details(client, active)
    memberships = directory.group_memberships(client, active)
    roles = directory.named_role_holdings(
        client, directory.role_holdings(client, [user["id"] for where, user in removals], active_ids=active))
    return dict((user["id"], dict(user=user, licenses=licenses.get(user["id"], []),
                                  memberOf=memberships.get(user["id"], []),
                                  roles=roles.get(user["id"], NO_ROLES), location=where))
                for where, user in removals)


def plan_users(client, requests, located):
    """``(plans, warnings)``: an ItemPlan per ``(selector, RemovalOptions)`` request, in order,
    from ``located`` (``_graph.directory.locate_users``, with no ambiguous selector left), and
    the warnings of selectors that name nothing when ``lookup_failure_action`` is warn.  Each
    request carries its own state, so one run may delete, purge and restore."""
    removing = [s for s, options in requests if options.state != "restored"]
    records = read_records(client, located, removing)
    gone = [(s, options) for s, options in requests if located.found[s][0] == GONE]
    backup_dir = requests[0][1].backup_dir if requests else None
    backups = find_records(backup_dir, [s for s, options in gone if options.state != "restored"])
    lookup_failure_action = requests[0][1].lookup_failure_action if requests else FAIL
    unknown = decide(lookup_failure_action, [(s, unknown_why(options)) for s, options in gone if s not in backups],
                     fix=UNKNOWN_FIX[any(options.state != "restored" for s, options in gone)])
    plans, batch = [], RemovalBatch(client)
    for selector, options in requests:
        where, user = located.found[selector]
        if where == GONE:
            plans.append(plan_gone(selector, backups.get(selector), unknown, options.state))
        else:
            plans.append(plan_user(batch, selector, where, user, records.get(user["id"]) if user else None,
                                   options))
    return plans, unknown.warnings


UNKNOWN_FIX = {
    True: "check the selector (a user this module purged before is known by its record in backup_dir: is it the "
          "backup_dir of that run?)",
    False: "check the selector",
}
VERB = {"deleted": "delete", "purged": "purge", "restored": "restore"}


def unknown_why(options):
    if options.state == "restored":
        return ("matches no active user nor one in the recycle bin; a purged user cannot be restored, and one deleted "
                "more than 30 days ago is purged")
    return "matches no active or soft-deleted user, and backup_dir %s holds no record of it" % options.backup_dir


def plan_gone(selector, backup, unknown, state):
    """A selector that names no user: already purged when backup_dir has its record, else a
    lookup failure (refused with fail; noted with warn or ignore)."""
    if backup:
        path, record = backup
        return ItemPlan(selector, GONE, note="already purged (record %s)" % path,
                        fields=dict(id=record["user"].get("id"), backup_file=path))
    if unknown.failed:
        return stops_run(ItemPlan(selector, GONE, refusal=unknown.failures[selector]))
    return ItemPlan(selector, GONE, note="%s; nothing to %s" % (unknown.reasons[selector], VERB[state]))


def find_records(backup_dir, selectors):
    """``{selector: (path, record)}``: the newest record in ``backup_dir`` whose user each
    selector names (by object id, UPN, mail or proxy address).  Unreadable files are skipped:
    they are no evidence either way."""
    if not selectors or not backup_dir or not os.path.isdir(backup_dir):
        return {}
    found = {}
    # Newest last: <object id>-<UTC time>.json, compared by the time.
    for name in sorted((n for n in os.listdir(backup_dir) if n.endswith(".json")), key=lambda n: n[-21:]):
        path = os.path.join(backup_dir, name)
        try:
            with open(path, encoding="utf-8") as handle:
                record = json.load(handle)
        except (OSError, ValueError):
            continue
        user = record.get("user") if isinstance(record, dict) else None
        if not isinstance(user, dict):
            continue
        for selector in selectors:
            if names_user(user, selector):
                found[selector] = (path, record)
    return found


def plan_user(batch, selector, where, user, record, options):
    """One user's ItemPlan: the refusal, or the steps to send and where they leave the user.
    The result carries the record's summary; the record itself goes to the backup file only.
    The steps join ``batch`` (a ``RemovalBatch``), sent as the first plan is applied."""
    reasons = data_loss_reasons(user, record["licenses"], options.mail_from_sync) if record else []
    roles = role_reasons(record["roles"]) if record else []
    removal = plan_removal(options.state, where, selector, user, reasons, options.allow_data_loss, roles,
                           options.allow_role_holder_removal)
    fields = dict(id=user["id"] if user else None)
    unnamed = None
    if record is not None and removal.steps:
        fields["record_summary"] = record_summary(record)
        if removal.refusal is None and options.backup_dir:
            unnamed = removal.refusal = unnamed_backup(selector, user["id"])
    sent = None
    if removal.changed and removal.refusal is None:
        sent = batch.add(selector, user["id"], removal.steps, options, record if removal.steps else None)

    def apply(plan):
        batch.send()
        report_removal(plan, sent)

    plan = ItemPlan(selector, where, removal.after, changed=removal.changed, action=removal.action, apply=apply,
                    refusal=removal.refusal, note=removal.note or "already as requested", fields=fields)
    if sent is not None:
        sent.item = plan
    return stops_run(plan) if unnamed else plan


def stops_run(plan):
    """Mark a refusal that is bad input (a selector naming no one, an id that can't name a
    backup): it stops the whole run before any write.  A refusal of the user itself (data to
    lose, a role, a synced user) fails that item alone: its opt-ins are its own (issue 26)."""
    plan.stops_run = True
    return plan


def run_stopped(plans):
    """Whether a refusal among ``plans`` stops the whole run (``stops_run``)."""
    return any(getattr(plan, "stops_run", False) for plan in plans)


def unnamed_backup(selector, user_id):
    """The refusal of a removal whose object id can't name its backup file (not a GUID), or None:
    found when planning, so nothing of the run is written."""
    try:
        backup_name(user_id, "")
    except PrivateFileError as e:
        return "refusing to remove %s: its %s; its record could not be kept, so nothing was written" % (selector, e)
    return None


def report_removal(plan, sent):
    """``plan.after`` where the user's last landed step left it; a step that did not land fails
    the item with where the user is now (``plan.partial`` once one has landed)."""
    plan.after = STEP_RESULT[sent.landed[-1]] if sent.landed else plan.before
    if sent.backup_file:
        plan.fields["backup_file"] = sent.backup_file
    if sent.error is not None:  # the batch sends until every removal is done or stopped
        plan.partial = plan.after != plan.before
        raise StepFailed(sent.error, plan.after)


BACKUP_DIR_FIX = ("Give a folder of this user's that no one else can write (chmod 700); the record of each "
                  "removed user is kept only there.")


def backup_dir_problem(backup_dir):
    """Why ``backup_dir`` can't keep the records (``_report.private_file.folder_problem``: a symlink,
    another user's folder, one others can write, one that can't be made), as an InputError
    message, or None.  Asked before any Graph request, in check mode too."""
    problem = folder_problem(backup_dir)
    if problem:
        return "backup_dir %s can't keep the records (%s): nothing was deleted, no request was sent. %s" % (
            backup_dir, problem, BACKUP_DIR_FIX)
    return None


def prepare_backup_dir(backup_dir):
    """Create ``backup_dir`` (0700, ``_report.private_file.ensure_folder``) and prove it takes a file,
    before the first delete: a backup that can't be written must stop the run, not follow a purge."""
    try:
        ensure_folder(backup_dir)
        probe = tempfile.NamedTemporaryFile(dir=backup_dir, prefix=".probe-")
        probe.close()
    except OSError as e:
        raise InputError("backup_dir %s can't be written (%s): nothing was deleted. %s"
                         % (backup_dir, e.strerror or e, BACKUP_DIR_FIX))
