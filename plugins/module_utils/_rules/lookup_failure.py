# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a module does with selectors that name no object: ``lookup_failure_action``.
Internal to this collection: not a public API.

A selector that matches nothing is most often a typo, and a task that goes on without it
reports success for work it never did; so it fails by default, and a user who means "if it is
there" says so (``warn`` or ``ignore``), as microsoft.ad's ``lookup_failure_action`` does.
The option is documented once, in the ``syncfix.entra.lookup`` doc fragment; its argument spec
is ``lookup_failure_spec()``; ``decide`` is pure and turns the unknown selectors into the
failure and warning texts.
"""

FAIL, WARN, IGNORE = "fail", "warn", "ignore"
ACTIONS = (FAIL, WARN, IGNORE)
OPT_OUT = "or set lookup_failure_action: warn (or ignore) if a missing object is expected"


def lookup_failure_spec():
    """The argument spec of ``lookup_failure_action``, to merge into a module's spec."""
    return dict(lookup_failure_action=dict(type="str", choices=list(ACTIONS), default=FAIL))


class LookupDecision:
    """What to do with the unknown selectors of one run.

    ``reasons`` is ``{selector: why}`` whatever the action; ``failures`` is ``{selector:
    message}`` when the action is fail (empty otherwise), each naming the selector, why and the
    way out; ``warnings`` are the warning texts when the action is warn."""

    def __init__(self, action, unknown, fix):
        self.action = action
        self.reasons = dict(unknown)
        self.failures = dict((s, "%s: %s; %s, %s" % (s, why, fix, OPT_OUT)) for s, why in unknown) \
            if action == FAIL else {}
        self.warnings = ["%s: %s; going on without it (lookup_failure_action: warn)" % (s, why) for s, why in unknown] \
            if action == WARN else []

    @property
    def failed(self):
        return bool(self.failures)

    def summary(self):
        """One line naming every unknown selector, for a task that fails as a whole."""
        return "; ".join(self.failures.values())


def decide(action, unknown, fix="check the selector"):
    """``unknown`` is ``[(selector, why)]`` in order (``why``: "matches no user", "matches several
    users (a, b)"); returns the LookupDecision.  ``fix`` is the way out a failure names."""
    if action not in ACTIONS:
        raise ValueError("lookup_failure_action must be one of %s, not %r" % (", ".join(ACTIONS), action))
    return LookupDecision(action, list(unknown), fix)
