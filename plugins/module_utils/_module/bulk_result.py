# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The one result shape of every list-taking module.

``results: [{item, changed, before, after, msg}]`` and a top-level ``changed``; any failed item
fails the task with a message that names the failed items and says which items were done and
which were left untouched, so a re-run after fixing the cause is safe and its effect known.
"""


def summary(results):
    """The failure line for ``results``, or None when no item failed."""
    failed = [r for r in results if r.get("failed")]
    if not failed:
        return None
    msg = "%d of %d items failed: %s" % (len(failed), len(results), "; ".join(
        "%s: %s" % (r["item"], r["msg"]) for r in failed))
    done = [r["item"] for r in results if r.get("changed") and not r.get("failed")]
    untouched = [r["item"] for r in results if not r.get("changed") and not r.get("failed")]
    if done:
        msg += ". Done: %s" % ", ".join(done)
    if untouched:
        msg += ". Untouched: %s" % ", ".join(untouched)
    return msg


def exit_bulk(module, results, diff=None, **extra):
    """Exit an AnsibleModule with the bulk shape; failed items fail the task."""
    result = dict(changed=any(r.get("changed") for r in results), results=results, **extra)
    if diff is not None and module._diff:
        result["diff"] = diff
    failure = summary(results)
    if failure:
        module.fail_json(msg=failure, **result)
    module.exit_json(**result)
