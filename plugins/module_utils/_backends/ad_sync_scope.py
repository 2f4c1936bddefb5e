# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ad_sync_scope's edges: reading users and OUs from AD, carrying out a ``_rules.sync_scope`` plan
over LDAP, and the record file on the controller (written by the one private-file writer,
``_report.private_file``).  Internal to this collection: not a public API.

No Ansible imports; the rules themselves are in ``_rules.sync_scope``.
"""

import datetime
import os

from ansible_collections.syncfix.entra.plugins.module_utils._rules import sync_scope as scope
from ansible_collections.syncfix.entra.plugins.module_utils._ldap import objects as ad_objects
from ansible_collections.syncfix.entra.plugins.module_utils._module.converge import ItemPlan
from ansible_collections.syncfix.entra.plugins.module_utils._report.private_file import file_problem, write_private
from ansible_collections.syncfix.entra.plugins.module_utils._rules.anchor import SourceAnchor
from ansible_collections.syncfix.entra.plugins.module_utils._ldap.client import (
    RESULT_ATTRIBUTE_OR_VALUE_EXISTS, RESULT_NO_SUCH_ATTRIBUTE, LdapError,
)

ATTRIBUTES = ["adminDescription", "objectGUID"]
RESULT_CONSTRAINT_VIOLATION = 19  # a second value added to a single-valued attribute
CONTAINER_CLASSES = frozenset(("organizationalunit", "container", "domaindns"))


# -- reading AD -----------------------------------------------------------------------------------

def read_by_guid(directory, guid):
    """The current entry of the object with this objectGUID, or None."""
    anchor = SourceAnchor.from_guid(guid)
    entries = list(directory.search("(objectGUID=%s)" % anchor.ldap_filter_value, ATTRIBUTES))
    return entries[0] if entries else None


def existing_dns(directory, dns):
    """``(existing, containers)``: the normalised DNs among ``dns`` that exist, and those of them
    that can hold users (OU, container, domain); one search per LOOKUP_CHUNK DNs."""
    existing, containers, dns = set(), set(), sorted(set(dns))
    for start in range(0, len(dns), ad_objects.LOOKUP_CHUNK):
        chunk = dns[start:start + ad_objects.LOOKUP_CHUNK]
        search_filter = "(|%s)" % "".join("(distinguishedName=%s)" % ad_objects.escape_filter_value(dn)
                                          for dn in chunk)
        for entry in directory.search(search_filter, ["objectClass"]):
            key = scope.normal_dn(entry["dn"])
            existing.add(key)
            if CONTAINER_CLASSES & set(c.lower() for c in entry["attributes"].get("objectClass") or []):
                containers.add(key)
    return existing, containers


def single(value):
    if isinstance(value, list):
        return value[0] if value else None
    return value or None


def facts_of(entry):
    raw = single(entry["raw"].get("objectGUID"))
    return scope.ObjectFacts(entry["dn"], str(SourceAnchor.from_bytes(raw).guid),
                             single(entry["attributes"].get("adminDescription")))


def now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- planning -------------------------------------------------------------------------------------

def plan_for(request, facts, params, records):
    if params["method"] == "ou":
        return scope.plan_ou(request.identity, facts, request.state, params["parking_ou"], params["target_ou"],
                             records.get(facts.guid.lower()), now())
    return scope.plan_admin_description(request.identity, facts, request.state, params["force"])


def refusals_of(directory, plans):
    """``{item: reason}``: the plans' own refusals, else the moves AD would refuse (taken name,
    missing OU), found by reading AD once before any write."""
    refusals = dict((p.item, p.refusal) for p in plans if p.refusal)
    moves = [p for p in plans if p.new_parent is not None]
    if moves and not refusals:
        present, containers = existing_dns(directory, [p.after_dn for p in moves] + [p.new_parent for p in moves])
        refusals = scope.destination_refusals(moves, present, containers)
    return refusals


# -- writing AD -----------------------------------------------------------------------------------

def apply(directory, plan):
    """Carry out one plan; on a conflict with a concurrent change (16/19/20) re-read, re-plan once."""
    if plan.method == "ou":
        directory.move(plan.facts.dn, plan.new_parent)
        return plan
    try:
        directory.modify(plan.facts.dn, plan.admin_description_changes())
        return plan
    except LdapError as e:
        if e.code not in (RESULT_NO_SUCH_ATTRIBUTE, RESULT_ATTRIBUTE_OR_VALUE_EXISTS, RESULT_CONSTRAINT_VIOLATION):
            raise
    fresh = read_by_guid(directory, plan.facts.guid)
    if fresh is None:
        raise LdapError("%s disappeared while it was being modified" % plan.facts.dn)
    replanned = scope.plan_admin_description(plan.item, facts_of(fresh), plan.state, plan.force)
    if replanned.refusal:
        raise LdapError("adminDescription changed while it was planned; now: %s" % replanned.refusal)
    if replanned.changed:
        directory.modify(replanned.facts.dn, replanned.admin_description_changes())
    replanned.msg += " (after re-reading: the object changed while it was planned)"
    return replanned


def outcome_after_failure(directory, plan, error):
    """After a failed write: was it applied? Re-read the object to say done or untouched."""
    if error.code is not None:  # the server answered and refused: nothing was applied
        return False, "%s; nothing was changed on it" % error
    try:
        fresh = read_by_guid(directory, plan.facts.guid)
    except LdapError as e:
        return False, "%s; could not re-read it to see whether it was applied (%s): check it before running again" % (
            error, e)
    if fresh is not None:
        done = (scope.same_dn(fresh["dn"], plan.after_dn) and single(fresh["attributes"].get("adminDescription"))
                == plan.new_admin_description)
        if done:
            return True, "done (confirmed by re-reading after: %s)" % error
    return False, "%s; re-read: not applied" % error


def item_plan(directory, plan, refusal, record_file):
    """One user's ``_module.converge.ItemPlan`` from its scope plan (``refusal``: why it may not be
    written, or None); its write is ``apply``, and ``record_file`` learns what landed."""
    fields = dict(dn=plan.facts.dn)
    if plan.record is not None and not refusal:
        fields["record"] = dict(plan.record, guid=plan.facts.guid)

    def write(item):
        try:
            applied = apply(directory, plan)
        except LdapError as e:
            applied_anyway, msg = outcome_after_failure(directory, plan, e)
            record_file.after(plan, applied_anyway)
            if not applied_anyway:
                item.fields.pop("record", None)
                raise LdapError(msg, e.code)
            item.msg = msg
            return
        record_file.after(plan, True)
        item.changed, item.after, item.msg = applied.changed, applied.after(), applied.msg

    item = ItemPlan(plan.item, plan.before(), plan.after(), changed=plan.changed, action=plan.action, apply=write,
                    refusal=refusal, note=plan.msg, fields=fields)
    item.scope_plan = plan
    return item


# -- the record file ------------------------------------------------------------------------------

def read_records(path):
    if not path or not os.path.exists(path):
        return {}
    with open(path) as handle:
        return scope.load_records(handle.read())


def load_record_file(path):
    """The records in ``path`` (none without a path); ScopeError names the file and the fix.
    A path the record can't be written to privately (a symlink, a folder others can write or
    another user owns) is refused here, before anything is read or written, in check mode too:
    a planted record would send users to someone else's OU."""
    problem = file_problem(path) if path else None
    if problem:
        raise scope.ScopeError("record_path %s can't hold the record (%s); nothing was changed" % (path, problem))
    try:
        return read_records(path)
    except scope.ScopeError as e:
        raise scope.ScopeError("record_path %s %s; fix or move the file, nothing was changed" % (path, e))
    except (IOError, OSError) as e:
        raise scope.ScopeError("record_path %s can't be read (%s); nothing was changed" % (path, e))


def write_records(path, records):
    """Replace the record file through the private-file writer: 0600 (it maps users to OUs,
    nobody else's business), synced before the move it records, never through a symlink, the old
    file kept when the write fails.  OSError (PrivateFileError is one) when it can't be written."""
    write_private(path, scope.dump_records(records))


class RecordFile:
    """The record file kept in step with the moves of one run.

    The converge engine exits the module when the last item is done, so there is no "after all
    moves" to write in: the file is written ahead (every parked user's original OU on disk before
    the first move, so a run that dies half-way still knows where each came from) and rewritten
    after every move (atomic, cheap at this scale), keeping the records of moves done or still to
    come and dropping those of moves that failed.
    """

    def __init__(self, path, records, plans, warn):
        self.path = path
        self.records = records
        self.plans = plans
        self.warn = warn
        self.done = set()
        self.attempted = set()
        self.warned = False
        self.wanted = bool(path) and any(p.record is not None or p.forget_record for p in plans)

    def _kept(self):
        pending = set(p.item for p in self.plans if p.record is not None and p.item not in self.attempted)
        return scope.updated_records(self.records, self.plans, self.done | pending)

    def write_ahead(self):
        """Before the first move; OSError means nothing may be moved."""
        if self.wanted and any(p.record is not None for p in self.plans):
            write_records(self.path, self._kept())

    def after(self, plan, done):
        """After ``plan``'s write was tried; ``done`` whether it landed."""
        self.attempted.add(plan.item)
        if done:
            self.done.add(plan.item)
        if not self.wanted:
            return
        try:
            write_records(self.path, self._kept())
        except (IOError, OSError) as e:
            if self.warned:
                return
            self.warned = True
            self.warn("record_path %s could not be updated after the moves (%s); the records are in "
                      "results[].record" % (self.path, e))
