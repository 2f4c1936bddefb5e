"""ad_proxy_addresses' main() offline, through the shared module base and converge engine."""

import uuid

from ansible_collections.syncfix.entra.plugins.module_utils._ldap.client import LdapError
from ansible_collections.syncfix.entra.plugins.modules import ad_proxy_addresses

from ansible_collections.syncfix.entra.plugins.module_utils._rules.proxy_address import sorted_values

from module_runner import FakeAD, ad_user, run_module

CONNECTION = dict(server=["dc1.contoso.test"], bind_dn="svc@contoso.test", bind_password="secret")


class ProxyAD(FakeAD):
    """FakeAD that also applies ``add`` and ``delete`` as AD does: adding a value already held
    answers 20 (attributeOrValueExists), deleting one not held 16 (noSuchAttribute), and
    nothing of that modify is applied.  ``meanwhile`` runs once, before the first modify, as
    another admin's write landing between the module's read and its write."""

    def __init__(self, *entries, **options):
        super(ProxyAD, self).__init__(*entries)
        self.meanwhile = options.get("meanwhile")

    def modify(self, dn, changes):
        self.stats["modifies"] += 1
        self.modifies.append((dn, changes))
        entry = self.entries[dn.lower()]
        if self.meanwhile:
            self.meanwhile(entry["attributes"])
            self.meanwhile = None
        attributes = dict((name, _values(entry["attributes"].get(name))) for name in changes)
        for attribute, steps in changes.items():
            for operation, values in steps:
                attributes[attribute] = _applied(dn, attributes[attribute], operation, values)
        entry["attributes"].update(attributes)


def _applied(dn, held, operation, values):
    if operation == "replace":
        return list(values)
    for value in values:
        if operation == "add" and value in held:
            raise LdapError("modify of %s: attributeOrValueExists (20)" % dn, 20)
        if operation == "delete" and value not in held:
            raise LdapError("modify of %s: noSuchAttribute (16)" % dn, 16)
    if operation == "add":
        return held + list(values)
    return [value for value in held if value not in values]


def _values(value):
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def user(sam, proxies, mail):
    return ad_user(sam, uuid.uuid4(), proxyAddresses=list(proxies), mail=mail)


def vp():
    return user("vp", ["SMTP:vp@fabrikam.com", "smtp:vp@contoso.com"], "vp@fabrikam.com")


def proxies(ad, sam):
    return sorted_values(ad.entries[("CN=%s,OU=Staff,DC=contoso,DC=test" % sam).lower()]["attributes"]["proxyAddresses"])


def test_check_mode_writes_nothing_and_shows_the_diff():
    ad = ProxyAD(vp())
    result = run_module(ad_proxy_addresses.main, dict(CONNECTION, object="vp", primary="vp@contoso.com"), ad=ad,
                        check_mode=True, diff=True)
    item = result["results"][0]
    assert result["changed"] is True and ad.modifies == []
    assert item["msg"] == "would modify proxyAddresses and mail"
    assert item["modification"] == {"delete": ["smtp:vp@contoso.com", "SMTP:vp@fabrikam.com"],
                                    "add": ["SMTP:vp@contoso.com", "smtp:vp@fabrikam.com"], "mail": "vp@contoso.com"}
    assert result["diff"]["after"] == {"CN=vp,OU=Staff,DC=contoso,DC=test": {
        "proxyAddresses": ["SMTP:vp@contoso.com", "smtp:vp@fabrikam.com"], "mail": "vp@contoso.com"}}


def test_primary_swap_is_one_modify_and_a_second_run_is_unchanged():
    ad = ProxyAD(vp())
    args = dict(CONNECTION, object="vp", primary="vp@contoso.com")
    first = run_module(ad_proxy_addresses.main, args, ad=ad)
    assert first["changed"] is True and len(ad.modifies) == 1
    assert first["results"][0]["after"] == {"proxyAddresses": ["SMTP:vp@contoso.com", "smtp:vp@fabrikam.com"],
                                            "mail": "vp@contoso.com"}
    assert proxies(ad, "vp") == ["SMTP:vp@contoso.com", "smtp:vp@fabrikam.com"]
    again = run_module(ad_proxy_addresses.main, args, ad=ad)
    assert again["changed"] is False and again["results"][0]["msg"] == "already as requested"
    assert len(ad.modifies) == 1


def test_a_forest_unique_refusal_writes_nothing_for_any_object():
    ad = ProxyAD(vp(), user("ann", ["SMTP:ann@contoso.com"], "ann@contoso.com"),
                 user("other", ["SMTP:shared@contoso.com"], "shared@contoso.com"))
    result = run_module(ad_proxy_addresses.main, dict(CONNECTION, forest_unique=True, objects=[
        dict(object="ann", addresses=["smtp:ann.lee@contoso.com"]),
        dict(object="vp", addresses=["smtp:shared@contoso.com"])]), ad=ad)
    assert result["failed"] is True and ad.modifies == []
    ann, refused = result["results"]
    assert refused["failed"] is True and refused["error"]["kind"] == "refused"
    assert "CN=other,OU=Staff,DC=contoso,DC=test" in refused["msg"] and "(forest_unique)" in refused["msg"]
    assert ann["changed"] is False and "nothing was written because another item was refused" in ann["msg"]
    assert "CN=other,OU=Staff,DC=contoso,DC=test" in result["msg"]


def test_a_rule_refusal_names_the_option_and_writes_nothing():
    ad = ProxyAD(vp())
    result = run_module(ad_proxy_addresses.main, dict(CONNECTION, object="vp", state="absent",
                                                      addresses=["smtp:vp@fabrikam.com"]), ad=ad)
    item = result["results"][0]
    assert result["failed"] is True and ad.modifies == []
    assert "allow_primary_removal" in item["msg"] and item["error"]["kind"] == "refused"
    assert item["before"] == item["after"] == {"proxyAddresses": ["smtp:vp@contoso.com", "SMTP:vp@fabrikam.com"],
                                               "mail": "vp@fabrikam.com"}


def test_bad_input_fails_naming_the_item_before_any_read():
    ad = ProxyAD(vp())
    result = run_module(ad_proxy_addresses.main, dict(CONNECTION, objects=[
        dict(object="vp", addresses=["vp@contoso.com"]), dict(object="VP", addresses=[])]), ad=ad)
    assert result["failed"] is True and result["error"]["kind"] == "input"
    assert "vp: " in result["msg"] and "PREFIX:address" in result["msg"] and "VP: listed twice" in result["msg"]
    assert ad.stats == {"searches": 0, "modifies": 0}


def test_attribute_or_value_exists_is_replanned_once_from_a_fresh_read():
    def another_admin(attributes):
        attributes["proxyAddresses"] = attributes["proxyAddresses"] + ["smtp:vp.alias@contoso.com"]

    ad = ProxyAD(vp(), meanwhile=another_admin)
    result = run_module(ad_proxy_addresses.main, dict(CONNECTION, object="vp",
                                                      addresses=["smtp:vp.alias@contoso.com", "smtp:vp2@contoso.com"]),
                        ad=ad)
    item = result["results"][0]
    assert result["changed"] is True and len(ad.modifies) == 2
    assert ad.modifies[1][1] == {"proxyAddresses": [("add", ["smtp:vp2@contoso.com"])]}
    assert "re-reading" in item["msg"] and item["modification"]["add"] == ["smtp:vp2@contoso.com"]
    assert "smtp:vp.alias@contoso.com" in item["before"]["proxyAddresses"]
    assert proxies(ad, "vp") == ["smtp:vp.alias@contoso.com", "smtp:vp2@contoso.com", "smtp:vp@contoso.com",
                                 "SMTP:vp@fabrikam.com"]


def test_a_second_conflict_fails_the_item_with_the_ldap_result():
    ad = ProxyAD(vp())

    def always_conflicting(dn, changes):
        ad.modifies.append((dn, changes))
        raise LdapError("modify of %s: attributeOrValueExists (20)" % dn, 20)

    ad.modify = always_conflicting
    result = run_module(ad_proxy_addresses.main, dict(CONNECTION, objects=[
        dict(object="vp", addresses=["smtp:vp2@contoso.com"])]), ad=ad)
    item = result["results"][0]
    assert result["failed"] is True and len(ad.modifies) == 2
    assert item["changed"] is False and item["error"]["kind"] == "ldap" and item["error"]["result"] == 20
    assert item["after"] == item["before"] and "1 of 1 items failed" in result["msg"]


def test_the_primary_and_mail_take_the_spelling_asked_for_and_a_second_run_is_unchanged():
    ad = ProxyAD(user("vp", ["smtp:VP@contoso.com", "SMTP:vp@fabrikam.com"], "vp@fabrikam.com"))
    args = dict(CONNECTION, object="vp", primary="vp@contoso.com")
    checked = run_module(ad_proxy_addresses.main, args, ad=ad, check_mode=True)
    assert checked["changed"] is True and ad.modifies == []
    first = run_module(ad_proxy_addresses.main, args, ad=ad)
    assert first["changed"] is True and len(ad.modifies) == 1
    assert proxies(ad, "vp") == ["SMTP:vp@contoso.com", "smtp:vp@fabrikam.com"]
    assert ad.entries["cn=vp,ou=staff,dc=contoso,dc=test"]["attributes"]["mail"] == ["vp@contoso.com"]
    again = run_module(ad_proxy_addresses.main, args, ad=ad)
    assert again["changed"] is False and len(ad.modifies) == 1


def test_removing_an_address_idfix_refuses_is_allowed_and_adding_one_is_not():
    ad = ProxyAD(user("vp", ["SMTP:vp@contoso.com", "smtp:v p@contoso.com"], "vp@contoso.com"))
    added = run_module(ad_proxy_addresses.main, dict(CONNECTION, object="vp", addresses=["smtp:x y@contoso.com"]),
                       ad=ad)
    assert added["failed"] is True and ad.modifies == []
    assert "smtp:x y@contoso.com" in added["results"][0]["msg"] and "[character]" in added["results"][0]["msg"]
    args = dict(CONNECTION, object="vp", state="absent", addresses=["smtp:v p@contoso.com"])
    removed = run_module(ad_proxy_addresses.main, args, ad=ad)
    assert removed["changed"] is True and proxies(ad, "vp") == ["SMTP:vp@contoso.com"]
    assert run_module(ad_proxy_addresses.main, args, ad=ad)["changed"] is False


def test_an_onmicrosoft_address_is_refused_to_add_and_allowed_to_remove():
    ad = ProxyAD(user("vp", ["SMTP:vp@contoso.com", "smtp:vp@contoso.onmicrosoft.com"], "vp@contoso.com"))
    added = run_module(ad_proxy_addresses.main, dict(CONNECTION, object="vp",
                                                     addresses=["smtp:vp2@Contoso.OnMicrosoft.com"]), ad=ad)
    item = added["results"][0]
    assert added["failed"] is True and ad.modifies == [] and item["error"]["kind"] == "refused"
    assert "smtp:vp2@Contoso.OnMicrosoft.com" in item["msg"] and "Entra manages those" in item["msg"]
    removed = run_module(ad_proxy_addresses.main, dict(CONNECTION, object="vp", state="absent",
                                                       addresses=["smtp:vp@contoso.onmicrosoft.com"]), ad=ad)
    assert removed["changed"] is True and proxies(ad, "vp") == ["SMTP:vp@contoso.com"]
