# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""``converge`` where a refused item fails alone.  Internal to this collection: not a public API.

``_module.converge.converge`` writes nothing when any item is refused.  The write modules whose items
carry their own opt-ins (issue 26) take a chunk of a plan whose links were decided one by one:
a link whose cloud user changed between the plan and the run is refused (it lacks the opt-in
the new state needs), and the other links of the chunk, each checked on its own, still go
ahead.  Every refusal is still found before the first write, check mode still writes nothing,
and the task still fails when an item was refused.
"""

from ansible_collections.syncfix.entra.plugins.module_utils._module.converge import converge, refuse_same_target


class _WithRefused:
    """The module base, whose ``exit_bulk`` puts the refused items back in their places."""

    def __init__(self, base, plans):
        self._base = base
        self._plans = plans

    def __getattr__(self, name):
        return getattr(self._base, name)

    def exit_bulk(self, results, diff=None, **extra):
        applied = iter(results)
        merged = [plan.result(self._base.check_mode) if plan.refusal else next(applied) for plan in self._plans]
        self._base.exit_bulk(merged, diff=diff, **extra)


def converge_per_item(base, plans, describe=None, **extra):
    """``converge(base, plans, describe)``, except that a refused item fails with its reason and
    the others are applied (or, in check mode, reported) as if it were not there.  Two items
    that name one object are refused both, as in ``converge``."""
    refuse_same_target(plans)
    if not any(plan.refusal for plan in plans):
        return converge(base, plans, describe, **extra)
    return converge(_WithRefused(base, plans), [plan for plan in plans if not plan.refusal], describe, **extra)
