# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""ad_source_anchor against AD: the plans of a run, ready for ``_module.converge``, and the modify
each one sends.  Internal to this collection: not a public API.

The rules live in ``_rules.reverse_hard_match`` (force, uniqueness); this file reads who holds
the anchors of the run (one LDAP search) and writes ``mS-DS-ConsistencyGuid``.
"""

from ansible_collections.syncfix.entra.plugins.module_utils._ldap import objects as ad_objects
from ansible_collections.syncfix.entra.plugins.module_utils._module.converge import ItemPlan
from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import InputError
from ansible_collections.syncfix.entra.plugins.module_utils._rules.reverse_hard_match import (
    ATTRIBUTE, current_anchor, describe, holders_after_run, item_refusal,
)


def plan_objects(connection, requests, found, forces):
    """One ``ItemPlan`` per ``(identity, SourceAnchor or None)`` of ``requests`` (every identity in
    ``found``, its AD entry).  ``forces`` maps each identity, lower case, to its own force (issue 26:
    an opt-in unlocks its own item only)."""
    dns = dict((identity, found[identity]["dn"]) for identity, desired in requests)
    writing = dict((desired.immutable_id, desired) for identity, desired in requests if desired is not None)
    holders = holders_after_run(requests, dns, ad_objects.anchor_holders(connection, list(writing.values()))
                                ) if writing else {}
    return [_plan(connection, identity, found[identity], desired, holders, forces[identity.lower()])
            for identity, desired in requests]


def _plan(connection, identity, entry, desired, holders, force):
    try:
        before = current_anchor(entry["dn"], entry["raw"].get(ATTRIBUTE))
    except InputError as e:
        return ItemPlan(identity, describe(None), refusal=str(e), fields=dict(dn=entry["dn"]))

    def write(plan):
        connection.modify(entry["dn"], {ATTRIBUTE: [("replace", [desired.raw] if desired else [])]})

    return ItemPlan(identity, describe(before), describe(desired), changed=before != desired, apply=write,
                    action="%s %s" % ("clear" if desired is None else "set", ATTRIBUTE),
                    refusal=item_refusal(entry["dn"], before, desired, force, holders),
                    fields=dict(dn=entry["dn"]))
