# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the sync-conflict scan reports: one ``finding`` per problem, on one object and one
attribute.  Internal to this collection: not a public API.

The AD rules (``_scan.ad``), the cloud rules (``_scan.cloud``) and the reports
(``_report.scan``) all speak this shape, so a report never needs to know which rule found
what.  The proposed action uses IdFix's words ("Errors supported by the IdFix tool"): EDIT the
value to the proposed update, REMOVE the value, or COMPLETE (nothing to change here; an
administrator decides, or the fix is on the other side).  Pure code: no I/O.
"""

ERROR, WARNING, INFO = "error", "warning", "info"
SEVERITIES = (ERROR, WARNING, INFO)

EDIT, REMOVE, COMPLETE = "EDIT", "REMOVE", "COMPLETE"
ACTIONS = (EDIT, REMOVE, COMPLETE)

AD, CLOUD = "ad", "cloud"

# A rule both sides report: one UPN or SMTP address held by two objects, which Entra keeps unique
# tenant-wide across users, groups and contacts ("Identity synchronization and duplicate
# attribute resiliency").  The AD side finds two AD objects (``_scan.ad``); the cloud side a cloud
# group or contact holding an AD user's address where the engine model says the export meets the
# duplicate (``_scan.cloud``).
DUPLICATE_ADDRESS = "duplicate_address"

# The keys of every finding, in report column order.
FIELDS = ("severity", "rule", "side", "object", "object_class", "common_name", "attribute", "value",
          "conflicts_with", "action", "update", "message", "link")


def finding(rule, severity, side, obj, attribute, value, message, action=COMPLETE, update=None,
            conflicts_with=None, object_class=None, common_name=None, link=None):
    """One finding as a plain dict (it goes to Ansible's result and to JSON as it is).

    ``obj`` is a DN (side ``ad``) or a cloud object id (side ``cloud``); ``conflicts_with`` is
    the object in the way (DN or cloud id); ``link`` is the ``remediation_links`` entry
    (``{"ad": ..., "cloud": ...}``) that fixes it, when it is a link problem."""
    if severity not in SEVERITIES:
        raise ValueError("severity must be one of %s, not %r" % (", ".join(SEVERITIES), severity))
    if action not in ACTIONS:
        raise ValueError("action must be one of %s, not %r" % (", ".join(ACTIONS), action))
    if side not in (AD, CLOUD):
        raise ValueError("side must be ad or cloud, not %r" % side)
    return dict(severity=severity, rule=rule, side=side, object=obj, object_class=object_class,
                common_name=common_name, attribute=attribute, value=value, conflicts_with=conflicts_with,
                action=action, update=update, message=message, link=link)


def counts_by_rule(findings):
    """``{rule: count}`` over any iterable of findings, rules sorted."""
    counts = {}
    for item in findings:
        counts[item["rule"]] = counts.get(item["rule"], 0) + 1
    return dict(sorted(counts.items()))
