"""The tenant: domains, features, users (active and soft-deleted), groups, contacts, apps and
service principals, kept as one JSON document (the tenant-state format) and saved to a file.

The tenant-state format is the ``tenant`` section of a lab scenario (``lab/scenario.schema.json``)
in Microsoft Graph property names, plus ``servicePrincipals``; see ``lab/README.md``.
Lab-only keys on a user: ``mailbox`` (an Exchange Online mailbox), ``licenses`` (SKU part
numbers), ``roles`` (``[{name, assignment: active|eligible}]``); on a group: ``members``, and
``roles`` on a group with ``isAssignableToRole`` ("Use Microsoft Entra groups to manage role
assignments": only such a group can be assigned a role, and its members hold it through it).
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import pathlib
import re
import secrets
import threading
import uuid

from . import catalog

SAVE_DELAY = 0.5
NAMESPACE = uuid.UUID("7c0c6f4e-2f0a-4d55-9a3c-5b1e5d1f2a10")

DEFAULT_FEATURES = {
    # "onPremisesDirectorySynchronizationFeature resource type": defaults of a new tenant.
    "blockCloudObjectTakeoverThroughHardMatchEnabled": False,
    "blockSoftMatchEnabled": False,
    "bypassDirSyncOverridesEnabled": False,
    "cloudPasswordPolicyForPasswordSyncedUsersEnabled": False,
    "concurrentCredentialUpdateEnabled": False,
    "concurrentOrgIdProvisioningEnabled": True,
    "deviceWritebackEnabled": False,
    "directoryExtensionsEnabled": False,
    "fopeConflictResolutionEnabled": False,
    "groupWriteBackEnabled": False,
    "passwordSyncEnabled": False,
    "passwordWritebackEnabled": False,
    # Duplicate Attribute Resiliency: "Once ... turned on it cannot be disabled" (Identity
    # synchronization and duplicate attribute resiliency); false only to model the world
    # before it, where a duplicate fails the export.
    "quarantineUponProxyAddressesConflictEnabled": True,
    "quarantineUponUpnConflictEnabled": True,
    "softMatchOnUpnEnabled": True,
    "synchronizeUpnForManagedUsersEnabled": True,
    "unifiedGroupWritebackEnabled": False,
    "userForcePasswordChangeOnLogonEnabled": False,
    "userWritebackEnabled": False,
    # Added to the resource in 2026 (Graph "what's new", July 2026); "disabled by default"
    # ("Microsoft Entra Connect: When you have an existing tenant", hard-match hardening).
    "allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled": False,
}

JOB_STATUS_CODES = ("NotConfigured", "NotRun", "Active", "Paused", "Quarantine")
SCHEDULE_STATES = ("Active", "Disabled", "Paused")
TOP_LEVEL = {"domains", "features", "users", "groups", "contacts", "apps", "servicePrincipals", "size", "lab"}

# The lab's own assumptions where Microsoft's documents are silent, each a tenant setting so a
# scenario can turn it off (lab/README.md, "Rules ... lab's assumption").
LAB_ASSUMPTIONS = {
    # The seed articles' claim (field experience, no Microsoft page states it): a soft-deleted
    # user with a mailbox keeps its SMTP addresses reserved until it is purged. "Restore a user
    # in the Microsoft 365 admin center" rather implies the opposite (another account may take
    # the address; restore then removes it with autoReconcileProxyConflict).
    "softDeletedMailboxReservesAddresses": True,
}
USER_LAB_KEYS = {"mailbox", "licenses", "roles"}
GROUP_KEYS = {"id", "displayName", "description", "mail", "mailEnabled", "mailNickname", "securityEnabled",
              "proxyAddresses", "members", "onPremisesSyncEnabled", "onPremisesProvisioningErrors", "groupTypes",
              "createdDateTime", "deletedDateTime", "isAssignableToRole", "roles"}
CONTACT_KEYS = {"id", "displayName", "givenName", "surname", "mail", "mailNickname", "proxyAddresses",
                "onPremisesSyncEnabled", "onPremisesProvisioningErrors", "companyName", "createdDateTime"}


class TenantStateError(ValueError):
    """A tenant-state document that cannot be loaded; the message names the field."""


def now_iso(timestamp: float) -> str:
    return datetime.datetime.fromtimestamp(timestamp, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text: str) -> float:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


# "synchronizationSchedule resource type": ``interval`` is an ISO 8601 duration (PT2M, P1D, PT1H30M).
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


def duration_seconds(text) -> float | None:
    """Seconds of an ISO 8601 duration in days, hours, minutes and seconds; None when it is not one (or zero)."""
    match = _DURATION.match(text) if isinstance(text, str) else None
    if not match or text.endswith(("P", "T")):
        return None
    days, hours, minutes, seconds = (float(part or 0) for part in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds or None


def smtp_addresses(obj: dict) -> set[str]:
    """The SMTP addresses an object holds: its ``smtp:`` proxy addresses and ``mail``, case-folded."""
    found = set()
    for proxy in obj.get("proxyAddresses") or []:
        prefix, _, address = proxy.partition(":")
        if prefix.lower() == "smtp" and address:
            found.add(address.lower())
    if obj.get("mail"):
        found.add(obj["mail"].lower())
    return found


def default_state() -> dict:
    return {
        "domains": [
            {"id": "contoso.onmicrosoft.com", "isInitial": True, "authenticationType": "Managed"},
            {"id": "contoso.com", "authenticationType": "Managed", "isDefault": True},
            {"id": "fed.contoso.com", "authenticationType": "Federated"},
        ],
        "features": {},
        "users": [],
        "groups": [],
        "contacts": [],
        "apps": [],
        "servicePrincipals": [{
            "displayName": "Microsoft Entra Cloud Sync (contoso.com)",
            "synchronization": {"jobs": [{"templateId": "AD2AADProvisioning"}]},
        }],
    }


class Tenant:
    """All tenant objects behind one lock. Handlers take ``tenant.lock`` for a whole request."""

    def __init__(self, tenant_id: str, path: pathlib.Path | None, clock):
        self.tenant_id = tenant_id
        self.path = path
        self.clock = clock
        self.lock = threading.RLock()
        self._timer_lock = threading.Lock()
        self._save_lock = threading.Lock()
        self._snapshots = self._written = 0
        self._timer = None
        self.state: dict = {}
        if path and path.exists():
            self.load(json.loads(path.read_text()), save=False)
        else:
            self.load(default_state())

    # --- load / dump --------------------------------------------------------------------
    def load(self, data: dict, save: bool = True) -> None:
        state = normalise(copy.deepcopy(data), self.tenant_id, self.clock())
        with self.lock:
            self.state = state
            if save:
                self.save()

    def dump(self) -> dict:
        with self.lock:
            return copy.deepcopy(self.state)

    def save_soon(self) -> None:
        """Save within SAVE_DELAY seconds. Writing the whole tenant after every PATCH made a
        1,000-user run spend most of its time serialising JSON; a burst now costs one save.
        SIGTERM and ``save()`` still write at once, so a clean stop loses nothing."""
        if not self.path:
            return
        with self._timer_lock:
            if self._timer is None:
                self._timer = threading.Timer(SAVE_DELAY, self._save_pending)
                self._timer.daemon = True
                self._timer.start()

    def _save_pending(self) -> None:
        with self._timer_lock:
            self._timer = None
        self.save()

    def save(self) -> None:
        if not self.path:
            return
        # The snapshot is taken under the tenant lock and written under the save lock, never
        # both held at once: a sync cycle saves while holding the tenant lock, and a timer's
        # save holding the save lock while waiting for the tenant lock deadlocked with it.
        with self.lock:
            text = json.dumps(self.state, indent=1, sort_keys=True)
            self._snapshots += 1
            number = self._snapshots
        with self._save_lock:
            if number < self._written:
                return  # a newer snapshot is already on disk; an older one never lands last
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.path.with_suffix(".tmp")
            temporary.write_text(text)
            os.replace(temporary, self.path)
            self._written = number

    # --- collections --------------------------------------------------------------------
    @property
    def domains(self) -> list[dict]:
        return self.state["domains"]

    @property
    def features(self) -> dict:
        return self.state["features"]

    @property
    def users(self) -> list[dict]:
        self.expire_deleted()
        return self.state["users"]

    def active_users(self) -> list[dict]:
        return [u for u in self.users if not u.get("deletedDateTime")]

    def deleted_users(self) -> list[dict]:
        return [u for u in self.users if u.get("deletedDateTime")]

    def expire_deleted(self) -> None:
        # "Restore or remove a recently deleted user": deleted users are kept 30 days, then
        # permanently deleted.
        horizon = self.clock() - 30 * 86400
        kept = [u for u in self.state["users"]
                if not u.get("deletedDateTime") or parse_iso(u["deletedDateTime"]) > horizon]
        if len(kept) != len(self.state["users"]):
            self.state["users"] = kept

    def user(self, key: str, deleted: bool = False) -> dict | None:
        key = key.lower()
        for user in (self.deleted_users() if deleted else self.active_users()):
            if user["id"].lower() == key or (not deleted and user["userPrincipalName"].lower() == key):
                return user
        return None

    def assumption(self, name: str) -> bool:
        return bool((self.state.get("lab") or LAB_ASSUMPTIONS).get(name, LAB_ASSUMPTIONS[name]))

    def domain(self, name: str) -> dict | None:
        for domain in self.domains:
            if domain["id"].lower() == name.lower():
                return domain
        return None

    def initial_domain(self) -> str:
        return next(d["id"] for d in self.domains if d.get("isInitial"))

    # --- uniqueness ---------------------------------------------------------------------
    def upn_owner(self, upn: str, exclude: str | None = None) -> dict | None:
        """The active user holding a UPN. Soft-deleted users do not hold theirs."""
        for user in self.active_users():
            if user["id"] != exclude and user["userPrincipalName"].lower() == upn.lower():
                return user
        return None

    def address_owner(self, address: str, exclude: str | None = None) -> dict | None:
        """The object holding an SMTP address: active users, groups and contacts, and, under the
        lab's assumption ``softDeletedMailboxReservesAddresses``, soft-deleted users with a
        mailbox (their Exchange mailbox is soft-deleted too and keeps its addresses until the
        user is purged)."""
        address = address.lower()
        holders = self.active_users() + self.state["groups"] + self.state["contacts"]
        if self.assumption("softDeletedMailboxReservesAddresses"):
            holders += [u for u in self.deleted_users() if u.get("mailbox")]
        for obj in holders:
            if obj["id"] != exclude and address in smtp_addresses(obj):
                return obj
        return None

    def immutable_id_owner(self, value: str, exclude: str | None = None) -> dict | None:
        # Soft-deleted users keep their anchor: a hard match to it restores them.
        for user in self.users:
            if user["id"] != exclude and (user.get("onPremisesImmutableId") or "") == value:
                return user
        return None

    def size(self) -> str:
        """Tenant size for the identity throttling quotas: S < 50 users, M ≤ 500, L above."""
        if self.state.get("size"):
            return self.state["size"]
        count = len(self.active_users())
        return "S" if count < 50 else ("M" if count <= 500 else "L")


def _id_for(tenant_id: str, kind: str, name: str) -> str:
    # Objects loaded without an id get a stable one, so loading a scenario twice gives the same ids.
    return str(uuid.uuid5(NAMESPACE, "%s/%s/%s" % (tenant_id, kind, name.lower())))


def _list_of(data: dict, key: str, kind=dict, where: str | None = None) -> list:
    """``data[key]`` as a list of ``kind`` (missing → []). A document of the wrong shape must
    answer 400 naming the field, never crash the request handler."""
    value = data.get(key)
    if value is None:
        value = data[key] = []
    where = where or key
    if not isinstance(value, list):
        raise TenantStateError("%s: expected a list" % where)
    for index, item in enumerate(value):
        if not isinstance(item, kind):
            raise TenantStateError("%s[%d]: expected %s" % (where, index, "an object" if kind is dict else "a string"))
    return value


def _optional_text(obj: dict, key: str, where: str) -> None:
    if obj.get(key) is not None and not isinstance(obj[key], str):
        raise TenantStateError("%s.%s: expected a string or null" % (where, key))


def normalise(data: dict, tenant_id: str, now: float) -> dict:
    """Validate a tenant-state document and fill in defaults; raise ``TenantStateError``."""
    if not isinstance(data, dict):
        raise TenantStateError("tenant state: expected a JSON object")
    unknown = set(data) - TOP_LEVEL
    if unknown:
        raise TenantStateError("tenant state: unknown keys %s (known: %s)" % (sorted(unknown), sorted(TOP_LEVEL)))
    if data.get("size") not in (None, "S", "M", "L"):
        raise TenantStateError("size: must be S, M or L")
    assumptions = data.get("lab") or {}
    if not isinstance(assumptions, dict) or set(assumptions) - set(LAB_ASSUMPTIONS) or \
            not all(isinstance(v, bool) for v in assumptions.values()):
        raise TenantStateError("lab: expected {%s} with true or false" % ", ".join(sorted(LAB_ASSUMPTIONS)))
    data["lab"] = dict(LAB_ASSUMPTIONS, **assumptions)
    domains = _list_of(data, "domains")
    if not domains:
        raise TenantStateError("domains: at least one domain is needed")
    for index, domain in enumerate(domains):
        if not domain.get("id") or not isinstance(domain["id"], str):
            raise TenantStateError("domains[%d].id: missing" % index)
        domain.setdefault("authenticationType", "Managed")
        if domain["authenticationType"] not in ("Managed", "Federated"):
            raise TenantStateError("domains[%d].authenticationType: Managed or Federated" % index)
        domain.setdefault("isInitial", False)
        domain.setdefault("isVerified", True)
        domain.setdefault("isDefault", False)
    if sum(1 for d in domains if d["isInitial"]) != 1:
        raise TenantStateError("domains: exactly one domain must have isInitial: true")
    if not any(d["isDefault"] for d in domains):
        next(d for d in domains if d["isInitial"])["isDefault"] = True
    names = {d["id"].lower() for d in domains}

    features = data.get("features") or {}
    if not isinstance(features, dict):
        raise TenantStateError("features: expected an object")
    unknown = set(features) - set(DEFAULT_FEATURES)
    if unknown:
        raise TenantStateError("features: unknown %s" % sorted(unknown))
    for name, value in features.items():
        if not isinstance(value, bool):
            raise TenantStateError("features.%s: expected true or false" % name)
    data["features"] = features

    created = now_iso(now)
    users = _list_of(data, "users")
    for index, user in enumerate(users):
        where = "users[%d]" % index
        unknown = set(user) - set(catalog.USER_PROPERTIES) - USER_LAB_KEYS
        if unknown:
            raise TenantStateError("%s: unknown properties %s" % (where, sorted(unknown)))
        upn = user.get("userPrincipalName")
        if not isinstance(upn, str) or "@" not in upn:
            raise TenantStateError("%s.userPrincipalName: missing or not local@domain" % where)
        if upn.rsplit("@", 1)[1].lower() not in names:
            raise TenantStateError("%s.userPrincipalName: domain of %r is not in domains" % (where, upn))
        for key in ("onPremisesImmutableId", "mail", "id", "deletedDateTime"):
            _optional_text(user, key, where)
        immutable = user.get("onPremisesImmutableId")
        if immutable is not None and ("$" in immutable or "_" in immutable):
            raise TenantStateError("%s.onPremisesImmutableId: '$' and '_' are not allowed" % where)
        user.setdefault("id", _id_for(tenant_id, "user", upn))
        user.setdefault("displayName", upn.split("@")[0])
        user.setdefault("mailNickname", upn.split("@")[0])
        user.setdefault("accountEnabled", True)
        user.setdefault("createdDateTime", created)
        user.setdefault("userType", "Member")
        proxies = _list_of(user, "proxyAddresses", str, where + ".proxyAddresses")
        if user.get("mail") and not proxies and user.get("mailbox"):
            proxies.append("SMTP:" + user["mail"])
        for role in _list_of(user, "roles", dict, where + ".roles"):
            if role.get("name") not in catalog.ROLE_TEMPLATES:
                raise TenantStateError("%s.roles: unknown role %r" % (where, role.get("name")))
            role.setdefault("assignment", "active")
        _list_of(user, "licenses", str, where + ".licenses")
        user.setdefault("mailbox", False)
        if user.get("deletedDateTime"):
            try:
                parse_iso(user["deletedDateTime"])
            except ValueError:
                raise TenantStateError("%s.deletedDateTime: not an ISO 8601 date-time: %r"
                                       % (where, user["deletedDateTime"])) from None

    for kind, keys in (("groups", GROUP_KEYS), ("contacts", CONTACT_KEYS)):
        for index, obj in enumerate(_list_of(data, kind)):
            unknown = set(obj) - keys
            if unknown:
                raise TenantStateError("%s[%d]: unknown properties %s" % (kind, index, sorted(unknown)))
            if not obj.get("displayName"):
                raise TenantStateError("%s[%d].displayName: missing" % (kind, index))
            for key in ("mail", "id"):
                _optional_text(obj, key, "%s[%d]" % (kind, index))
            obj.setdefault("id", _id_for(tenant_id, kind, obj.get("mail") or obj["displayName"]))
            obj.setdefault("proxyAddresses", ["SMTP:" + obj["mail"]] if obj.get("mail") else [])
            _list_of(obj, "proxyAddresses", str, "%s[%d].proxyAddresses" % (kind, index))
            obj.setdefault("createdDateTime", created)
            if kind == "groups":
                obj.setdefault("mailEnabled", bool(obj.get("mail")))
                obj.setdefault("securityEnabled", not obj.get("mail"))
                obj.setdefault("groupTypes", [])
                members = []
                for member in _list_of(obj, "members", str, "groups[%d].members" % index):
                    found = next((u for u in users if member.lower() in (u["id"].lower(), u["userPrincipalName"].lower())), None)
                    if not found:
                        raise TenantStateError("groups[%d].members: %r is not a user id or UPN" % (index, member))
                    members.append(found["id"])
                obj["members"] = members
                obj["isAssignableToRole"] = bool(obj.get("isAssignableToRole"))
                for role in _list_of(obj, "roles", dict, "groups[%d].roles" % index):
                    if role.get("name") not in catalog.ROLE_TEMPLATES:
                        raise TenantStateError("groups[%d].roles: unknown role %r" % (index, role.get("name")))
                    if not obj["isAssignableToRole"]:
                        raise TenantStateError("groups[%d].roles: only a group with isAssignableToRole: true can be "
                                               "assigned a directory role" % index)
                    role.setdefault("assignment", "active")

    for index, app in enumerate(_list_of(data, "apps")):
        if not app.get("clientId"):
            raise TenantStateError("apps[%d].clientId: missing" % index)
        unknown = set(_list_of(app, "permissions", str, "apps[%d].permissions" % index)) - catalog.KNOWN_PERMISSIONS
        if unknown:
            raise TenantStateError("apps[%d].permissions: unknown %s" % (index, sorted(unknown)))
        app.setdefault("displayName", "app %d" % index)
        app.setdefault("clientSecret", secrets.token_urlsafe(24))
        app.setdefault("permissions", [])
        # "Update user" (passwordProfile): app-only, "the calling app must be assigned a supported
        # permission *and* at least the *User Administrator* Microsoft Entra role".
        unknown = set(_list_of(app, "directoryRoles", str, "apps[%d].directoryRoles" % index)) - set(catalog.ROLE_TEMPLATES)
        if unknown:
            raise TenantStateError("apps[%d].directoryRoles: unknown %s" % (index, sorted(unknown)))

    if "servicePrincipals" not in data:
        # Every lab tenant has a Cloud Sync agent configuration unless the document says otherwise.
        data["servicePrincipals"] = copy.deepcopy(default_state()["servicePrincipals"])
    for index, sp in enumerate(_list_of(data, "servicePrincipals")):
        sp.setdefault("displayName", "service principal %d" % index)
        sp.setdefault("id", _id_for(tenant_id, "servicePrincipal", sp["displayName"]))
        sp.setdefault("appId", _id_for(tenant_id, "servicePrincipalApp", sp["displayName"]))
        synchronization = sp.setdefault("synchronization", {})
        if not isinstance(synchronization, dict):
            raise TenantStateError("servicePrincipals[%d].synchronization: expected an object" % index)
        jobs = _list_of(synchronization, "jobs", dict, "servicePrincipals[%d].synchronization.jobs" % index)
        for number, job in enumerate(jobs):
            where = "servicePrincipals[%d].synchronization.jobs[%d]" % (index, number)
            job.setdefault("templateId", "AD2AADProvisioning")
            job.setdefault("id", "%s.%s.%s" % (job["templateId"], sp["id"].replace("-", "")[:32],
                                               _id_for(tenant_id, "job", sp["id"]).replace("-", "")[:32]))
            # Key by key, so a lab document can give just {"status": {"code": "Paused"}}.
            schedule, status = job.setdefault("schedule", {}), job.setdefault("status", {})
            if not isinstance(schedule, dict) or not isinstance(status, dict):
                raise TenantStateError("%s: schedule and status must be objects" % where)
            for key, value in (("interval", "PT2M"), ("state", "Active"), ("expiration", None)):
                schedule.setdefault(key, value)
            for key, value in (("code", "Active"), ("lastExecution", None), ("lastSuccessfulExecution", None),
                               ("lastSuccessfulExecutionWithExports", None), ("steadyStateFirstAchievedTime", None)):
                status.setdefault(key, value)
            # "synchronizationStatus resource type" and "synchronizationSchedule resource type".
            if status["code"] not in JOB_STATUS_CODES:
                raise TenantStateError("%s.status.code: %r is not one of %s" % (where, status["code"], ", ".join(JOB_STATUS_CODES)))
            if schedule["state"] not in SCHEDULE_STATES:
                raise TenantStateError("%s.schedule.state: %r is not one of %s" % (where, schedule["state"], ", ".join(SCHEDULE_STATES)))
            if duration_seconds(schedule["interval"]) is None:
                raise TenantStateError("%s.schedule.interval: %r is not an ISO 8601 duration such as PT2M" % (where, schedule["interval"]))
            job.setdefault("synchronizationJobSettings", [])
            job.setdefault("onDemandRuns", [])

    _check_unique(data)
    return data


def _check_unique(data: dict) -> None:
    """The cloud never holds duplicates: a state that does cannot be loaded."""
    upns: dict[str, str] = {}
    addresses: dict[str, str] = {}
    anchors: dict[str, str] = {}
    ids: set[str] = set()
    for kind in ("users", "groups", "contacts"):
        for index, obj in enumerate(data[kind]):
            where = "%s[%d]" % (kind, index)
            if obj["id"].lower() in ids:
                raise TenantStateError("%s.id: %s is used twice" % (where, obj["id"]))
            ids.add(obj["id"].lower())
            deleted = bool(obj.get("deletedDateTime"))
            if kind == "users":
                anchor = obj.get("onPremisesImmutableId")
                if anchor:
                    if anchor in anchors:
                        raise TenantStateError("%s.onPremisesImmutableId: %r is also held by %s" % (where, anchor, anchors[anchor]))
                    anchors[anchor] = where
                if not deleted:
                    upn = obj["userPrincipalName"].lower()
                    if upn in upns:
                        raise TenantStateError("%s.userPrincipalName: %r is also held by %s" % (where, upn, upns[upn]))
                    upns[upn] = where
            if deleted and not obj.get("mailbox"):
                continue
            for address in smtp_addresses(obj):
                if address in addresses and addresses[address] != where:
                    raise TenantStateError("%s.proxyAddresses: %r is also held by %s" % (where, address, addresses[address]))
                addresses[address] = where
