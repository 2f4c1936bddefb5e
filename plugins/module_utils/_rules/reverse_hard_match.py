# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Reverse hard match: the rules for writing a cloud user's anchor into an AD user's
``mS-DS-ConsistencyGuid``.  Pure code: the callers read and write LDAP.

Entra Connect takes the sourceAnchor from mS-DS-ConsistencyGuid ("Microsoft Entra Connect:
Design concepts", ms-DS-ConsistencyGuid as sourceAnchor), so an AD user whose attribute holds
a cloud user's ``onPremisesImmutableId`` hard-matches that cloud user when it is new to the
engine.  The attribute holds 16 bytes: an opaque (non-GUID) ImmutableId can't be written.
"""

from ansible_collections.syncfix.entra.plugins.module_utils._rules.dn import dn_key, same_dn
from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import InputError
from ansible_collections.syncfix.entra.plugins.module_utils._rules.anchor import AnchorError, SourceAnchor

ATTRIBUTE = "mS-DS-ConsistencyGuid"


def describe(anchor):
    """An anchor as the results show it: GUID and ImmutableId, or nulls when empty."""
    if anchor is None:
        return {"guid": None, "immutable_id": None}
    return {"guid": str(anchor.guid), "immutable_id": anchor.immutable_id}


def desired_anchor(entry, default_state):
    """The anchor one item asks for (None clears); raises InputError saying what to fix."""
    state = entry.get("state") or default_state
    given = [name for name in ("immutable_id", "consistency_guid") if entry.get(name)]
    if state == "absent":
        if given:
            raise InputError("state=absent clears the value; remove %s" % ", ".join(given))
        return None
    if len(given) != 1:
        raise InputError("state=present needs exactly one of immutable_id, consistency_guid")
    if given[0] == "consistency_guid":
        return SourceAnchor.from_guid(entry["consistency_guid"])
    # mS-DS-ConsistencyGuid holds 16 bytes: an opaque anchor cannot be written into it.
    return SourceAnchor.from_immutable_id(entry["immutable_id"], allow_opaque=False)


def parse_anchor_requests(entries, default_state):
    """``[(identity, SourceAnchor or None)]`` for every item; InputError naming every bad one."""
    requests, problems, seen = [], [], set()
    for entry in entries:
        identity = (entry.get("object") or "").strip()
        try:
            if not identity:
                raise InputError("object is required")
            if identity.lower() in seen:
                raise InputError("listed twice")
            seen.add(identity.lower())
            requests.append((identity, desired_anchor(entry, default_state)))
        except (AnchorError, InputError) as e:
            problems.append("%s: %s" % (identity or "(no object)", e))
    if problems:
        raise InputError("invalid input, nothing was changed: " + "; ".join(problems))
    return requests


def current_anchor(dn, raw):
    """The anchor an AD user holds (raw attribute value), None when empty."""
    raw = raw[0] if isinstance(raw, list) and raw else raw
    if not raw:
        return None
    try:
        return SourceAnchor.from_bytes(raw)
    except AnchorError:
        raise InputError("%s of %s holds %d bytes, not a GUID; clear it with state=absent first" % (
            ATTRIBUTE, dn, len(raw)))


def replace_refusal(dn, before, desired, force):
    """Replacing one anchor with another re-links the AD user to another cloud user: only with force."""
    if before is None or desired is None or before == desired or force:
        return None
    return ("%s already holds anchor %s (%s); replacing it with %s re-links this user to another cloud user. Set "
            "force: true to replace it" % (dn, before.immutable_id, before.guid, desired.immutable_id))


def clear_refusal(dn, before, force):
    """Clearing the anchor unlinks the AD user from its cloud user: the next sync treats it as
    new and may soft match or provision it anew (issue 26), so it needs force, as on the cloud
    side (``_rules.hard_match.clear_refusal``)."""
    if before is None or force:
        return None
    return ("%s holds anchor %s (%s); clearing it unlinks this user from its cloud user, and the next sync may soft "
            "match or provision it anew. Set force: true on this item to clear it (the old value is returned in "
            "before)" % (dn, before.immutable_id, before.guid))


def held_anchor_refusal(dn, desired, holders):
    """Two AD objects with one sourceAnchor both claim one cloud user: the engine joins the one
    it meets first and fails the other.  ``holders`` are the DNs of the other AD objects whose
    anchor is ``desired`` (their mS-DS-ConsistencyGuid, or their objectGUID when they have none)."""
    others = sorted(h for h in holders if not same_dn(h, dn))
    if desired is None or not others:
        return None
    return ("%s (immutable id %s) is already the sourceAnchor of %s; two AD objects with one anchor both "
            "claim one cloud user. Clear or change it there first"
            % (desired.guid, desired.immutable_id, ", ".join(others)))


def holders_after_run(requests, dns, holders):
    """``{immutable_id: [dn]}`` of the AD objects that will hold each requested anchor once this
    run is done: an object of the run holds what it asks for, whatever it holds now.

    ``requests`` are the run's ``(identity, SourceAnchor or None)``, ``dns`` each identity's DN and
    ``holders`` what AD holds now (``_ldap.objects.anchor_holders`` of the anchors written)."""
    asked = set(dn_key(dns[identity]) for identity, desired in requests)
    result = dict((value, [dn for dn in found if dn_key(dn) not in asked]) for value, found in holders.items())
    for identity, desired in requests:
        if desired is not None:
            result[desired.immutable_id].append(dns[identity])
    return result


def item_refusal(dn, before, desired, force, holders):
    """Why one item may not go from ``before`` to ``desired`` (None when it may): the force rules
    (replace, clear) and the uniqueness of the anchor among ``holders`` (``holders_after_run``)."""
    return (replace_refusal(dn, before, desired, force)
            or (clear_refusal(dn, before, force) if desired is None else None)
            or (held_anchor_refusal(dn, desired, holders.get(desired.immutable_id, []))
                if desired is not None and before != desired else None))
