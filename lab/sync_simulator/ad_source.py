"""Reading AD users the way the AD connector does: LDAPS with certificate validation, paged
searches, the user's source anchor from mS-DS-ConsistencyGuid.

"Microsoft Entra Connect: Design concepts" (Using ms-DS-ConsistencyGuid as sourceAnchor):
when the attribute is empty, Connect writes the objectGUID into it, so the anchor survives a
move to another forest. The simulator does the same before it matches.
"""

from __future__ import annotations

import base64
import dataclasses
import ssl
import uuid

import ldap3

# Critical system objects (Administrator, Guest, krbtgt) are never synced.
USER_FILTER = "(&(objectCategory=person)(objectClass=user)(!(isCriticalSystemObject=TRUE)))"
ATTRIBUTES = ["objectGUID", "mS-DS-ConsistencyGuid", "sAMAccountName", "userPrincipalName", "mail", "mailNickname",
              "proxyAddresses", "displayName", "givenName", "sn", "userAccountControl", "uSNCreated", "objectSid", "adminDescription"]
ACCOUNT_DISABLED = 0x2


@dataclasses.dataclass
class AdUser:
    dn: str
    guid: uuid.UUID
    consistency_guid: bytes | None
    sam: str
    upn: str | None
    mail: str | None
    mail_nickname: str | None
    proxy_addresses: list
    display_name: str | None
    given_name: str | None
    surname: str | None
    enabled: bool
    usn_created: int
    sid: str | None
    admin_description: str | None = None

    @property
    def anchor(self) -> str:
        """sourceAnchor: Base64 of mS-DS-ConsistencyGuid (the objectGUID's bytes when it was empty)."""
        return base64.b64encode(self.consistency_guid or self.guid.bytes_le).decode()

    @property
    def primary_smtp(self) -> str | None:
        """The ``SMTP:`` proxy address. Soft match looks at nothing else: "For the proxyAddresses
        attribute only the value with SMTP:, that is the primary email address, is used for the
        evaluation" ("When you have an existing tenant"); ``mail`` alone is not matched."""
        for proxy in self.proxy_addresses:
            if proxy.startswith("SMTP:"):
                return proxy[5:]
        return None


def connect(facts: dict) -> ldap3.Connection:
    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=facts["ldap_ca_path"])
    server = ldap3.Server(facts["ldap_server"], port=int(facts["ldaps_port"]), use_ssl=True, tls=tls,
                          connect_timeout=5)
    return ldap3.Connection(server, facts["bind_dn"], facts["bind_password"], auto_bind=True, raise_exceptions=True,
                            receive_timeout=30)


def _one(entry, name):
    values = entry.get(name) or []
    return values[0] if values else None


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else value


def read_users(connection: ldap3.Connection, scope_dns, page_size: int = 200) -> list[AdUser]:
    """Every user under the scope DNs, in creation order (the order the connector imports)."""
    users = []
    for scope in scope_dns:
        cookie = None
        while True:
            connection.search(scope, USER_FILTER, attributes=ATTRIBUTES, paged_size=page_size, paged_cookie=cookie)
            for entry in connection.response:
                if entry.get("type") != "searchResEntry":
                    continue
                raw = entry["raw_attributes"]
                attributes = entry["attributes"]
                consistency = _one(raw, "mS-DS-ConsistencyGuid")
                users.append(AdUser(
                    dn=entry["dn"], guid=uuid.UUID(bytes_le=_one(raw, "objectGUID")),
                    consistency_guid=consistency or None,
                    sam=attributes.get("sAMAccountName"), upn=attributes.get("userPrincipalName") or None,
                    mail=attributes.get("mail") or None, mail_nickname=attributes.get("mailNickname") or None,
                    proxy_addresses=[_text(p) for p in raw.get("proxyAddresses") or []],
                    display_name=attributes.get("displayName") or None,
                    given_name=attributes.get("givenName") or None, surname=attributes.get("sn") or None,
                    enabled=not int(attributes.get("userAccountControl") or 0) & ACCOUNT_DISABLED,
                    usn_created=int(attributes.get("uSNCreated") or 0),
                    sid=str(attributes.get("objectSid")) if attributes.get("objectSid") else None,
                    admin_description=attributes.get("adminDescription") or None))
            controls = connection.result.get("controls") or {}
            cookie = controls.get("1.2.840.113556.1.4.319", {}).get("value", {}).get("cookie")
            if not cookie:
                break
    users.sort(key=lambda u: u.usn_created)
    return users


def stamp_consistency_guid(connection: ldap3.Connection, user: AdUser) -> None:
    """Write the objectGUID into an empty mS-DS-ConsistencyGuid, as Connect does."""
    if user.consistency_guid:
        return
    value = user.guid.bytes_le
    connection.modify(user.dn, {"mS-DS-ConsistencyGuid": [(ldap3.MODIFY_REPLACE, [value])]})
    user.consistency_guid = value
