import uuid

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._scan import ad as scan_ad
from ansible_collections.syncfix.entra.plugins.module_utils._scan import findings as findings_shape
from ansible_collections.syncfix.entra.plugins.module_utils._rules.anchor import SourceAnchor

BASE = "OU=Staff,DC=contoso,DC=com"
CLASSES = {
    "user": ["top", "person", "organizationalPerson", "user"],
    "contact": ["top", "person", "organizationalPerson", "contact"],
    "group": ["top", "group"],
    "inetOrgPerson": ["top", "person", "organizationalPerson", "user", "inetOrgPerson"],
}


def guid_bytes(number):
    return uuid.UUID(int=number).bytes_le


def entry(name, kind="user", guid=None, consistency=None, **attributes):
    """An entry as ldap_client.search yields it (ldap3 without schema: every value a list)."""
    dn = "CN=%s,%s" % (name, BASE)
    values = {"objectClass": CLASSES[kind], "cn": [name], "distinguishedName": [dn]}
    if kind in ("user", "inetOrgPerson"):
        values["sAMAccountName"] = [name.lower().replace(" ", "")[:20]]
    for key, value in attributes.items():
        key = {"upn": "userPrincipalName", "proxies": "proxyAddresses", "nickname": "mailNickname",
               "display": "displayName", "critical": "isCriticalSystemObject", "rtd": "msExchRecipientTypeDetails",
               "hidden": "msExchHideFromAddressLists", "admin": "adminDescription", "sam": "sAMAccountName"}.get(key, key)
        values[key] = value if isinstance(value, list) else [value]
    raw = {}
    if guid is not None:
        raw["objectGUID"] = [guid_bytes(guid)]
    if consistency is not None:
        raw["mS-DS-ConsistencyGuid"] = [guid_bytes(consistency)]
    return {"dn": dn, "attributes": values, "raw": raw}


def dn(name):
    return "CN=%s,%s" % (name, BASE)


def run(*entries, **options):
    scan = scan_ad.ADScan(**options)
    own = []
    for item in entries:
        own.extend(scan.add(item))
    return scan, own, scan.finish()


def rules(found):
    return sorted(f["rule"] for f in found)


def only(found, rule):
    matching = [f for f in found if f["rule"] == rule]
    assert len(matching) == 1, found
    return matching[0]


def clean_user(name, number, **extra):
    address = "%s@contoso.com" % name.lower()
    values = dict(upn=address, mail=address, proxies=["SMTP:" + address, "smtp:%s@contoso.net" % name.lower()],
                  nickname=name.lower(), display=name)
    values.update(extra)
    return entry(name, guid=number, **values)


# -- the contract --------------------------------------------------------------------------


def test_attributes_cover_every_rule_and_exclusion():
    for name in ("objectClass", "distinguishedName", "cn", "userPrincipalName", "mail", "proxyAddresses", "mailNickname",
                 "sAMAccountName", "displayName", "objectGUID", "mS-DS-ConsistencyGuid", "isCriticalSystemObject",
                 "msExchRecipientTypeDetails", "msExchHideFromAddressLists", "adminDescription"):
        assert name in scan_ad.ATTRIBUTES
    assert len(set(scan_ad.ATTRIBUTES)) == len(scan_ad.ATTRIBUTES)


def test_search_filter_reads_users_contacts_and_groups_but_not_computers():
    text = scan_ad.SEARCH_FILTER
    assert text.count("(") == text.count(")")
    for part in ("(objectClass=user)", "(objectClass=contact)", "(objectClass=group)", "(!(objectClass=computer))"):
        assert part in text


def test_default_exclusions_are_idfix_well_known_names():
    prefixes = scan_ad.DEFAULT_EXCLUSIONS["cn_prefixes"]
    for name in ("SystemMailbox", "DiscoverySearchMailbox", "FederatedEmail", "HealthMailbox", "krbtgt", "msol", "CAS_{"):
        assert name in prefixes
    assert scan_ad.DEFAULT_EXCLUSIONS["cn_suffixes"] == ("$",)
    assert scan_ad.DEFAULT_EXCLUSIONS["critical_system_objects"] is True


def test_rule_names_are_the_published_constants():
    assert scan_ad.IDFIX_CHARACTER == "idfix_character"
    assert scan_ad.IDFIX_TOP_LEVEL_DOMAIN == "idfix_topleveldomain"
    assert set(scan_ad.RULES) >= {"duplicate_address", "primary_smtp_missing", "primary_smtp_several", "mail_not_primary",
                                  "onmicrosoft_address", "upn_suffix_unverified", "duplicate_mail_nickname", "duplicate_anchor"}


def test_a_clean_directory_has_no_findings():
    scan, own, cross = run(clean_user("Ann", 1), clean_user("Bob", 2), entry("Sales", kind="group", guid=3),
                           verified_domains=["contoso.com", "contoso.net"])
    assert own == [] and cross == []
    assert scan.counts == {"read": 3, "objects": 3, "excluded": 0, "excluded_by": {}}


def test_every_finding_has_the_shared_shape_and_cites_a_microsoft_document():
    scan, own, cross = run(clean_user("Ann", 1, mail="ann @contoso.com"), clean_user("Ann2", 2, upn="ann@contoso.com"))
    assert own and cross
    for item in own + cross:
        assert set(item) == set(findings_shape.FIELDS)
        assert item["side"] == "ad"
        assert item["severity"] in findings_shape.SEVERITIES and item["action"] in findings_shape.ACTIONS
        assert "Microsoft Learn, \"" in item["message"]
        assert item["object"].startswith("CN=") and item["object_class"] == "user" and item["common_name"]


# -- 1. IdFix per-value rules ----------------------------------------------------------------


def test_mail_with_a_space_is_a_character_error_with_the_trimmed_value_proposed():
    scan, own, cross = run(clean_user("Ann", 1, mail="ann @contoso.com"))
    found = only(own, "idfix_character")
    assert (found["attribute"], found["value"], found["severity"]) == ("mail", "ann @contoso.com", "error")
    assert (found["action"], found["update"]) == ("EDIT", "ann@contoso.com")
    assert found["common_name"] == "Ann" and found["object"] == dn("Ann")


def test_blank_mail_is_removed():
    scan, own, cross = run(entry("Ann", guid=1, mail="  "))
    found = only(own, "idfix_blank")
    assert (found["attribute"], found["action"], found["update"]) == ("mail", "REMOVE", None)


def test_mail_with_two_ats_is_a_format_error_without_a_guess():
    scan, own, cross = run(entry("Ann", guid=1, mail="ann@@contoso.com"))
    found = only(own, "idfix_format")
    assert (found["action"], found["update"]) == ("COMPLETE", None)


def test_smtp_proxy_address_rules_and_proposed_fix_keep_the_prefix():
    scan, own, cross = run(entry("Ann", guid=1, proxies=["SMTP:ann@contoso.com", "smtp:ann lee@contoso.com"]))
    found = only(own, "idfix_character")
    assert (found["attribute"], found["value"], found["update"], found["action"]) == (
        "proxyAddresses", "smtp:ann lee@contoso.com", "smtp:annlee@contoso.com", "EDIT")
    assert "idfix_localpart" in rules(own)


def test_proxy_address_at_a_non_routable_domain_is_a_top_level_domain_warning():
    scan, own, cross = run(entry("Ann", guid=1, proxies=["SMTP:ann@contoso.com", "smtp:ann@contoso.local"]))
    found = only(own, "idfix_topleveldomain")
    assert (found["value"], found["severity"]) == ("smtp:ann@contoso.local", "warning")


def test_proxy_value_without_a_prefix_is_a_format_error():
    scan, own, cross = run(entry("Ann", guid=1, proxies=["SMTP:ann@contoso.com", "ann2@contoso.com"]))
    found = only(own, "idfix_format")
    assert found["value"] == "ann2@contoso.com" and found["severity"] == "error"


def test_x500_values_are_not_held_to_smtp_rules():
    scan, own, cross = run(entry("Ann", guid=1, proxies=["SMTP:ann@contoso.com", "X500:/o=Contoso/ou=Exchange (FYDIBOHF23SPDLT)/cn=ann"]))
    assert own == []


def test_proxy_value_longer_than_256_is_a_length_error():
    long_value = "smtp:" + "a" * 60 + "@" + ".".join(["b" * 60] * 4) + ".com"
    scan, own, cross = run(entry("Ann", guid=1, proxies=["SMTP:ann@contoso.com", long_value]))
    assert only(own, "idfix_length")["value"] == long_value


def test_the_same_address_twice_on_one_object_is_an_idfix_duplicate_not_a_cross_object_one():
    scan, own, cross = run(entry("Ann", guid=1, proxies=["SMTP:ann@contoso.com", "smtp:x@contoso.com", "smtp:X@Contoso.com"]))
    found = only(own, "idfix_duplicate")
    assert (found["value"], found["action"], found["severity"]) == ("smtp:X@Contoso.com", "REMOVE", "warning")
    assert cross == []


def test_upn_rules_length_character_and_domain_part():
    local = "a" * 60
    long_upn = "%s@%s.com" % (local, "b" * 50)  # 60 + 1 + 54 = 115
    scan, own, cross = run(entry("Ann", guid=1, upn=long_upn), entry("Bob", guid=2, upn="bob%x@contoso.com"),
                           entry("Cy", guid=3, upn="cy@contoso"))
    ann = [f for f in own if f["object"] == dn("Ann")]
    assert rules(ann) == ["idfix_length", "idfix_length"]  # over 113, and over 48 after the @
    bob = only([f for f in own if f["object"] == dn("Bob")], "idfix_character")
    assert (bob["attribute"], bob["update"]) == ("userPrincipalName", "bobx@contoso.com")
    assert only([f for f in own if f["object"] == dn("Cy")], "idfix_domainpart")["severity"] == "error"


def test_upn_at_113_characters_is_fine():
    upn = "%s@%s.com" % ("a" * 64, "b" * 44)
    assert len(upn) == 113
    scan, own, cross = run(entry("Ann", guid=1, upn=upn))
    assert own == []


def test_upn_apostrophe_is_allowed_but_umlaut_is_not():
    scan, own, cross = run(entry("Ann", guid=1, upn="o'brien@contoso.com"), entry("Bob", guid=2, upn="j\u00fcrgen@contoso.com"))
    assert [f["object"] for f in own if f["rule"] == "idfix_character"] == [dn("Bob")]


def test_upn_at_a_local_domain_is_reported_once_as_top_level_domain():
    scan, own, cross = run(entry("Ann", guid=1, upn="ann@contoso.local"), verified_domains=["contoso.com"])
    assert rules(own) == ["idfix_topleveldomain"]
    assert "onmicrosoft.com" in own[0]["message"]


def test_mail_nickname_rules():
    scan, own, cross = run(entry("Ann", guid=1, nickname="ann lee"), entry("Bob", guid=2, nickname=".bob"),
                           entry("Cy", guid=3, nickname="c" * 65), entry("Di", guid=4, nickname="di..x"),
                           entry("Ed", guid=5, nickname=" "))
    by_object = dict((f["object"], f) for f in own)
    assert (by_object[dn("Ann")]["rule"], by_object[dn("Ann")]["update"]) == ("idfix_character", "annlee")
    assert (by_object[dn("Bob")]["rule"], by_object[dn("Bob")]["update"]) == ("idfix_format", "bob")
    assert (by_object[dn("Cy")]["rule"], by_object[dn("Cy")]["update"]) == ("idfix_length", None)
    assert (by_object[dn("Di")]["rule"], by_object[dn("Di")]["update"]) == ("idfix_format", "di.x")
    assert (by_object[dn("Ed")]["rule"], by_object[dn("Ed")]["action"]) == ("idfix_blank", "REMOVE")
    assert all(f["attribute"] == "mailNickname" for f in own)


def test_display_name_rules():
    scan, own, cross = run(entry("Ann", guid=1, display=" Ann Lee "), entry("Bob", guid=2, display="b" * 300),
                           entry("Cy", guid=3, display="   "))
    by_object = dict((f["object"], f) for f in own)
    assert (by_object[dn("Ann")]["rule"], by_object[dn("Ann")]["update"]) == ("idfix_character", "Ann Lee")
    assert (by_object[dn("Bob")]["rule"], by_object[dn("Bob")]["update"]) == ("idfix_length", "b" * 255)
    assert (by_object[dn("Cy")]["rule"], by_object[dn("Cy")]["action"]) == ("idfix_blank", "COMPLETE")
    assert all(f["severity"] == "warning" for f in own)


def test_mail_enabled_group_without_display_name_is_reported_but_a_security_group_is_not():
    scan, own, cross = run(entry("Sales", kind="group", guid=1, mail="sales@contoso.com", proxies=["SMTP:sales@contoso.com"]),
                           entry("Admins", kind="group", guid=2))
    found = only(own, "idfix_blank")
    assert (found["object"], found["attribute"], found["object_class"]) == (dn("Sales"), "displayName", "group")


# -- 2. duplicate addresses across attributes and objects --------------------------------------


def test_upn_of_one_object_equal_to_proxy_address_of_another_ignoring_case():
    first = entry("Ann", guid=1, upn="ann@contoso.com")
    later = entry("Ann Contact", kind="contact", guid=2, mail="ANN@Contoso.com", proxies=["SMTP:ANN@Contoso.com"])
    scan, own, cross = run(first, later)
    assert own == []
    assert rules(cross) == ["duplicate_address", "duplicate_address"]
    later_finding = [f for f in cross if f["object"] == dn("Ann Contact")][0]
    first_finding = [f for f in cross if f["object"] == dn("Ann")][0]
    assert (later_finding["conflicts_with"], later_finding["attribute"], later_finding["value"]) == (dn("Ann"), "mail", "ANN@Contoso.com")
    assert later_finding["object_class"] == "contact" and later_finding["severity"] == "error"
    assert (first_finding["conflicts_with"], first_finding["attribute"], first_finding["value"]) == (
        dn("Ann Contact"), "userPrincipalName", "ann@contoso.com")
    assert first_finding["object_class"] == "user" and first_finding["common_name"] == "Ann"


def test_own_upn_equal_to_own_mail_and_primary_is_not_a_duplicate():
    scan, own, cross = run(entry("Ann", guid=1, upn="Ann@contoso.com", mail="ann@CONTOSO.com",
                                 proxies=["SMTP:ann@contoso.com", "smtp:ANN@contoso.com"]))
    assert cross == []


def test_secondary_proxy_addresses_collide_too():
    scan, own, cross = run(clean_user("Ann", 1, proxies=["SMTP:ann@contoso.com", "smtp:shared@contoso.com"]),
                           clean_user("Bob", 2, proxies=["SMTP:bob@contoso.com", "smtp:Shared@contoso.com"]))
    assert sorted((f["object"], f["conflicts_with"], f["value"]) for f in cross) == [
        (dn("Ann"), dn("Bob"), "shared@contoso.com"), (dn("Bob"), dn("Ann"), "smtp:Shared@contoso.com")]


def test_three_holders_give_each_later_holder_one_finding_and_the_first_one():
    scan, own, cross = run(*[entry(name, guid=i, mail="shared@contoso.com") for i, name in enumerate(["A", "B", "C"])])
    assert sorted((f["object"], f["conflicts_with"]) for f in cross) == [
        (dn("A"), dn("B")), (dn("B"), dn("A")), (dn("C"), dn("A"))]
    assert "and 1 more" in [f for f in cross if f["object"] == dn("A")][0]["message"]


def test_the_same_entry_read_twice_is_not_a_duplicate_of_itself():
    item = clean_user("Ann", 1)
    scan, own, cross = run(item, item)
    assert cross == []


def test_onmicrosoft_mail_and_proxy_values_take_no_part_in_duplicates():
    scan, own, cross = run(entry("A", guid=1, proxies=["SMTP:a@contoso.com", "smtp:x@tenant.mail.onmicrosoft.com"]),
                           entry("B", guid=2, proxies=["SMTP:b@contoso.com", "smtp:x@tenant.mail.onmicrosoft.com"]))
    assert cross == []
    assert "x@tenant.mail.onmicrosoft.com" not in scan.index().addresses


# -- 3. primary SMTP ----------------------------------------------------------------------------


def test_secondaries_without_a_primary():
    scan, own, cross = run(entry("Ann", guid=1, mail="ann@contoso.com", proxies=["smtp:ann@contoso.com", "smtp:a@contoso.net"]))
    found = only(own, "primary_smtp_missing")
    assert (found["severity"], found["action"], found["value"], found["update"]) == (
        "warning", "EDIT", "smtp:ann@contoso.com", "SMTP:ann@contoso.com")


def test_no_primary_without_mail_proposes_the_first_secondary():
    scan, own, cross = run(entry("Ann", guid=1, proxies=["X500:/o=x/cn=ann", "smtp:ann@contoso.com"]))
    assert only(own, "primary_smtp_missing")["update"] == "SMTP:ann@contoso.com"


def test_mail_with_only_non_smtp_proxies_lacks_a_primary():
    scan, own, cross = run(entry("Ann", guid=1, mail="ann@contoso.com", proxies=["X500:/o=x/cn=ann"]))
    found = only(own, "primary_smtp_missing")
    assert (found["value"], found["update"]) == (None, "SMTP:ann@contoso.com")


def test_mail_alone_is_fine_entra_makes_it_the_primary():
    scan, own, cross = run(entry("Ann", guid=1, mail="ann@contoso.com"))
    assert own == []


def test_several_primaries_keep_the_one_matching_mail():
    scan, own, cross = run(entry("Ann", guid=1, mail="ann@contoso.com",
                                 proxies=["SMTP:a@contoso.net", "SMTP:Ann@contoso.com", "SMTP:b@contoso.net"]))
    several = [f for f in own if f["rule"] == "primary_smtp_several"]
    assert sorted((f["value"], f["update"]) for f in several) == [
        ("SMTP:a@contoso.net", "smtp:a@contoso.net"), ("SMTP:b@contoso.net", "smtp:b@contoso.net")]
    assert all(f["severity"] == "error" and f["action"] == "EDIT" for f in several)
    assert "mail_not_primary" not in rules(own)


def test_several_primaries_without_mail_keep_the_first():
    scan, own, cross = run(entry("Ann", guid=1, proxies=["SMTP:a@contoso.com", "SMTP:b@contoso.com"]))
    assert only(own, "primary_smtp_several")["value"] == "SMTP:b@contoso.com"


# -- 4. mail is the primary ------------------------------------------------------------------


def test_mail_not_the_primary():
    scan, own, cross = run(entry("Ann", guid=1, mail="old@contoso.com", proxies=["SMTP:ann@contoso.com", "smtp:old@contoso.com"]))
    found = only(own, "mail_not_primary")
    assert (found["attribute"], found["value"], found["update"], found["severity"], found["action"]) == (
        "mail", "old@contoso.com", "ann@contoso.com", "warning", "EDIT")


def test_mail_equal_to_the_primary_ignoring_case_is_fine():
    scan, own, cross = run(entry("Ann", guid=1, mail="ANN@contoso.com", proxies=["SMTP:ann@Contoso.com"]))
    assert own == []


# -- 5. onmicrosoft.com ----------------------------------------------------------------------


def test_onmicrosoft_secondary_is_removed_and_hybrid_routing_address_kept():
    scan, own, cross = run(entry("Ann", guid=1, mail="ann@contoso.com", proxies=[
        "SMTP:ann@contoso.com", "smtp:ann@tenant.onmicrosoft.com", "smtp:ann@tenant.mail.onmicrosoft.com"]))
    found = sorted(((f["value"], f["severity"], f["action"]) for f in own if f["rule"] == "onmicrosoft_address"))
    assert found == [("smtp:ann@tenant.mail.onmicrosoft.com", "info", "COMPLETE"),
                     ("smtp:ann@tenant.onmicrosoft.com", "warning", "REMOVE")]


def test_onmicrosoft_primary_and_mail_need_a_new_primary_first():
    scan, own, cross = run(entry("Ann", guid=1, mail="ann@Tenant.OnMicrosoft.com", proxies=["SMTP:ann@tenant.onmicrosoft.com"]))
    found = [f for f in own if f["rule"] == "onmicrosoft_address"]
    assert sorted((f["attribute"], f["severity"], f["action"]) for f in found) == [
        ("mail", "warning", "COMPLETE"), ("proxyAddresses", "warning", "COMPLETE")]


def test_upn_at_onmicrosoft_is_information():
    scan, own, cross = run(entry("Ann", guid=1, upn="ann@tenant.onmicrosoft.com"), verified_domains=["tenant.onmicrosoft.com"])
    found = only(own, "upn_onmicrosoft")
    assert (found["severity"], found["attribute"]) == ("info", "userPrincipalName")


def test_a_domain_merely_ending_in_onmicrosoft_is_not_reserved():
    scan, own, cross = run(entry("Ann", guid=1, proxies=["SMTP:ann@notonmicrosoft.com"]))
    assert own == []


# -- 6. UPN suffix verified -------------------------------------------------------------------


def test_unverified_upn_suffix_only_when_domains_are_known():
    item = entry("Ann", guid=1, upn="ann@fabrikam.com")
    assert run(item)[1] == []
    scan, own, cross = run(item, verified_domains=["contoso.com"])
    found = only(own, "upn_suffix_unverified")
    assert (found["severity"], found["value"]) == ("warning", "ann@fabrikam.com")
    assert "Prepare a non-routable domain for directory synchronization" in found["message"]


def test_verified_suffix_compares_without_case_and_accepts_subdomains():
    scan, own, cross = run(entry("Ann", guid=1, upn="ann@Contoso.COM"), entry("Bob", guid=2, upn="bob@eu.contoso.com"),
                           verified_domains=["CONTOSO.com"])
    assert own == []


def test_a_sibling_domain_is_not_verified_by_its_parent_tld():
    scan, own, cross = run(entry("Ann", guid=1, upn="ann@othercontoso.com"), verified_domains=["contoso.com"])
    assert rules(own) == ["upn_suffix_unverified"]


# -- 7. mailNickname duplicates -------------------------------------------------------------


def test_duplicate_mail_nickname_without_case():
    scan, own, cross = run(entry("Ann", guid=1, nickname="ann"), entry("Ann2", guid=2, nickname="ANN"))
    assert sorted((f["rule"], f["object"], f["conflicts_with"], f["severity"]) for f in cross) == [
        ("duplicate_mail_nickname", dn("Ann"), dn("Ann2"), "warning"),
        ("duplicate_mail_nickname", dn("Ann2"), dn("Ann"), "warning")]


# -- 8. duplicate anchors ----------------------------------------------------------------------


def test_consistency_guid_equal_to_another_objects_object_guid():
    scan, own, cross = run(entry("Ann", guid=1), entry("Bob", guid=2, consistency=1))
    assert rules(cross) == ["duplicate_anchor", "duplicate_anchor"]
    later = [f for f in cross if f["object"] == dn("Bob")][0]
    immutable_id = SourceAnchor.from_bytes(guid_bytes(1)).immutable_id
    assert (later["attribute"], later["value"], later["conflicts_with"], later["severity"]) == (
        "mS-DS-ConsistencyGuid", immutable_id, dn("Ann"), "error")
    assert [f["object"] for f in cross if f["conflicts_with"] == dn("Bob")] == [dn("Ann")]


def test_consistency_guid_is_the_anchor_when_set():
    # Ann's anchor is her consistency guid 7, not her objectGUID 1; Bob has none, so his is his objectGUID 7.
    scan, own, cross = run(entry("Ann", guid=1, consistency=7), entry("Bob", guid=7), entry("Cy", guid=1))
    assert sorted((f["object"], f["conflicts_with"]) for f in cross) == [(dn("Ann"), dn("Bob")), (dn("Bob"), dn("Ann"))]
    assert scan.index().anchors[SourceAnchor.from_bytes(guid_bytes(1)).immutable_id] == dn("Cy")


def test_odd_sized_consistency_guid_is_still_an_anchor():
    item = entry("Ann", guid=1)
    item["raw"]["mS-DS-ConsistencyGuid"] = [b"emp-0042"]
    scan, own, cross = run(item)
    assert list(scan.index().anchors) == ["ZW1wLTAwNDI="]


# -- exclusions --------------------------------------------------------------------------------


@pytest.mark.parametrize("item,reason", [
    (entry("SystemMailbox{1f05a927-1234}", mail="x@contoso.com"), "cn_prefixes"),
    (entry("HealthMailbox0a1b", mail="x@contoso.com"), "cn_prefixes"),
    (entry("DiscoverySearchMailbox {D919BA05}", mail="x@contoso.com"), "cn_prefixes"),
    (entry("WS01$", mail="x@contoso.com"), "cn_suffixes"),
    (entry("Ann\\0ACNF:4f2c", mail="x@contoso.com"), "dn_fragments"),
    (entry("Domain Admins Copy", kind="group", critical="TRUE"), "critical_system_objects"),
    (entry("Sync", sam="MSOL_1234abcd"), "sam_account_name_prefixes"),
    (entry("Arb", nickname="SystemMailbox{bb558c35}"), "mail_nickname_prefixes"),
    (entry("Hidden", display="MSOL_ab12", hidden="TRUE"), "hidden_display_name_prefixes"),
    (entry("Arbitration", rtd="8388608"), "recipient_type_details"),
    (entry("Discovery", rtd="536870912"), "recipient_type_details"),
    (entry("Parked", admin="User_DoNotSync"), "user_admin_description_prefixes"),
])
def test_default_exclusions_are_honoured(item, reason):
    scan, own, cross = run(item, entry("Other", guid=9, mail="x@contoso.com"))
    assert own == [] and cross == []
    assert scan.counts["excluded"] == 1 and scan.counts["excluded_by"] == {reason: 1}
    assert item["dn"] not in scan.index().classes


def test_user_only_exclusions_do_not_apply_to_groups_and_contacts():
    scan, own, cross = run(entry("Parked group", kind="group", admin="User_x"), entry("Partner contact", kind="contact", rtd="8388608"))
    assert scan.counts["excluded"] == 0


def test_hidden_msol_name_needs_both_conditions():
    scan, own, cross = run(entry("Ann", display="MSOL stuff"), entry("Bob", display="Bob", hidden="TRUE"))
    assert scan.counts["excluded"] == 0


def test_exclusions_are_overridable_key_by_key():
    item = entry("SystemMailbox{1f05a927}", mail="bad mail@contoso.com")
    scan, own, cross = run(item, exclusions={"cn_prefixes": []})
    assert "idfix_character" in rules(own)
    scan, own, cross = run(entry("Parked", admin="User_x", mail="bad mail@contoso.com"), exclusions={"cn_prefixes": ["Park"]})
    assert scan.counts["excluded_by"] == {"cn_prefixes": 1}  # other keys keep their defaults
    scan, own, cross = run(entry("Temp", mail="t@contoso.com"), entry("Old", guid=1, mail="t@contoso.com"),
                           exclusions={"dn_fragments": ["CN=Temp,"], "recipient_type_details": ["0x1000"]})
    assert cross == [] and scan.exclusions["recipient_type_details"] == (4096,)


def test_exclusions_as_the_module_option_a_list_of_names_and_dn_parts():
    items = (entry("SystemMailbox{1f05a927}", guid=1), entry("Temp Ann", guid=2), entry("Bob", guid=3),
             entry("Crit", kind="group", guid=4, critical="TRUE"))
    scan, own, cross = run(*items, exclusions=["temp", "ou=STAFF,dc=contoso,dc=com"])
    assert scan.counts["excluded_by"] == {"cn_prefixes": 1, "dn_fragments": 3}
    scan, own, cross = run(*items, exclusions=[])
    assert scan.counts["excluded"] == 0 and scan.counts["objects"] == 4


def test_exclusions_none_means_defaults_and_unknown_keys_are_refused():
    assert scan_ad.ADScan(exclusions=None).exclusions == scan_ad.DEFAULT_EXCLUSIONS
    with pytest.raises(ValueError, match="cn_prefix.*the keys are"):
        scan_ad.ADScan(exclusions={"cn_prefix": ["x"]})


def test_default_exclusions_are_not_changed_by_a_scan():
    before = dict(scan_ad.DEFAULT_EXCLUSIONS)
    scan_ad.ADScan(exclusions={"cn_prefixes": ["x"]})
    assert scan_ad.DEFAULT_EXCLUSIONS == before


# -- the index ---------------------------------------------------------------------------------


def test_index_for_the_cloud_rules():
    ann = clean_user("Ann", 1, consistency=5)
    contact = entry("Partner", kind="contact", guid=2, mail="Partner@Fabrikam.com")
    group = entry("Sales", kind="group", guid=3, proxies=["SMTP:sales@contoso.com"], display="Sales")
    excluded = entry("SystemMailbox{x}", guid=4, mail="sm@contoso.com")
    scan, own, cross = run(ann, contact, group, excluded)
    index = scan.index()
    assert index.addresses == {"ann@contoso.com": dn("Ann"), "ann@contoso.net": dn("Ann"),
                               "partner@fabrikam.com": dn("Partner"), "sales@contoso.com": dn("Sales")}
    assert index.anchors == {SourceAnchor.from_bytes(guid_bytes(5)).immutable_id: dn("Ann"),
                             SourceAnchor.from_bytes(guid_bytes(2)).immutable_id: dn("Partner"),
                             SourceAnchor.from_bytes(guid_bytes(3)).immutable_id: dn("Sales")}
    assert index.names == {dn("Ann"): "ann", dn("Partner"): None, dn("Sales"): None}
    assert index.classes == {dn("Ann"): "user", dn("Partner"): "contact", dn("Sales"): "group"}
    # What soft match compares, users only; and each object's own objectGUID (not its anchor).
    assert index.soft_keys == {dn("Ann"): ("ann@contoso.com", "ann@contoso.com")}
    assert index.object_guids == {dn("Ann"): str(uuid.UUID(int=1)), dn("Partner"): str(uuid.UUID(int=2)),
                                  dn("Sales"): str(uuid.UUID(int=3))}


def test_a_user_without_smtp_proxies_soft_matches_on_its_mail_and_one_with_two_primaries_on_none():
    plain = entry("Bob", guid=6, upn="bob@contoso.com", mail="Bob.Mail@contoso.com")
    torn = entry("Cy", guid=7, upn="cy@contoso.com", proxies=["SMTP:cy@contoso.com", "SMTP:c@contoso.com"])
    scan, own, cross = run(plain, torn)
    assert scan.index().soft_keys == {dn("Bob"): ("bob.mail@contoso.com", "bob@contoso.com"),
                                      dn("Cy"): (None, "cy@contoso.com")}


def test_inet_org_person_is_a_user():
    scan, own, cross = run(entry("Ann", kind="inetOrgPerson", guid=1))
    assert scan.index().classes == {dn("Ann"): "user"}


def test_entries_as_ldap3_may_spell_them():
    item = {"dn": dn("Ann"), "attributes": {"OBJECTCLASS": ["top", "user"], "Mail": "ann @contoso.com",
                                            "proxyaddresses": [b"SMTP:ann@contoso.com"], "isCriticalSystemObject": False},
            "raw": {"objectguid": guid_bytes(1)}}
    scan, own, cross = run(item)
    assert rules(own) == ["idfix_character", "idfix_localpart", "mail_not_primary"]
    assert own[0]["common_name"] == "Ann"  # no cn: taken from the DN
    assert list(scan.index().anchors.values()) == [dn("Ann")]


def test_common_name_from_an_escaped_dn():
    assert scan_ad.leaf_name("CN=Doe\\, Ann,OU=Staff,DC=contoso,DC=com") == "Doe, Ann"


# -- memory and volume -------------------------------------------------------------------------


def test_the_scan_keeps_no_entries_only_value_to_dn_dictionaries():
    scan = scan_ad.ADScan(verified_domains=["contoso.com", "contoso.net"])
    for number in range(500):
        scan.add(clean_user("U%04d" % number, number + 1))
    assert scan.finish() == []
    state = vars(scan)
    assert state["_duplicates"] == []
    for name in ("_addresses", "_anchors", "_names", "_classes", "_nicknames", "_address_attribute"):
        assert all(isinstance(key, str) and (value is None or isinstance(value, str)) for key, value in state[name].items())
    assert len(state["_addresses"]) == 1000 and len(state["_anchors"]) == 500 and len(state["_nicknames"]) == 500
    assert not any(isinstance(value, list) and value and isinstance(value[0], dict) for value in state.values())


def test_one_hundred_thousand_entries():
    total = 100000
    scan = scan_ad.ADScan(verified_domains=["contoso.com", "contoso.net"])
    own_count = 0
    for number in range(total):
        name = "u%06d" % number
        address = "%s@contoso.com" % name
        mail = address if number % 1000 else "u%06d@contoso.com" % (number - 1)  # every 1000th reuses its neighbour's
        item = {"dn": "CN=%s,OU=Bulk,DC=contoso,DC=com" % name,
                "attributes": {"objectClass": CLASSES["user"], "cn": [name], "sAMAccountName": [name],
                               "userPrincipalName": [address], "mail": [mail], "mailNickname": [name], "displayName": [name],
                               "proxyAddresses": ["SMTP:" + mail, "smtp:%s@contoso.net" % name]},
                "raw": {"objectGUID": [guid_bytes(number + 1)]}}
        own_count += len(scan.add(item))
    cross = scan.finish()
    assert scan.counts["objects"] == total and scan.counts["read"] == total
    assert own_count == 0
    assert len(scan.index().addresses) == 2 * total + 1  # number 0's mail is u-00001@contoso.com, held by nobody else
    assert len([f for f in cross if f["rule"] == "duplicate_address"]) == 2 * (total // 1000 - 1)
