# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Taking AD users out of the sync scope and back, as plans: what to write, and why not.

Two ways out, as admins use them:

* ``admin_description``: Entra Connect's out-of-box inbound rule for users ("In from AD - User
  Join") has the scoping filter ``adminDescription NOTSTARTSWITH User_`` (Synchronization Rules
  Editor). A user whose adminDescription starts with ``User_`` is not synchronised. Admins can
  edit that filter, and Cloud Sync has its own scoping filters, so this is Connect's default,
  not a law. We write ``User_syncfix:<previous value>``: the previous value lives in the object
  itself, so the way back restores it exactly (``User_syncfix:`` alone means "there was none").
* ``ou``: a move into an OU that the engine's OU filter leaves out ("Microsoft Entra Connect
  Sync: Configure filtering", OU-based filtering; Cloud Sync: scoping by OU). The original
  parent is recorded (a JSON record file keyed by objectGUID, and the module result).

Leaving the scope: "any objects in Microsoft Entra ID that were previously synchronized but
were then filtered are deleted in Microsoft Entra ID" ("Configure filtering"): soft-deleted for
30 days, DirSyncEnabled switched to False. Coming back, the object is new to the engine and is
matched (hard, then soft) again.

Pure code: no LDAP, no Ansible, no file I/O. The module reads and writes.
"""

import json

from ansible_collections.syncfix.entra.plugins.module_utils._rules import dn as _dn

STATES = ("excluded", "included")
METHODS = ("admin_description", "ou")
# The one owner of Connect's scoping rule and of our marker: the planner (``_plan.planner``), the
# engine model (``_sync.prediction``) and the scan (``_scan.ad``) ask the functions below.
# One case rule for both: the rule's NOTSTARTSWITH compares without case (the rule editor's string
# operators on AD's case-insensitive strings; no Microsoft Learn page we found states otherwise),
# and our own marker is recognised the same way, so a value an admin retyped as ``user_syncfix:``
# is still ours and still out of scope.
EXCLUDE_PREFIX = "User_"
MARKER = "User_syncfix:"
# adminDescription, schema "Admin-Description": Range-Upper 1024.
ADMIN_DESCRIPTION_MAX = 1024
RECORD_VERSION = 1


class ScopeError(ValueError):
    """Invalid input; the message names the item and the fix."""


# -- adminDescription values ------------------------------------------------------------------

def _starts_with(value, prefix):
    """The scoping rule's comparison: a prefix, without case."""
    return (value or "").lower().startswith(prefix.lower())


def excluded_by_admin_description(value, prefixes=(EXCLUDE_PREFIX,)):
    """Whether Connect's default user rule ("In from AD - User Join": adminDescription
    NOTSTARTSWITH ``User_``) skips a user with this adminDescription.  ``prefixes``: an admin's
    own edit of that filter (``_scan.ad``'s exclusions), compared the same way."""
    return any(_starts_with(value, prefix) for prefix in prefixes)


def is_ours(value):
    """Whether this module wrote the value (``User_syncfix:<previous value>``)."""
    return _starts_with(value, MARKER)


def previous_value(value):
    """The value recorded behind our marker; None when there was none."""
    return value[len(MARKER):] or None


# -- distinguished names ----------------------------------------------------------------------

def split_rdns(dn):
    """The RDNs of a DN, honouring backslash escapes (``CN=Doe\\, Ann``); whitespace trimmed."""
    parts, current, escaped = [], [], False
    for char in dn:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            current.append(char)
            escaped = True
        elif char == ",":
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(char)
    parts.append("".join(current).strip())
    if any(not part or "=" not in part for part in parts):
        raise ScopeError("%r is not a distinguished name" % dn)
    return parts


def split_dn(dn):
    """``(rdn, parent)`` of a DN."""
    parts = split_rdns(dn)
    if len(parts) < 2:
        raise ScopeError("%r has no parent" % dn)
    return parts[0], ",".join(parts[1:])


def normal_dn(dn):
    """A DN for comparison (``_rules.dn.dn_key``): AD compares DNs without case, after escapes are
    undone (``\\,`` is ``\\2C``); spaces around separators don't count."""
    try:
        return _dn.dn_key(dn)
    except _dn.DnError as error:
        raise ScopeError(str(error))


def same_dn(a, b):
    return normal_dn(a) == normal_dn(b)


def parent_of(dn):
    return split_dn(dn)[1]


# -- requests ---------------------------------------------------------------------------------

class Request:
    def __init__(self, identity, state):
        self.identity = identity
        self.state = state


def parse_requests(object_=None, objects=None, state=None):
    """``[Request]`` from the module's ``object``/``objects`` and ``state``; ScopeError names every bad item."""
    raw = objects if objects is not None else [dict(object=object_, state=None)]
    requests, problems, seen = [], [], set()
    for index, entry in enumerate(raw):
        identity = (entry.get("object") or "").strip()
        item_state = entry.get("state") or state
        label = identity or "objects[%d]" % index
        if not identity:
            problems.append("%s: no object given" % label)
            continue
        if item_state not in STATES:
            problems.append("%s: no state; give state excluded or included (on the item or the module)" % label
                            if not item_state else "%s: state %r is not excluded or included" % (label, item_state))
            continue
        if identity.lower() in seen:
            problems.append("%s: listed twice" % identity)
            continue
        seen.add(identity.lower())
        requests.append(Request(identity, item_state))
    if problems:
        raise ScopeError("invalid input, nothing was changed: " + "; ".join(problems))
    return requests


def check_options(method, parking_ou=None, target_ou=None, record_path=None):
    """ScopeError naming options given for the other method, or OUs that are not DNs."""
    if method == "admin_description":
        given = [name for name, value in (("parking_ou", parking_ou), ("target_ou", target_ou),
                                          ("record_path", record_path)) if value]
        if given:
            raise ScopeError("%s: only used with method ou; remove it, or set method: ou" % ", ".join(given))
    for name, value in (("parking_ou", parking_ou), ("target_ou", target_ou)):
        if value:
            try:
                split_dn(value)
            except ScopeError as e:
                raise ScopeError("%s: %s; nothing was changed" % (name, e))


def same_object_refusals(resolved):
    """Items that name one AD object twice (by different selectors): ``[message]``.

    ``resolved`` is ``[(identity, dn)]``. Two items on one object would ask for two changes of
    one value, or undo each other; neither is applied.
    """
    by_dn = {}
    for identity, dn in resolved:
        by_dn.setdefault(normal_dn(dn), (dn, []))[1].append(identity)
    return ["%s and %s both name %s; keep one item per object" % (", ".join(names[:-1]), names[-1], dn)
            for key, (dn, names) in sorted(by_dn.items()) if len(names) > 1]


# -- the facts of one object and the plan for it ----------------------------------------------

class ObjectFacts:
    """One AD user as read: DN, objectGUID (text), adminDescription."""

    def __init__(self, dn, guid, admin_description=None):
        self.dn = dn
        self.guid = guid
        self.admin_description = admin_description or None


def describe(dn, admin_description, parking_ou=None):
    """The before/after shape: in scope as far as this module's controls show."""
    parked = parking_ou is not None and same_dn(parent_of(dn), parking_ou)
    return {"in_scope": not excluded_by_admin_description(admin_description) and not parked,
            "admin_description": admin_description, "dn": dn}


# The past-tense verbs a plan's msg starts with, as the write still to come.
_IMPERATIVE = {"moved": "move", "cleared": "clear", "restored": "restore"}


class Plan:
    """What to do with one object. ``refusal`` set: nothing may be written for the whole run."""

    def __init__(self, item, facts, state, method, parking_ou=None):
        self.item = item
        self.facts = facts
        self.state = state
        self.method = method
        self.parking_ou = parking_ou
        self.refusal = None
        self.msg = None
        # admin_description: the value to write (None clears); ou: the new parent.
        self.new_admin_description = facts.admin_description
        self.new_parent = None
        self.record = None          # ou excluded: the record to keep
        self.forget_record = False  # ou included: the record is used up
        self.force = False

    @property
    def after_dn(self):
        if self.new_parent is None:
            return self.facts.dn
        return "%s,%s" % (split_dn(self.facts.dn)[0], self.new_parent)

    @property
    def changed(self):
        return self.refusal is None and (self.new_parent is not None
                                         or self.new_admin_description != self.facts.admin_description)

    @property
    def action(self):
        """``msg`` as the write still to come ("move from ..."), for "would <action>" in check mode."""
        verb, _sep, rest = (self.msg or "").partition(" ")
        return "%s %s" % (_IMPERATIVE.get(verb, verb), rest) if rest else self.msg

    def before(self):
        return describe(self.facts.dn, self.facts.admin_description, self.parking_ou)

    def after(self):
        if not self.changed:
            return self.before()
        return describe(self.after_dn, self.new_admin_description, self.parking_ou)

    def admin_description_changes(self):
        """The modify as a compare-and-swap: delete the value read, add the new one.

        If someone changed adminDescription since it was read, the delete (16 noSuchAttribute) or
        the add of a single-valued attribute (20/19) fails and the caller re-reads and re-plans.
        """
        old, new = self.facts.admin_description, self.new_admin_description
        steps = []
        if old is not None:
            steps.append(("delete", [old]))
        if new is not None:
            steps.append(("add", [new]))
        return {"adminDescription": steps}

    def result(self):
        result = dict(item=self.item, dn=self.facts.dn, changed=self.changed, before=self.before(),
                      after=self.after(), msg=self.refusal or self.msg)
        if self.refusal:
            result["failed"] = True
        if self.record is not None:
            result["record"] = dict(self.record, guid=self.facts.guid)
        return result


def _someone_elses(value):
    return ("adminDescription %r was not written by this module (its values start with %r): an administrator or "
            "another tool set it to keep the user out of Entra Connect's scope (the default 'In from AD - User Join' "
            "rule skips values starting with %r)" % (value, MARKER, EXCLUDE_PREFIX))


def plan_admin_description(item, facts, state, force=False):
    """The plan for method admin_description."""
    plan = Plan(item, facts, state, "admin_description")
    plan.force = force
    value = facts.admin_description
    if state == "excluded":
        if is_ours(value):
            plan.msg = "already out of scope (adminDescription %r, written by this module)" % value
        elif excluded_by_admin_description(value):
            plan.msg = "already out of scope: %s; left as it is" % _someone_elses(value)
        else:
            new = MARKER + (value or "")
            if len(new) > ADMIN_DESCRIPTION_MAX:
                plan.refusal = ("%s: adminDescription is %d characters; with the prefix %r it would exceed the "
                                "attribute's limit of %d (schema Admin-Description, Range-Upper); shorten it or use "
                                "method ou" % (facts.dn, len(value), MARKER, ADMIN_DESCRIPTION_MAX))
            else:
                plan.new_admin_description = new
                plan.msg = ("set adminDescription %r (previous value %s recorded in it)" % (
                    new, repr(value) if value else "none"))
        return plan
    # included
    if is_ours(value):
        restored = previous_value(value)
        if excluded_by_admin_description(restored) and not force:
            plan.refusal = ("%s: adminDescription %r records the previous value %r, which itself starts with %r, so "
                            "restoring it leaves the user out of scope; set force: true to clear adminDescription "
                            "instead" % (facts.dn, value, restored, EXCLUDE_PREFIX))
        elif excluded_by_admin_description(restored):
            plan.new_admin_description = None
            plan.msg = "cleared adminDescription %r (force; the recorded value %r would keep it out)" % (
                value, restored)
        else:
            plan.new_admin_description = restored
            plan.msg = ("restored adminDescription %r" % restored if restored
                        else "cleared adminDescription (it had none before)")
    elif excluded_by_admin_description(value):
        if force:
            plan.new_admin_description = None
            plan.msg = "cleared adminDescription %r (force); %s" % (value, _someone_elses(value))
        else:
            plan.refusal = ("%s: %s. Bringing it back would undo someone else's decision; ask who set it, then set "
                            "force: true to clear it" % (facts.dn, _someone_elses(value)))
    else:
        plan.msg = "already in scope (adminDescription %s)" % (repr(value) if value else "empty")
    return plan


def record_entry(facts, now):
    """What the record file keeps for one parked object; ``now`` an ISO 8601 UTC time."""
    return {"dn": facts.dn, "parent": parent_of(facts.dn), "time": now}


def plan_ou(item, facts, state, parking_ou, target_ou=None, record=None, now=None):
    """The plan for method ou. ``record`` is the record file's entry for this object, if any."""
    plan = Plan(item, facts, state, "ou", parking_ou=parking_ou)
    parked = same_dn(parent_of(facts.dn), parking_ou)
    if state == "excluded":
        if parked:
            plan.msg = "already in %s" % parking_ou
            if record is None:
                plan.msg += " (no record of where it came from: bringing it back needs target_ou)"
            else:
                plan.msg += " (came from %s)" % record["parent"]
        else:
            plan.new_parent = parking_ou
            plan.record = record_entry(facts, now)
            plan.msg = "moved from %s to %s" % (plan.record["parent"], parking_ou)
        return plan
    # included
    if not parked:
        plan.msg = "already outside %s" % parking_ou
        return plan
    if target_ou:
        destination, source = target_ou, "target_ou"
    elif record is not None:
        destination, source = record["parent"], "the record of %s" % record.get("time", "an earlier run")
    else:
        plan.refusal = ("%s is in %s and no record says where it came from (no record_path given, or no entry for "
                        "objectGUID %s in it); give target_ou: the OU to move it back to" % (
                            facts.dn, parking_ou, facts.guid))
        return plan
    if same_dn(destination, parking_ou):
        plan.refusal = "%s: the way back (%s, from %s) is the parking OU itself" % (facts.dn, destination, source)
        return plan
    plan.new_parent = destination
    plan.forget_record = record is not None
    plan.msg = "moved back from %s to %s (from %s)" % (parking_ou, destination, source)
    return plan


def destination_refusals(plans, existing_dns, existing_parents):
    """Moves that would fail: the new DN is taken (in AD or by another item), or the OU is missing.

    ``existing_dns``: normalised DNs among the planned new DNs that AD already has;
    ``existing_parents``: normalised DNs among the destination OUs that AD has as an OU or container.
    Returns ``{item: message}``.
    """
    refusals, taken = {}, {}
    for plan in plans:
        if plan.new_parent is None:
            continue
        key = normal_dn(plan.after_dn)
        if normal_dn(plan.new_parent) not in existing_parents:
            refusals[plan.item] = ("%s: the OU %s does not exist (or is not an OU or container); create it or "
                                   "give another" % (plan.facts.dn, plan.new_parent))
        elif key in existing_dns:
            refusals[plan.item] = "%s: %s already exists; rename one of them first" % (plan.facts.dn, plan.after_dn)
        elif key in taken:
            refusals[plan.item] = "%s: %s would also be the new name of %s; rename one of them first" % (
                plan.facts.dn, plan.after_dn, taken[key])
        else:
            taken[key] = plan.facts.dn
    return refusals


# -- the record file --------------------------------------------------------------------------

def load_records(text):
    """``{guid: {dn, parent, time}}`` from the record file's text (empty text: no records)."""
    if not text.strip():
        return {}
    try:
        document = json.loads(text)
    except ValueError as e:
        raise ScopeError("is not JSON (%s)" % e)
    if not isinstance(document, dict) or not isinstance(document.get("objects"), dict):
        raise ScopeError("is not a sync scope record (no 'objects' mapping)")
    if document.get("version") != RECORD_VERSION:
        raise ScopeError("has version %r; this module reads version %d" % (document.get("version"), RECORD_VERSION))
    records = {}
    for guid, entry in document["objects"].items():
        if not isinstance(entry, dict) or not entry.get("parent") or not entry.get("dn"):
            raise ScopeError("entry %s has no dn or parent" % guid)
        records[guid.lower()] = entry
    return records


def dump_records(records):
    """The record file's text: stable (sorted keys), one object per GUID."""
    return json.dumps({"version": RECORD_VERSION, "objects": records}, indent=2, sort_keys=True) + "\n"


def updated_records(records, plans, done):
    """The records after the plans in ``done`` (a set of items) were carried out."""
    records = dict(records)
    for plan in plans:
        if plan.item not in done:
            continue
        if plan.record is not None:
            records[plan.facts.guid.lower()] = plan.record
        elif plan.forget_record:
            records.pop(plan.facts.guid.lower(), None)
    return records


# -- diff -------------------------------------------------------------------------------------

def diff_entry(plan, side):
    """``(dn, {attribute: value})`` of one changed object on one side of the diff: where it
    lives (``dn``) for the OU method, its ``adminDescription`` otherwise."""
    if plan.method == "ou":
        return plan.facts.dn, {"dn": plan.facts.dn if side == "before" else plan.after_dn}
    value = plan.facts.admin_description if side == "before" else plan.new_admin_description
    return plan.facts.dn, {"adminDescription": value}
