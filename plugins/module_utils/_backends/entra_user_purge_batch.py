# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Every user's removal steps of one ``entra_user_purge`` run, sent through Graph ``$batch``.
Internal to this collection: not a public API.

Sent one request at a time, 800 purges take 800 round trips and spend the write quota only at
the pace of those round trips, so the writes after them meet a quota still full of them.
Through ``$batch`` they go 20 per envelope, paced under the quota by ``_graph.client``.

Each user's order holds: a step goes out for every user at once (all the soft-deletes, then
all the purges, then all the restores) and a user goes on to its next step only once the one
before landed.  Every record is in its backup file, synced to disk, before the first step of the
run is sent; when one can't be written, no step is sent and the records this run wrote are taken
back (nobody was removed).  When an
envelope's answer is lost, its users are read back (``settle``): a step that landed is done,
one that did not is sent again, up to ``RESENDS`` times, so none lands twice.  A purge right
after this run's own soft-delete may meet a 404 while the recycle bin catches up (the
directory is eventually consistent); those wait ``RECYCLE_BIN_WAITS`` and go again.  A failure
leaves each user where its last landed step put it, and says so.
"""

import datetime
import json
import os
import time

from ansible_collections.syncfix.entra.plugins.module_utils._graph import directory
from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import SyncfixError
from ansible_collections.syncfix.entra.plugins.module_utils._report.private_file import checked_guid, write_private
from ansible_collections.syncfix.entra.plugins.module_utils._graph.client import GraphError, NotWritten, OutcomeUnknown
from ansible_collections.syncfix.entra.plugins.module_utils._rules.user_removal import ACTIVE, GONE

OPERATION = {"soft_delete": "soft-delete user", "purge": "purge user", "restore": "restore user"}


class BackupNotWritten(SyncfixError):
    """A backup that could not be written: no step of the run was sent."""

    kind = "backup"


class Removal:
    """One user's steps and what became of them: the steps that landed, the backup file, the
    error that stopped it (None once every step landed)."""

    def __init__(self, label, user_id, steps, options, record=None):
        self.label = label
        self.user_id = user_id
        self.steps = list(steps)
        self.options = options
        self.record = record
        self.landed = []
        self.backup_file = None
        self.error = None
        self.item = None  # the ItemPlan this removal carries out, once planned

    @property
    def refused(self):
        """Its item was refused after planning (two items naming one user): never sent."""
        return self.item is not None and bool(self.item.refusal)

    @property
    def waiting_for(self):
        """The step to send next, or None when done or stopped."""
        if self.error is not None or len(self.landed) == len(self.steps):
            return None
        return self.steps[len(self.landed)]

    def request(self):
        step = self.waiting_for
        if step == "soft_delete":
            return {"method": "DELETE", "url": "/users/%s" % self.user_id}
        if step == "purge":
            return {"method": "DELETE", "url": "/directory/deletedItems/%s" % self.user_id}
        body = {"autoReconcileProxyConflict": self.options.auto_reconcile_proxy_conflict}
        if self.options.new_user_principal_name:
            body["newUserPrincipalName"] = self.options.new_user_principal_name
        return {"method": "POST", "url": "/directory/deletedItems/%s/restore" % self.user_id, "body": body}

    def purge_not_in_bin_yet(self):
        """A purge answered 404 just after this run soft-deleted the user."""
        return (isinstance(self.error, GraphError) and self.error.status == 404 and "soft_delete" in self.landed
                and self.steps[len(self.landed)] == "purge")


class RemovalBatch:
    """The removals of one run, sent together when the first of them is applied."""

    def __init__(self, client, resends=directory.RESENDS, waits=directory.RECYCLE_BIN_WAITS):
        self.client = client
        self.resends = resends
        self.waits = waits
        self.removals = []
        self.sent = False

    def add(self, label, user_id, steps, options, record=None):
        removal = Removal(label, user_id, steps, options, record)
        self.removals.append(removal)
        return removal

    def send(self):
        if self.sent:
            return
        self.sent = True
        try:
            self._send_all()
        except SyncfixError as error:
            # A failure that stops the run (the token, a read-back): whatever was not settled
            # stays where its last landed step left it, and says why.
            for removal in self.removals:
                if removal.waiting_for is not None:
                    removal.error = error

    def _send_all(self):
        # Items are refused alone (issue 26): one refused after planning must not go out with the others.
        self.removals = [r for r in self.removals if not r.refused]
        if not self._write_backups():
            return
        while True:
            stage = [r for r in self.removals if r.waiting_for is not None]
            if not stage:
                return
            self._send_settled(stage)
            self._wait_for_the_recycle_bin([r for r in stage if r.purge_not_in_bin_yet()])

    def _write_backups(self):
        """Every record into its backup file before any step is sent; False (each removal
        stopped, the files written by this run removed) when one can't be written."""
        stamp = utc_stamp()
        written = []
        for removal in self.removals:
            if removal.options.backup_dir and removal.record is not None:
                try:
                    removal.backup_file = write_backup(removal.options.backup_dir, removal.record, stamp)
                except OSError as error:
                    self._stop_before_sending(removal, error, written)
                    return False
                written.append(removal)
        return True

    def _stop_before_sending(self, failed, error, written):
        for removal in written:
            os.unlink(removal.backup_file)
            removal.backup_file = None
        why = "the record of %s could not be written to backup_dir %s (%s)" % (
            failed.label, failed.options.backup_dir, getattr(error, "strerror", None) or error)
        for removal in self.removals:
            removal.error = BackupNotWritten("%s%s; no user was removed" % (
                why, "" if removal is failed else ", so nothing was sent for %s" % removal.label))

    def _send_settled(self, removals):
        """Send each removal's next step once; a step read back as not carried out goes again
        (``_graph.directory.send_settled``)."""
        directory.send_settled(self.client, removals, Removal.request, _answered, self._settle_lost, lost=GraphError,
                               on_resend=_resending, resends=self.resends)

    def _wait_for_the_recycle_bin(self, late):
        for wait in self.waits:
            if not late:
                return
            time.sleep(wait)
            for removal in late:
                removal.error = None
            self._send_settled(late)
            late = [r for r in late if r.purge_not_in_bin_yet()]
        for removal in late:
            error = removal.error
            removal.error = GraphError(error.status, error.code, "%s; the user was soft-deleted but did not appear in "
                                       "the recycle bin within %d s: run the task again to purge it"
                                       % (error.message, sum(self.waits)), error.request_id, error.operation,
                                       error.target)

    def _settle_lost(self, removals, lost):
        """The removals of an envelope whose answer was lost, each read back (``settle``)."""
        outcomes = []
        for removal in removals:
            step = removal.waiting_for
            try:
                settle(self.client, step, removal.user_id, removal.label, lost)
                removal.landed.append(step)
                outcomes.append(None)
            except OutcomeUnknown as error:
                removal.error = error
                outcomes.append(error)
        return outcomes


def _answered(removal, answer):
    """One removal's step answered: landed, or stopped with the answer's error."""
    step = removal.waiting_for
    removal.error = directory.answer_error(answer, OPERATION[step], removal.label)
    if removal.error is None:
        removal.landed.append(step)
    return removal.error


def _resending(removal):
    """Its step read back as not carried out goes again: no error until it is answered."""
    removal.error = None


def settle(client, step, user_id, label, lost):
    """A step whose answer was lost: read where the user is, and go on only if the step landed
    (NotWritten when it did not).  Sending it blindly again could misread the second answer (a
    404 for a delete that landed)."""
    try:
        where = directory.where_is(client, user_id, label)
    except SyncfixError as unread:
        raise OutcomeUnknown(None, "OutcomeUnknown", "%s; reading the user back failed too (%s): run the task "
                             "again, it reads before it writes" % (lost.message, unread), None,
                             lost.operation or OPERATION[step], label)
    # Just after a delete, the user can be in neither place for a moment (eventual consistency).
    landed = {"soft_delete": where != ACTIVE, "purge": where == GONE, "restore": where == ACTIVE}[step]
    if not landed:
        raise NotWritten(None, "NotWritten", "not done: %s (reading the user back shows it %s)" % (lost.message, where),
                         None, OPERATION[step], label)


def utc_stamp():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def backup_name(user_id, stamp):
    """``<object id>-<UTC time>.json``; the id must be a GUID (PrivateFileError otherwise), as
    anything else in a file name could climb out of backup_dir."""
    return "%s-%s.json" % (checked_guid(user_id, "object id"), stamp)


def write_backup(backup_dir, record, stamp=None):
    """Write ``record`` to ``<backup_dir>/<object id>-<UTC time>.json`` through the private-file
    writer (0600 in a 0700 folder, synced to disk before it returns: it holds personal data and is
    the only copy of what a purge destroys); returns the path."""
    path = os.path.join(backup_dir, backup_name(record["user"]["id"], stamp or utc_stamp()))
    return write_private(path, json.dumps(record, indent=2, sort_keys=True))
