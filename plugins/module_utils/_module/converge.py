# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""One converge engine for every write module.  Internal to this collection: not a public API.

A module plans one ``ItemPlan`` per item (what is there, what must be, the write that gets
there, or the refusal that stops it) and hands the list to ``converge``, which owns the rest
the same way in every module:

1. any refusal: nothing is written; the refused items fail with their reason, the others say
   what they would have done and that nothing was (in check mode the diff still shows them).  Two items that resolve to one object (a
   UPN and the same user's object id, a sAMAccountName and the same user's DN) are refused
   both: their writes would race and the last one would win;
2. check mode: every item says what it would do, with the diff; nothing is written;
3. otherwise each changed item's write runs; a failure fails that item (with ``error``), the
   others go on, and the summary names what was done, what failed and what was untouched; the
   diff shows the writes that landed.

With ``refused_fail_alone`` (the write modules whose items carry their own opt-ins, issue 26)
step 1 is different: the refused items fail alone and the others go on to step 2 or 3.

``link_plan`` runs the same plans through ``plan_results`` without ever applying them, so the
plan it shows is exactly what the write modules would do.
"""

from ansible_collections.syncfix.entra.plugins.module_utils._rules.dn import dn_key
from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import SyncfixError, error_details

NOT_DONE_BECAUSE_REFUSED = "nothing was written because another item was refused"


class ItemPlan:
    """One item's planned change.

    ``action`` names the write ("set mS-DS-ConsistencyGuid"); the result's ``msg`` is
    ``action`` once done and "would <action>" in check mode.  ``note`` is the ``msg`` of an
    item that needs no change.  ``apply`` performs the write; it may update ``after``, ``msg``
    and ``fields`` as it learns more, and must set ``partial`` before raising when part of the
    write already landed.  ``fields`` are extra result keys (``dn``, ``id``, ...).

    ``target`` is the object the item resolved to; left out, the ``id`` field (Graph) or the
    ``dn`` field (AD, compared as a DN: ``_rules.dn.dn_key``).  Items without one are never compared.
    """

    def __init__(self, item, before=None, after=None, changed=False, action=None, apply=None, refusal=None,
                 note="already as requested", fields=None, target=None):
        self.item = item
        self.before = before
        self.after = after if changed else before
        self.changed = bool(changed) and refusal is None
        self.action = action
        self.apply = apply
        self.refusal = refusal
        self.note = note
        self.fields = dict(fields or {})
        self.msg = None
        self.partial = False
        self.target = target or self.fields.get("id") or (dn_key(self.fields["dn"]) if self.fields.get("dn") else None)

    def refuse(self, reason):
        self.refusal, self.changed, self.after = reason, False, self.before

    def result(self, check_mode=False):
        result = dict(item=self.item, changed=self.changed, before=self.before, after=self.after)
        result.update(self.fields)
        if self.refusal:
            result.update(failed=True, changed=False, after=self.before, msg=self.refusal,
                          error={"kind": "refused", "message": self.refusal})
        elif self.changed:
            result["msg"] = self.msg or (("would %s" if check_mode else "%s") % self.action)
        else:
            result["msg"] = self.msg or self.note
        return result


def refuse_same_target(plans):
    """Refuse every item that names an object another item names too, naming the others."""
    by_target = {}
    for plan in plans:
        if plan.target:
            by_target.setdefault(plan.target, []).append(plan)
    for target, named in by_target.items():
        if len(named) < 2:
            continue
        for plan in named:
            others = ", ".join(repr(other.item) for other in named if other is not plan)
            plan.refuse("%r and %s name the same object (%s): name each object once, so that one "
                        "write decides it" % (plan.item, others, target))
    return plans


def plan_results(plans, check_mode=True):
    """The results ``converge`` would return before writing: the shape ``link_plan`` shows."""
    return [plan.result(check_mode) for plan in refuse_same_target(plans)]


def diff_of(plans, describe):
    """``{before, after}``, structured: each changed plan's ``describe(plan, side)`` gives
    ``(object, {attribute: value})``, keyed by the object (a UPN, a DN); an attribute that is
    not set is left out rather than shown as null.  Never None: nothing changed is ``{}``."""
    before, after = {}, {}
    for plan in plans:
        if plan.changed:
            for side, into in (("before", before), ("after", after)):
                key, values = describe(plan, side)
                into[key] = dict((name, value) for name, value in values.items() if value is not None)
    return dict(before=before, after=after)


def _refused(plans):
    results = []
    for plan in plans:
        result = plan.result(check_mode=True)
        if not plan.refusal:
            if plan.changed:
                result["msg"] = "%s; %s" % (result["msg"], NOT_DONE_BECAUSE_REFUSED)
            result.update(changed=False, after=plan.before)
        results.append(result)
    return results


def apply_plan(plan):
    """Run one plan's write; a failure marks the plan failed instead of raising."""
    try:
        plan.apply(plan)
        return None
    except (SyncfixError, OSError) as error:
        return error


def converge(base, plans, describe=None, refused_fail_alone=False, **extra):
    """Refuse, report (check mode) or apply ``plans``, then exit the module (see module doc).
    ``describe(plan, side)`` shapes the diff (see ``diff_of``).

    With ``refused_fail_alone`` a refused item fails with its reason and the others are applied
    (or, in check mode, reported) as if it were not there.  The write modules whose items carry
    their own opt-ins (issue 26) take a chunk of a plan whose links were decided one by one: a
    link whose cloud user changed between the plan and the run is refused (it lacks the opt-in
    the new state needs), and the other links of the chunk, each checked on its own, still go
    ahead.  Every refusal is still found before the first write, check mode still writes
    nothing, the task still fails when an item was refused, and two items that name one object
    are still refused both."""
    refuse_same_target(plans)
    if any(plan.refusal for plan in plans) and not refused_fail_alone:
        # Nothing is written; check mode still shows what the others would change once the
        # refusals are resolved.
        diff = diff_of(plans, describe) if describe else None
        if diff is not None and not base.check_mode:
            diff = dict(before={}, after={})
        return base.exit_bulk(_refused(plans), diff=diff, **extra)
    going = [plan for plan in plans if not plan.refusal]
    if base.check_mode:
        results, shown = [plan.result(check_mode=True) for plan in going], going
    else:
        results = [_applied(plan) for plan in going]
        # The diff shows the writes that landed.
        shown = _landed(going, results)
    done = iter(results)
    results = [plan.result(base.check_mode) if plan.refusal else next(done) for plan in plans]
    return base.exit_bulk(results, diff=diff_of(shown, describe) if describe else None, **extra)


def _applied(plan):
    """One plan's result once its write (if any) ran; a failed write fails the item."""
    error = apply_plan(plan) if plan.changed else None
    result = plan.result(check_mode=False)
    if error is not None:
        text = getattr(error, "describe", lambda: str(error))()
        result.update(failed=True, changed=plan.partial, msg=text, error=error_details(error))
        if not plan.partial:
            result["after"] = plan.before
    return result


def _landed(plans, results):
    """The plans whose write landed, whole or in part: a failed write is not in the diff."""
    return [plan for plan, result in zip(plans, results) if result.get("changed")]
