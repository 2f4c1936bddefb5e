"""``/users``: list, get, create, update, delete, ``licenseDetails`` and ``memberOf``.

Rules, each from the Microsoft page named:
- "Update user" / "user resource type": ``onPremisesImmutableId`` can be written only on
  cloud-only users; on a synced user (``onPremisesSyncEnabled``) on-premises-mastered
  properties answer 400 "Unable to update the specified properties for on-premises mastered
  Directory Sync objects...". ``$`` and ``_`` are not allowed in it; JSON null clears it. A user
  on a federated domain must be moved to a managed domain before its immutable id changes.
- "Update user" / "Create user" (onPremisesImmutableId): "This property must be specified when
  creating a new user account in the Graph if you're using a federated domain for the user's
  userPrincipalName (UPN) property." The lab reads this as an invariant that updates keep too:
  a PATCH that clears the value while the resulting UPN is federated, or moves the UPN onto a
  federated domain while the user has (or would have) none, is a 400.
- "Update user" (passwordProfile): "This can't be used for federated users." A PATCH carrying
  passwordProfile for a user whose current UPN is on a federated domain is a 400, also when the
  same PATCH moves the UPN to a managed domain (Graph's rule, not MSOnline's
  Set-MsolUserPrincipalName, which wanted a new password for that move). "In app-only
  scenarios, the calling app must be assigned a supported permission *and* at least the *User
  Administrator* Microsoft Entra role": an app whose ``directoryRoles`` (tenant state) hold none
  of ``PASSWORD_ROLES`` gets 403 Authorization_RequestDenied. The lab's own app holds no
  directory role: the collection never writes a password.
- "Identity synchronization and duplicate attribute resiliency": UPN and SMTP addresses are
  unique tenant-wide, across users, groups and contacts, compared case-insensitively; a
  conflict is 400 with an ``ObjectConflict`` detail naming the property.
- "Restore or remove a recently deleted user": a soft-deleted user holds its UPN no more. That
  one with an Exchange mailbox keeps its SMTP addresses reserved until purged is the lab's
  assumption (the seed articles; tenant setting ``lab.softDeletedMailboxReservesAddresses``).
- "Get user": without ``$select`` only the default property set is returned, so
  ``onPremisesProvisioningErrors`` and ``onPremisesImmutableId`` appear only when selected.
"""

from __future__ import annotations

import re
import uuid

from . import catalog, query
from .errors import (GraphError, bad_request, conflict, invalid_value, not_found, on_prem_mastered)
from .routing import Response, route
from .tenant import now_iso

UPN_FORMAT = re.compile(r"^[^@\s]+@[A-Za-z0-9.-]+$")
MAIL_FORMAT = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

FEDERATED_IMMUTABLE_ID = ("Unable to update the onPremisesImmutableId of a user whose userPrincipalName is on a "
                          "federated domain; change the userPrincipalName to a managed domain first.")
FEDERATED_PASSWORD = ("Unable to update the passwordProfile of a user whose userPrincipalName is on a federated "
                      "domain: \"This can't be used for federated users.\" (Update user, passwordProfile).")
FEDERATED_NEEDS_IMMUTABLE_ID = ("A user whose userPrincipalName is on a federated domain must have an "
                                "onPremisesImmutableId: \"This property must be specified when creating a new user "
                                "account in the Graph if you're using a federated domain for the user's "
                                "userPrincipalName (UPN) property.\" (Update user, onPremisesImmutableId).")

# "Update user" (passwordProfile), app-only: "at least the User Administrator Microsoft Entra role".
# The roles above it that may reset any user's password; only names in catalog.ROLE_TEMPLATES can
# be held by a lab app (tenant.py validates apps[].directoryRoles against it).
PASSWORD_ROLES = ("User Administrator", "Privileged Authentication Administrator", "Global Administrator")


def full_view(user: dict) -> dict:
    view = {name: user.get(name, default if not isinstance(default, list) else list(default))
            for name, default in catalog.USER_PROPERTIES.items()}
    view["assignedLicenses"] = [{"disabledPlans": [], "skuId": catalog.sku_id(sku)} for sku in user.get("licenses") or []]
    view["passwordProfile"] = None
    return view


def known_properties(svc) -> dict:
    """The user properties this Graph offers: the catalog less the lab's ``absent_user_properties``."""
    absent = set(svc.settings.absent_user_properties)
    return {name: default for name, default in catalog.USER_PROPERTIES.items() if name not in absent}


def users_listing(svc, req, users, context="users", default=catalog.DEFAULT_USER_SELECT, decorate=None):
    return query.listing(req, users, context=context, known=known_properties(svc), default=default,
                         type_name="user", filters=query.USER_FILTERS, decorate=decorate, view=full_view)


def entity(svc, req, user: dict, default=catalog.DEFAULT_USER_SELECT, extra=None) -> dict:
    options = query.no_options(req)
    fields = query.selection(options, known_properties(svc), default, "user")
    body = {"@odata.context": "%s/v1.0/$metadata#users/$entity" % req.base}
    body.update(query.project(full_view(user), fields, extra))
    return body


def find(svc, key: str) -> dict:
    user = svc.tenant.user(key)
    if not user:
        raise not_found(key)
    return user


@route("GET", r"/users", catalog.USER_READ)
def list_users(svc, req):
    return Response(200, users_listing(svc, req, svc.tenant.active_users()))


@route("GET", r"/users/\$count", catalog.USER_READ)
def count_users(svc, req):
    return Response(200, query.count_only(req, svc.tenant.active_users()))


@route("GET", r"/users/(?P<key>[^/]+)", catalog.USER_READ)
def get_user(svc, req, key):
    return Response(200, entity(svc, req, find(svc, key)))


def _check_upn(svc, upn, exclude=None):
    if not isinstance(upn, str) or not UPN_FORMAT.match(upn):
        raise invalid_value("userPrincipalName")
    domain = svc.tenant.domain(upn.rsplit("@", 1)[1])
    if not domain or not domain.get("isVerified", True):
        raise bad_request("The domain portion of the userPrincipalName property is invalid. You must use one of the "
                          "verified domain names in your organization.")
    if svc.tenant.upn_owner(upn, exclude=exclude):
        raise conflict("userPrincipalName")
    return domain


def _is_federated(svc, upn: str) -> bool:
    domain = svc.tenant.domain(upn.rsplit("@", 1)[-1])
    return bool(domain and domain.get("authenticationType") == "Federated")


def _check_password_change(svc, req, user):
    """"Update user" (passwordProfile): the calling app needs a password role, and the user must
    not be federated ("This can't be used for federated users.")."""
    app = svc.apps().get(str(req.claims.get("appid", "")).lower()) or {}
    held = set(app.get("directoryRoles") or [])
    if not held & set(PASSWORD_ROLES):
        raise GraphError(403, "Authorization_RequestDenied",
                         "Insufficient privileges to complete the operation. Updating passwordProfile app-only "
                         "needs the calling app to hold at least the User Administrator Microsoft Entra role "
                         "(Update user).")
    if _is_federated(svc, user["userPrincipalName"]):
        raise bad_request(FEDERATED_PASSWORD)


def _domain_of(upn: str) -> str:
    return upn.rsplit("@", 1)[-1].lower()


def _check_federated_keeps_immutable_id(svc, user, changes, new_upn):
    """A federated UPN keeps an immutable id: no clearing it there, no moving onto one without it."""
    if not _is_federated(svc, new_upn):
        return
    immutable = changes.get("onPremisesImmutableId", user.get("onPremisesImmutableId"))
    clears = "onPremisesImmutableId" in changes and changes["onPremisesImmutableId"] is None
    moves_onto = _domain_of(new_upn) != _domain_of(user["userPrincipalName"])
    if clears or (moves_onto and not immutable):
        raise bad_request(FEDERATED_NEEDS_IMMUTABLE_ID)


def _check_immutable_id(svc, value, exclude=None):
    if not isinstance(value, str) or not value or "$" in value or "_" in value:
        raise invalid_value("onPremisesImmutableId")
    if svc.tenant.immutable_id_owner(value, exclude=exclude):
        raise conflict("onPremisesImmutableId")


def _check_mail(svc, mail, exclude=None):
    if not isinstance(mail, str) or not MAIL_FORMAT.match(mail):
        raise invalid_value("mail")
    if svc.tenant.address_owner(mail, exclude=exclude):
        raise conflict("proxyAddresses")


def _set_primary_smtp(user: dict, mail: str) -> None:
    """"user resource type" (mail): setting mail also makes it the primary SMTP proxy address."""
    kept = []
    for proxy in user.get("proxyAddresses") or []:
        prefix, _, address = proxy.partition(":")
        if prefix.lower() == "smtp":
            if address.lower() == mail.lower():
                continue
            kept.append("smtp:" + address)
        else:
            kept.append(proxy)
    user["proxyAddresses"] = ["SMTP:" + mail] + kept


def _writable_changes(body) -> dict:
    if not isinstance(body, dict):
        raise bad_request("Empty Payload. JSON content expected.")
    changes = {}
    for name, value in body.items():
        if name.startswith("@odata."):
            continue  # msgraph-sdk sends "@odata.type" in bodies (LAB-NOTES)
        if name not in catalog.USER_PROPERTIES:
            raise bad_request("Property '%s' does not exist as a declared property or extension property." % name)
        if name not in catalog.USER_WRITABLE:
            raise bad_request("Property '%s' is read-only and cannot be set." % name)
        if value is None and name in catalog.NOT_NULLABLE:
            raise invalid_value(name)
        changes[name] = value
    return changes


@route("PATCH", r"/users/(?P<key>[^/]+)", catalog.USER_WRITE)
def update_user(svc, req, key):
    user = find(svc, key)
    changes = _writable_changes(req.body)
    if user.get("onPremisesSyncEnabled") and set(changes) - catalog.CLOUD_MASTERED:
        raise on_prem_mastered()
    if "passwordProfile" in changes:
        _check_password_change(svc, req, user)
    new_upn = changes.get("userPrincipalName", user["userPrincipalName"])
    if "userPrincipalName" in changes:
        _check_upn(svc, new_upn, exclude=user["id"])
    _check_federated_keeps_immutable_id(svc, user, changes, new_upn)
    if "mail" in changes and changes["mail"] is not None:
        _check_mail(svc, changes["mail"], exclude=user["id"])
    if "onPremisesImmutableId" in changes and changes["onPremisesImmutableId"] is not None:
        value = changes["onPremisesImmutableId"]
        if value != user.get("onPremisesImmutableId"):
            _check_immutable_id(svc, value, exclude=user["id"])
            if _is_federated(svc, user["userPrincipalName"]) or _is_federated(svc, new_upn):
                raise bad_request(FEDERATED_IMMUTABLE_ID)
    if "accountEnabled" in changes and not isinstance(changes["accountEnabled"], bool):
        raise invalid_value("accountEnabled")
    for name, value in changes.items():
        if name == "passwordProfile":
            continue
        if name == "mail" and value is not None:
            _set_primary_smtp(user, value)
        user[name] = value
    return Response(204)


REQUIRED_ON_CREATE = ("accountEnabled", "displayName", "mailNickname", "passwordProfile", "userPrincipalName")


@route("POST", r"/users", catalog.USER_WRITE)
def create_user(svc, req):
    changes = _writable_changes(req.body)
    for name in REQUIRED_ON_CREATE:
        if changes.get(name) in (None, ""):
            raise invalid_value(name)
    if not isinstance(changes["passwordProfile"], dict) or not changes["passwordProfile"].get("password"):
        raise invalid_value("passwordProfile")
    _check_upn(svc, changes["userPrincipalName"])
    if changes.get("mail"):
        _check_mail(svc, changes["mail"])
    immutable = changes.get("onPremisesImmutableId")
    if immutable is not None:
        _check_immutable_id(svc, immutable)
    elif _is_federated(svc, changes["userPrincipalName"]):
        # "Create user": onPremisesImmutableId is required for a UPN on a federated domain.
        raise invalid_value("onPremisesImmutableId")
    user = {"id": str(uuid.uuid4()), "createdDateTime": now_iso(svc.now()), "userType": "Member",
            "proxyAddresses": [], "licenses": [], "roles": [], "mailbox": False}
    for name, value in changes.items():
        if name != "passwordProfile":
            user[name] = value
    if user.get("mail"):
        _set_primary_smtp(user, user["mail"])
    svc.tenant.state["users"].append(user)
    body = entity(svc, req, user)
    return Response(201, body, {"Location": "%s/v1.0/users/%s" % (req.base, user["id"])})


@route("DELETE", r"/users/(?P<key>[^/]+)", catalog.USER_DELETE)
def delete_user(svc, req, key):
    user = find(svc, key)
    # "Delete a user": the user moves to deletedItems for 30 days.
    user["deletedDateTime"] = now_iso(svc.now())
    return Response(204)


@route("GET", r"/users/(?P<key>[^/]+)/licenseDetails", catalog.LICENSE_READ)
def license_details(svc, req, key):
    user = find(svc, key)
    items = [{"id": "%s_%s" % (user["id"], catalog.sku_id(sku)), "skuId": catalog.sku_id(sku),
              "skuPartNumber": sku, "servicePlans": []} for sku in user.get("licenses") or []]
    body = query.listing(req, items, context="users('%s')/licenseDetails" % user["id"],
                         known=("id", "skuId", "skuPartNumber", "servicePlans"),
                         default=("id", "skuId", "skuPartNumber", "servicePlans"),
                         type_name="licenseDetails", filters={"skuId": ({"eq"}, set()), "skuPartNumber": ({"eq"}, set())})
    return Response(200, body)


def directory_role(name: str) -> dict:
    template = catalog.ROLE_TEMPLATES[name]
    return {"@odata.type": "#microsoft.graph.directoryRole", "id": str(uuid.uuid5(uuid.NAMESPACE_URL, "role/" + template)),
            "displayName": name, "description": None, "roleTemplateId": template, "deletedDateTime": None}


@route("GET", r"/users/(?P<key>[^/]+)/memberOf", catalog.MEMBER_OF_READ)
def member_of(svc, req, key):
    # "List a user's direct memberships": groups and directory roles (active assignments).
    user = find(svc, key)
    items = []
    for group in svc.tenant.state["groups"]:
        if user["id"] in (group.get("members") or []):
            view = {k: group.get(k) for k in ("id", "displayName", "mail", "mailEnabled", "securityEnabled",
                                              "proxyAddresses", "groupTypes", "mailNickname", "isAssignableToRole")}
            view["@odata.type"] = "#microsoft.graph.group"
            items.append(view)
    for role in user.get("roles") or []:
        if role.get("assignment", "active") == "active":
            items.append(directory_role(role["name"]))
    known = ("@odata.type", "id", "displayName", "mail", "mailEnabled", "securityEnabled", "proxyAddresses",
             "groupTypes", "mailNickname", "isAssignableToRole", "roleTemplateId", "description", "deletedDateTime")
    body = query.listing(req, items, context="directoryObjects", known=known, default=known,
                         type_name="directoryObject", filters={})
    for item in body["value"]:
        for name in [k for k, v in item.items() if v is None and k != "id"]:
            del item[name]
    return Response(200, body)


__all__ = ["GraphError", "full_view", "users_listing", "entity", "directory_role"]
