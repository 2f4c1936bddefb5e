"""The directory holds what the scenarios need: contoso.com UPNs, Exchange-style attributes,
proxyAddresses and a clearable mS-DS-ConsistencyGuid."""

from __future__ import annotations

import uuid

import ldap3
import pytest

pytestmark = pytest.mark.filterwarnings("ignore:ssl.match_hostname:DeprecationWarning")

USER_CLASSES = ["top", "person", "organizationalPerson", "user"]
CONTACT_CLASSES = ["top", "person", "organizationalPerson", "contact"]


def _unique(prefix: str) -> str:
    return "%s%s" % (prefix, uuid.uuid4().hex[:8])


def _read(connection, dn, attributes):
    assert connection.search(dn, "(objectClass=*)", search_scope=ldap3.BASE, attributes=attributes), connection.result
    return connection.response[0]["raw_attributes"]


def test_upn_suffix_contoso_com_is_registered(admin, dc):
    partitions = "CN=Partitions,CN=Configuration,%s" % dc["base_dn"]
    values = _read(admin, partitions, ["uPNSuffixes"])["uPNSuffixes"]
    assert b"contoso.com" in values


@pytest.mark.parametrize("name", ["mailNickname", "targetAddress"])
def test_exchange_attribute_is_in_the_schema_under_the_customer_arc(admin, dc, name):
    schema = "CN=Schema,CN=Configuration,%s" % dc["base_dn"]
    admin.search(schema, "(&(objectClass=attributeSchema)(lDAPDisplayName=%s))" % name,
                 search_scope=ldap3.LEVEL, attributes=["attributeID", "isSingleValued", "attributeSyntax"])
    assert len(admin.response) == 1, admin.response
    attributes = admin.response[0]["raw_attributes"]
    assert attributes["attributeID"][0].startswith(b"1.2.840.113556.1.8000.2554.")
    assert attributes["isSingleValued"] == [b"TRUE"]
    assert attributes["attributeSyntax"] == [b"2.5.5.12"]
    may_contain = _read(admin, "CN=Mail-Recipient,%s" % schema, ["mayContain"])["mayContain"]
    assert name.encode() in may_contain


def test_user_with_exchange_attributes_proxy_addresses_and_contoso_com_upn(admin, test_ou):
    name = _unique("vp")
    dn = "CN=%s,%s" % (name, test_ou)
    attributes = {
        "sAMAccountName": name,
        "userPrincipalName": "%s@contoso.com" % name,
        "mail": "%s@contoso.com" % name,
        "mailNickname": name,
        "targetAddress": "SMTP:%s@contoso.mail.onmicrosoft.com" % name,
        "proxyAddresses": ["SMTP:%s@contoso.com" % name, "smtp:%s@contoso.mail.onmicrosoft.com" % name],
    }
    assert admin.add(dn, USER_CLASSES, attributes), admin.result
    stored = _read(admin, dn, list(attributes))
    for key, value in attributes.items():
        expected = sorted(v.encode() for v in (value if isinstance(value, list) else [value]))
        assert sorted(stored[key]) == expected, key
    # mailNickname is indexed and searchable, like the alias in Exchange.
    assert admin.search(test_ou, "(mailNickname=%s)" % name, attributes=["userPrincipalName"])
    assert [entry["dn"] for entry in admin.response if entry.get("type") == "searchResEntry"] == [dn]


def test_contact_takes_target_address(admin, test_ou):
    name = _unique("mailuser")
    dn = "CN=%s,%s" % (name, test_ou)
    assert admin.add(dn, CONTACT_CLASSES, {
        "mail": "%s@fabrikam.example" % name,
        "mailNickname": name,
        "targetAddress": "SMTP:%s@fabrikam.example" % name,
        "proxyAddresses": ["SMTP:%s@fabrikam.example" % name],
    }), admin.result
    assert _read(admin, dn, ["targetAddress"])["targetAddress"] == [("SMTP:%s@fabrikam.example" % name).encode()]


def test_attribute_outside_the_schema_is_refused(admin, test_ou):
    # The schema extension matters: an Exchange attribute the lab did not add is unknown to
    # the server (ldap3's own schema check is off, so the DC answers, not the client).
    name = _unique("nope")
    raw = ldap3.Connection(admin.server, admin.user, admin.password, auto_bind=True,
                           check_names=False, raise_exceptions=False)
    ok = raw.add("CN=%s,%s" % (name, test_ou), USER_CLASSES,
                 {"sAMAccountName": name, "msExchRecipientTypeDetails": "1"})
    assert not ok
    assert raw.result["description"] in ("undefinedAttributeType", "noSuchAttribute"), raw.result
    raw.unbind()


def test_mail_nickname_longer_than_its_range_is_refused(admin, test_ou):
    name = _unique("long")
    ok = admin.add("CN=%s,%s" % (name, test_ou), USER_CLASSES,
                   {"sAMAccountName": name, "mailNickname": "a" * 65})
    assert not ok
    # rangeUpper 64 is enforced. Windows answers constraintViolation; Samba 4.17 answers
    # invalidAttributeSyntax.
    assert admin.result["description"] in ("constraintViolation", "invalidAttributeSyntax")


def test_consistency_guid_set_and_cleared(admin, test_ou):
    name = _unique("anchor")
    dn = "CN=%s,%s" % (name, test_ou)
    assert admin.add(dn, USER_CLASSES, {"sAMAccountName": name, "userPrincipalName": "%s@contoso.com" % name})
    object_guid = _read(admin, dn, ["objectGUID"])["objectGUID"][0]
    assert len(object_guid) == 16
    assert not _read(admin, dn, ["mS-DS-ConsistencyGuid"]).get("mS-DS-ConsistencyGuid")

    # What Entra Connect does when the attribute is empty: copy objectGUID into it.
    assert admin.modify(dn, {"mS-DS-ConsistencyGuid": [(ldap3.MODIFY_REPLACE, [object_guid])]}), admin.result
    assert _read(admin, dn, ["mS-DS-ConsistencyGuid"])["mS-DS-ConsistencyGuid"] == [object_guid]
    assert admin.search(test_ou, "(mS-DS-ConsistencyGuid=%s)" % ldap3.utils.conv.escape_bytes(object_guid))
    assert [e["dn"] for e in admin.response if e.get("type") == "searchResEntry"] == [dn]

    assert admin.modify(dn, {"mS-DS-ConsistencyGuid": [(ldap3.MODIFY_REPLACE, [])]}), admin.result
    assert not _read(admin, dn, ["mS-DS-ConsistencyGuid"]).get("mS-DS-ConsistencyGuid")


def test_upn_is_unique(admin, test_ou):
    name = _unique("dup")
    upn = "%s@contoso.com" % name
    assert admin.add("CN=%sa,%s" % (name, test_ou), USER_CLASSES, {"sAMAccountName": name + "a", "userPrincipalName": upn})
    assert not admin.add("CN=%sb,%s" % (name, test_ou), USER_CLASSES, {"sAMAccountName": name + "b", "userPrincipalName": upn})
    assert admin.result["description"] == "constraintViolation"
