"""One sync cycle, and its run result modelled on ``Get-ADSyncRunProfileResult``: ``success``,
or ``completed-export-errors`` with each failed object, its documented error name, the
attribute and value in conflict, and the cloud object in the way.

Quarantined duplicates don't fail the run (Duplicate Attribute Resiliency reports them in
``onPremisesProvisioningErrors``); they are listed as ``DuplicateAttributeQuarantined``
entries so a reader sees them.
"""

from __future__ import annotations

from ldap3.core.exceptions import LDAPException

from lab.graph_emulator.tenant import now_iso

from . import ad_source, cloud_index, export, matching, scope


def _cloud_ref(obj):
    if obj is None:
        return None
    return {"id": obj.get("id"), "name": obj.get("userPrincipalName") or obj.get("displayName"),
            "deleted": bool(obj.get("deletedDateTime"))}


class RunResult:
    def __init__(self, profile, now):
        self.profile = profile
        self.started = now_iso(now)
        self.errors, self.joins, self.provisioned, self.updated, self.deleted = [], [], [], [], []
        self.read = 0

    def error(self, user, error, attribute, value, holder, detail):
        self.errors.append({"object": user.sam, "dn": user.dn, "error": error, "attribute": attribute,
                            "value": value, "cloud_object": _cloud_ref(holder), "detail": detail})

    def quarantined(self, user, quarantined, cloud):
        for prop, value in quarantined:
            self.error(user, "DuplicateAttributeQuarantined", prop, value, None,
                       "duplicate value quarantined on %s (onPremisesProvisioningErrors)" % cloud["userPrincipalName"])

    def finish(self, now) -> dict:
        failed = [e for e in self.errors if e["error"] != "DuplicateAttributeQuarantined"]
        return {
            "run_profile": self.profile, "result": "completed-export-errors" if failed else "success",
            "start_date": self.started, "end_date": now_iso(now),
            "counts": {"read": self.read, "joined": len(self.joins), "provisioned": len(self.provisioned),
                       "updated": len(self.updated), "deleted": len(self.deleted), "export_errors": len(failed),
                       "quarantined": len(self.errors) - len(failed)},
            "errors": self.errors, "joins": self.joins, "provisioned": self.provisioned,
            "updated": self.updated, "deleted": self.deleted,
        }


def _find(state, cloud_id):
    index = cloud_index.active(state)
    if index is not None:
        return index.first("id", cloud_id, lambda u: u["id"] == cloud_id, (cloud_index.USERS,))
    return next((u for u in state["users"] if u["id"] == cloud_id), None)


def anchor_changed(user, joined) -> bool:
    """"If the value for sourceAnchor is changed after the object has been exported to Microsoft
    Entra ID, then Microsoft Entra Connect Sync throws an error and doesn't allow any more
    changes on that object before the issue has been fixed and the sourceAnchor is changed back
    in the source directory" ("Microsoft Entra Connect: Design concepts"). The page names no
    error code: ``SourceAnchorChanged`` is the lab's name for it."""
    return joined["anchor"] != user.anchor


def sync_user(user, state, space, result, now) -> None:
    joined = space.get(user.guid)
    cloud = _find(state, joined["cloud_id"]) if joined else None
    if joined and cloud is None:
        space.drop(user.guid)  # the cloud user was purged: the object is new to the engine again
        joined = None
    try:
        if joined is not None:
            if anchor_changed(user, joined):
                result.error(user, "SourceAnchorChanged", "sourceAnchor", user.anchor, cloud,
                             "the object was projected with sourceAnchor %s; it can't change, so the engine exports "
                             "nothing for it until mS-DS-ConsistencyGuid is changed back (or the object leaves the sync "
                             "scope for one cycle and comes back as a new object)" % joined["anchor"])
                return
            changed, quarantined = export.update(user, cloud, state, now)
            if changed:
                result.updated.append(user.sam)
            result.quarantined(user, quarantined, cloud)
            space.join(user.guid, cloud["id"], user.dn, joined["anchor"])
            return
        decision = matching.decide(user, state, now)
        if decision.action == "error":
            result.error(user, decision.error, decision.attribute, decision.value, decision.target, decision.detail)
            return
        if decision.action == "provision":
            cloud, quarantined = export.provision(user, state, now)
            result.provisioned.append(user.sam)
        else:
            cloud = decision.target
            matched = {"object": user.sam, "cloud_user": cloud["userPrincipalName"], "by": decision.action,
                       "restored": bool(cloud.get("deletedDateTime"))}  # before the UPN flows onto it
            _changed, quarantined = export.update(user, cloud, state, now)
            result.joins.append(matched)
        result.quarantined(user, quarantined, cloud)
        space.join(user.guid, cloud["id"], user.dn, user.anchor)
    except export.ExportError as failure:
        result.error(user, failure.error, failure.attribute, failure.value, failure.holder, failure.detail)


def read_ad(ad_facts: dict, scope_dns=None, only: str | None = None) -> list:
    """The AD users under the scope OUs (or the one ``only`` names), each with its
    mS-DS-ConsistencyGuid stamped first when empty, as Connect does."""
    try:
        connection = ad_source.connect(ad_facts)
        try:
            users = ad_source.read_users(connection, scope_dns or [ad_facts["base_dn"]])
            if only:
                users = [u for u in users if only.lower() in (str(u.guid), u.dn.lower())]
                if not users:
                    raise LookupError("no AD user in scope has objectGUID or DN %s" % only)
            for user in users:
                if scope.in_scope(user):
                    ad_source.stamp_consistency_guid(connection, user)
        finally:
            connection.unbind()
    except LDAPException as failure:
        raise OSError("%s:%s: %s" % (ad_facts["ldap_server"], ad_facts["ldaps_port"], failure)) from failure
    return users


def apply(tenant, space, users, only: bool = False, profile: str = "Delta") -> dict:
    """One cycle over AD users already read: match, export, remember, and forget what left."""
    with tenant.lock:
        now = tenant.clock()
        state = tenant.state
        tenant.expire_deleted()
        result = RunResult("%s Synchronization" % profile if not only else "Provision on demand", now)
        in_scope = [u for u in users if scope.in_scope(u)]
        result.read = len(in_scope)
        cloud_index.begin(state)
        try:
            _sync_all(in_scope, state, space, result, now, only)
        finally:
            cloud_index.end(state)
        space.save()
        tenant.save()
        return result.finish(tenant.clock())


def _sync_all(in_scope, state, space, result, now, only) -> None:
    for user in in_scope:
        sync_user(user, state, space, result, now)
    if only:
        return
    seen = {str(u.guid).lower() for u in in_scope}
    for guid, joined in sorted(space.joins.items()):
        if guid in seen:
            continue
        # The AD object left the scope or was deleted: the cloud user goes to the recycle bin,
        # after the cycle's adds and updates (lab's assumption: no document orders them).
        cloud = _find(state, joined["cloud_id"])
        if cloud is not None and not cloud.get("deletedDateTime"):
            export.soft_delete(cloud, now)
            result.deleted.append(joined["dn"])
        space.drop(guid)


def run(tenant, space, ad_facts: dict, scope_dns=None, only: str | None = None, profile: str = "Delta") -> dict:
    """Run a cycle (or, with ``only`` an objectGUID or DN, provision that one object)."""
    return apply(tenant, space, read_ad(ad_facts, scope_dns, only), only=bool(only), profile=profile)
