"""``/directory/deletedItems``: the recycle bin of users.

"List deletedItems (directory objects)": a type cast is required —
``microsoft.graph.user`` (msgraph-sdk sends the alias ``graph.user``; both are accepted).
"Get deleted item", "Permanently delete an item" (204, irreversible) and "Restore deleted item"
(``autoReconcileProxyConflict``, ``newUserPrincipalName``; 200 with the restored object).
Users stay 30 days, then are purged by the service ("Restore or remove a recently deleted user").
The lab setting ``recycle_bin_lag_s`` keeps a just-deleted user out of sight for that long, as
an eventually consistent directory can.
"""

from __future__ import annotations

from . import catalog, query
from .errors import bad_request, conflict, not_found
from .routing import Response, route
from .tenant import parse_iso, smtp_addresses
from .users import _check_upn, entity, users_listing

CAST = r"(?:microsoft\.graph\.|graph\.)"
DEFAULT_SELECT = catalog.DEFAULT_USER_SELECT + ("deletedDateTime",)


def _visible(svc):
    """The soft-deleted users the recycle bin shows now."""
    lag = svc.settings.recycle_bin_lag_s
    if not lag:
        return svc.tenant.deleted_users()
    horizon = svc.now() - lag
    return [u for u in svc.tenant.deleted_users() if parse_iso(u["deletedDateTime"]) <= horizon]


def _user_type(obj):
    return {"@odata.type": "#microsoft.graph.user"}


@route("GET", r"/directory/deletedItems", catalog.DELETED_READ)
def list_without_cast(svc, req):
    raise bad_request("A type cast is required on directory/deletedItems, e.g. "
                      "/directory/deletedItems/microsoft.graph.user.")


@route("GET", r"/directory/deletedItems/" + CAST + r"user", catalog.DELETED_READ)
def list_deleted_users(svc, req):
    return Response(200, users_listing(svc, req, _visible(svc),
                                       context="directory/deletedItems/microsoft.graph.user", default=DEFAULT_SELECT))


@route("GET", r"/directory/deletedItems/" + CAST + r"user/\$count", catalog.DELETED_READ)
def count_deleted_users(svc, req):
    return Response(200, query.count_only(req, _visible(svc)))


@route("GET", r"/directory/deletedItems/" + CAST + r"group", catalog.DELETED_READ | catalog.GROUP_READ)
def list_deleted_groups(svc, req):
    # Groups are never soft-deleted in the lab: an empty, well-formed collection.
    return Response(200, query.listing(req, [], context="directory/deletedItems/microsoft.graph.group",
                                       known=("id", "displayName", "mail", "deletedDateTime"),
                                       default=("id", "displayName", "mail", "deletedDateTime"),
                                       type_name="group", filters=query.MAIL_OBJECT_FILTERS))


def find_deleted(svc, key):
    user = svc.tenant.user(key, deleted=True)
    if not user or user not in _visible(svc):
        raise not_found(key)
    return user


@route("GET", r"/directory/deletedItems/(?P<key>[0-9a-fA-F-]{36})", catalog.DELETED_READ)
def get_deleted(svc, req, key):
    user = find_deleted(svc, key)
    body = entity(svc, req, user, default=DEFAULT_SELECT, extra=_user_type(user))
    body["@odata.context"] = "%s/v1.0/$metadata#directoryObjects/$entity" % req.base
    return Response(200, body)


@route("DELETE", r"/directory/deletedItems/(?P<key>[0-9a-fA-F-]{36})", catalog.DELETED_WRITE)
def purge(svc, req, key):
    user = find_deleted(svc, key)
    svc.tenant.state["users"].remove(user)
    for group in svc.tenant.state["groups"]:
        if user["id"] in (group.get("members") or []):
            group["members"].remove(user["id"])
    return Response(204)


@route("POST", r"/directory/deletedItems/(?P<key>[0-9a-fA-F-]{36})/(?:microsoft\.graph\.)?restore",
       catalog.DELETED_WRITE)
def restore(svc, req, key):
    user = find_deleted(svc, key)
    body = req.body if isinstance(req.body, dict) else {}
    unknown = set(body) - {"autoReconcileProxyConflict", "newUserPrincipalName"}
    if unknown:
        raise bad_request("Property '%s' does not exist as a declared property or extension property." % sorted(unknown)[0])
    upn = body.get("newUserPrincipalName") or user["userPrincipalName"]
    if body.get("newUserPrincipalName"):
        _check_upn(svc, upn, exclude=user["id"])
    elif svc.tenant.upn_owner(upn, exclude=user["id"]):
        raise conflict("userPrincipalName")
    taken = {a for a in smtp_addresses(user) if svc.tenant.address_owner(a, exclude=user["id"])}
    if taken and not body.get("autoReconcileProxyConflict"):
        raise conflict("proxyAddresses")
    if taken:
        user["proxyAddresses"] = [p for p in user.get("proxyAddresses") or []
                                  if not (p.lower().startswith("smtp:") and p.split(":", 1)[1].lower() in taken)]
        if user.get("mail") and user["mail"].lower() in taken:
            user["mail"] = None
    user["userPrincipalName"] = upn
    user["deletedDateTime"] = None
    del user["deletedDateTime"]
    body = entity(svc, req, user, extra=_user_type(user))
    body["@odata.context"] = "%s/v1.0/$metadata#directoryObjects/$entity" % req.base
    return Response(200, body)
