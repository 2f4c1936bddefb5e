# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ad_proxy_addresses against AD: the plans of a run, ready for ``_module.converge``, and the modify
each one sends.  Internal to this collection: not a public API.

The rules live in ``_rules.proxy_address`` (what may be written) and ``_ldap.objects`` (who else holds
an address); this file only reads and writes.  AD answers a DELETE of a value it lacks with
result 16 (noSuchAttribute) and an ADD of a value it holds with 20 (attributeOrValueExists):
someone wrote the object between our read and our modify.  The object is then re-read and
re-planned once, and the modify sent again from what it now holds; a second conflict fails
the item.
"""

from ansible_collections.syncfix.entra.plugins.module_utils._ldap import objects as ad_objects
from ansible_collections.syncfix.entra.plugins.module_utils._module.converge import ItemPlan
from ansible_collections.syncfix.entra.plugins.module_utils._ldap.client import (
    RESULT_ATTRIBUTE_OR_VALUE_EXISTS, RESULT_NO_SUCH_ATTRIBUTE, LdapError,
)
from ansible_collections.syncfix.entra.plugins.module_utils._rules.proxy_address import (
    ObjectPlan, ProxyAddressError, entry_state,
)

REPLANNED = "modified after re-reading (the object changed while it was planned)"
DONE_MEANWHILE = "already as requested after re-reading"


def plan_objects(connection, requests, found, options):
    """One ``ItemPlan`` per request, in order: the modify to send, or the refusal that stops it.

    ``found`` maps each identity to its AD entry; ``options`` holds ``allow_primary_removal``,
    ``update_mail`` and ``forest_unique``.  A request that breaks a proxyAddresses rule is
    refused; with ``forest_unique`` (checked only when nothing else is refused, since nothing
    is written then anyway) so is one that adds an address another object holds.  Raises
    LdapError when that check can't read AD.
    """
    planned, refusals = {}, {}
    for request in requests:
        try:
            planned[request.identity] = ObjectPlan(request, found[request.identity], options)
        except ProxyAddressError as e:
            refusals[request.identity] = str(e)
    if options["forest_unique"] and not refusals:
        refusals = ad_objects.uniqueness_refusals(connection, [(r.identity, planned[r.identity]) for r in requests])
    plans = []
    for request in requests:
        entry = found[request.identity]
        plan = planned.get(request.identity)
        if plan is None:
            plans.append(ItemPlan(request.identity, entry_state(entry), refusal=refusals[request.identity],
                                  fields=dict(dn=entry["dn"])))
            continue
        plans.append(ItemPlan(request.identity, plan.state(False), plan.state(True), changed=plan.changed,
                              action=plan.action, apply=_writer(connection, plan, request, options),
                              refusal=refusals.get(request.identity),
                              fields=dict(dn=plan.dn, modification=plan.modification())))
    return plans


def _writer(connection, plan, request, options):
    """The ItemPlan's ``apply``: the modify, and what a re-read changed in the item."""
    def write(item):
        outcome = {}
        try:
            apply_plan(connection, plan, request, options, outcome)
        finally:
            # A failed second modify still reports the fresh values it was planned from.
            if outcome:
                item.before, item.after, item.msg = outcome["before"], outcome["after"], outcome["msg"]
                item.fields["modification"] = outcome["modification"]
                item.changed = outcome.get("changed", True)
    return write


def apply_plan(connection, plan, request, options, result):
    """Send the modify; if AD changed underneath (16/20), re-read, re-plan once and send again.

    After a re-read, ``result`` gets the fresh ``before``, ``after``, ``modification`` and
    ``msg`` (and ``changed: false`` when someone else already made the change).
    """
    try:
        connection.modify(plan.dn, plan.changes())
        return
    except LdapError as e:
        if e.code not in (RESULT_NO_SUCH_ATTRIBUTE, RESULT_ATTRIBUTE_OR_VALUE_EXISTS):
            raise
    fresh = list(connection.search("(objectClass=*)", ad_objects.BASE_ATTRIBUTES, base=plan.dn, scope="base"))
    if not fresh:
        raise LdapError("%s disappeared while it was being modified" % plan.dn)
    replanned = ObjectPlan(request, fresh[0], options)
    result.update(before=replanned.state(False), after=replanned.state(True),
                  modification=replanned.modification(), msg=REPLANNED)
    if replanned.changed:
        connection.modify(replanned.dn, replanned.changes())
    else:
        result.update(changed=False, msg=DONE_MEANWHILE)
