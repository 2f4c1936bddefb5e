"""Put a scenario's AD side into the lab's Samba DC: reset to the pristine snapshot, then add
the OUs, users, contacts and groups exactly as the file says."""

from __future__ import annotations

import ssl
import uuid

import ldap3

# userAccountControl: NORMAL_ACCOUNT (512) + PASSWD_NOTREQD (32); +2 ACCOUNTDISABLE. Lab users
# have no password, which Samba accepts only with PASSWD_NOTREQD.
UAC_ENABLED = 544
UAC_DISABLED = 546


def connect(facts) -> ldap3.Connection:
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=facts["ldap_ca_path"])
    server = ldap3.Server(facts["ldap_server"], port=facts["ldaps_port"], use_ssl=True, tls=tls, connect_timeout=5)
    return ldap3.Connection(server, facts["bind_dn"], facts["bind_password"], auto_bind=True, raise_exceptions=True)


def ou_dn(path: str | None, base_dn: str, root_dn: str | None = None) -> str:
    """The DN of an OU path; objects without one go to CN=Users (or straight under ``root_dn``)."""
    if not path:
        return root_dn or "CN=Users,%s" % base_dn
    return ",".join("OU=%s" % part for part in reversed(path.split("/"))) + "," + (root_dn or base_dn)


def _ensure_ous(connection, paths, base_dn, root_dn):
    made = set()
    for path in paths:
        parts = path.split("/")
        for depth in range(1, len(parts) + 1):
            prefix = "/".join(parts[:depth])
            if prefix in made:
                continue
            connection.add(ou_dn(prefix, base_dn, root_dn), ["top", "organizationalUnit"])
            made.add(prefix)


def _common(item):
    attributes = {}
    for name in ("mail", "mailNickname", "displayName", "targetAddress"):
        if item.get(name):
            attributes[name] = item[name]
    if item.get("proxyAddresses"):
        attributes["proxyAddresses"] = list(item["proxyAddresses"])
    return attributes


def apply(connection: ldap3.Connection, scenario: dict, base_dn: str, root_dn: str | None = None) -> dict:
    """Add the scenario's AD objects; returns ``{sAMAccountName or name: dn}``.

    ``root_dn`` puts everything under one container instead of the domain root (tests use it
    to load a scenario beside others without resetting the DC).
    """
    ad = scenario.get("ad") or {}
    paths = set(ad.get("ous") or [])
    for kind in ("users", "contacts", "groups"):
        paths.update(item["ou"] for item in ad.get(kind) or [] if item.get("ou"))
    _ensure_ous(connection, sorted(paths, key=lambda p: p.count("/")), base_dn, root_dn)
    dns = {}
    for user in ad.get("users") or []:
        dn = "CN=%s,%s" % (user.get("displayName") or user["sAMAccountName"], ou_dn(user.get("ou"), base_dn, root_dn))
        attributes = _common(user)
        attributes.update(sAMAccountName=user["sAMAccountName"],
                          userAccountControl=UAC_ENABLED if user.get("enabled", True) else UAC_DISABLED)
        if user.get("userPrincipalName"):
            attributes["userPrincipalName"] = user["userPrincipalName"]
        if user.get("adminDescription"):
            attributes["adminDescription"] = user["adminDescription"]
        if user.get("msDSConsistencyGuid"):
            attributes["mS-DS-ConsistencyGuid"] = uuid.UUID(user["msDSConsistencyGuid"]).bytes_le
        connection.add(dn, ["top", "person", "organizationalPerson", "user"], attributes)
        dns[user["sAMAccountName"]] = dn
    for contact in ad.get("contacts") or []:
        dn = "CN=%s,%s" % (contact["name"], ou_dn(contact.get("ou"), base_dn, root_dn))
        connection.add(dn, ["top", "person", "organizationalPerson", "contact"], _common(contact))
        dns[contact["name"]] = dn
    for group in ad.get("groups") or []:
        dn = "CN=%s,%s" % (group["name"], ou_dn(group.get("ou"), base_dn, root_dn))
        attributes = _common(group)
        attributes["sAMAccountName"] = group.get("sAMAccountName") or group["name"]
        members = [dns[m] for m in group.get("members") or []]
        if members:
            attributes["member"] = members
        connection.add(dn, ["top", "group"], attributes)
        dns[group["name"]] = dn
    return dns


def reset_and_apply(state_dir, scenario: dict) -> dict:
    """The DC reset to its pristine snapshot, then the scenario's AD side; for a caller that
    already holds an exclusive lease."""
    from lab import samba_dc

    facts = samba_dc.reset(state_dir)
    connection = connect(facts)
    try:
        return apply(connection, scenario, facts["base_dn"])
    finally:
        connection.unbind()


def load(state_dir, scenario: dict) -> dict:
    """``make lab-load``'s AD half, under an exclusive lease so test sessions using the DC wait
    instead of seeing a reset."""
    from lab import samba_dc

    with samba_dc.lease(state_dir, exclusive=True):
        return reset_and_apply(state_dir, scenario)
