"""ad_proxy_addresses and ad_source_anchor through ansible-playbook against the lab's Samba DC.

Every write check reads uSNChanged straight from the DC (not through the collection): a run
that must not write leaves it unchanged.
"""

import uuid

import pytest
import yaml

import lab_fixtures

# A value no lab scenario uses (recreated-ad-user stamps 3ab39606-...): the DC is shared with the
# scenario tests, and an anchor is refused while another object holds it.
ANCHOR_GUID = "5e7a1c42-9b3d-4f60-8a21-c4d9e0f1b273"
ANCHOR_ID = "Qhx6Xj2bYE+KIcTZ4PGycw=="


def connection_args(samba, **extra):
    args = dict(server=["%s:%d" % (samba["ldap_server"], samba["ldaps_port"])], bind_dn=samba["bind_dn"],
                bind_password=samba["bind_password"], ca_path=samba["ldap_ca_path"])
    args.update(extra)
    return args


def make_user(ldap_admin, ou, name, proxies, mail=None):
    dn = "CN=%s,%s" % (name, ou)
    attributes = {"sAMAccountName": name[:20], "userPrincipalName": "%s@contoso.com" % name}
    if proxies:
        attributes["proxyAddresses"] = proxies
    if mail:
        attributes["mail"] = mail
    ldap_admin.add(dn, ["top", "person", "organizationalPerson", "user"], attributes)
    assert ldap_admin.result["description"] == "success", ldap_admin.result
    return dn


def read(ldap_admin, dn, *attributes):
    ldap_admin.search(dn, "(objectClass=*)", search_scope="BASE",
                      attributes=["uSNChanged", "proxyAddresses", "mail", "mS-DS-ConsistencyGuid"] + list(attributes))
    return ldap_admin.entries[0]


def usn(ldap_admin, dn):
    return int(read(ldap_admin, dn).uSNChanged.value)


@pytest.fixture
def vp(ldap_admin, ou):
    name = "vp-%s" % uuid.uuid4().hex[:6]
    return make_user(ldap_admin, ou, name, ["SMTP:%s@contoso.com" % name, "smtp:%s@fabrikam.com" % name],
                     mail="%s@contoso.com" % name), name


def proxy_task(samba, **options):
    return {"syncfix.entra.ad_proxy_addresses": connection_args(samba, **options), "register": "out",
            "ignore_errors": True}


def test_primary_swap_changes_then_is_ok_and_check_mode_writes_nothing(samba, ldap_admin, vp, playbook):
    dn, name = vp
    task = proxy_task(samba, object=name, primary="%s@fabrikam.com" % name)
    before = usn(ldap_admin, dn)

    rc, (checked,) = playbook([task], check=True, diff=True)
    assert rc == 0 and checked["changed"] is True
    assert usn(ldap_admin, dn) == before, "check mode sent a modify"
    assert "SMTP:%s@fabrikam.com" % name in checked["diff"]["after"][dn]["proxyAddresses"]

    rc, (first,) = playbook([task])
    assert rc == 0 and first["changed"] is True
    entry = read(ldap_admin, dn)
    assert sorted(entry.proxyAddresses.values) == sorted(["smtp:%s@contoso.com" % name, "SMTP:%s@fabrikam.com" % name])
    assert entry.mail.value == "%s@fabrikam.com" % name
    assert first["results"][0]["modification"]["delete"] and first["ldap_operations"]["modifies"] == 1

    after_first = usn(ldap_admin, dn)
    rc, (second,) = playbook([task])
    assert rc == 0 and second["changed"] is False
    assert usn(ldap_admin, dn) == after_first
    assert second["ldap_operations"]["modifies"] == 0


def test_starttls_with_validation_works(samba, vp, playbook):
    dn, name = vp
    task = proxy_task(samba, object=dn, addresses=["smtp:%s.alias@contoso.com" % name],
                      server=["ldap://%s:%d" % (samba["ldap_server"], samba["ldap_port"])])
    rc, (result,) = playbook([task])
    assert rc == 0 and result["changed"] is True, result.get("msg")


@pytest.mark.parametrize("options,words", [
    (dict(addresses=["smtp:bad address@contoso.local"]), ["smtp:bad address@contoso.local", "[character]", "[topleveldomain]"]),
    (dict(addresses=["SMTP:a@contoso.com", "SMTP:b@contoso.com"]), ["two primaries"]),
    (dict(addresses=["{name}@contoso.com"], state="absent"), ["PREFIX:address"]),
    (dict(addresses=["smtp:{name}@contoso.com"], state="absent"), ["allow_primary_removal"]),
])
def test_bad_requests_fail_clearly_and_write_nothing(samba, ldap_admin, vp, playbook, options, words):
    dn, name = vp
    options = dict((k, [a.format(name=name) for a in v] if isinstance(v, list) else v) for k, v in options.items())
    before = usn(ldap_admin, dn)
    rc, (result,) = playbook([proxy_task(samba, object=name, **options)])
    assert result["failed"] is True
    for word in words:
        assert word.format(name=name) in result["msg"]
    assert usn(ldap_admin, dn) == before


def test_unknown_object_fails_naming_it(samba, playbook):
    rc, (result,) = playbook([proxy_task(samba, object="nobody-%s" % uuid.uuid4().hex[:6], primary="x@contoso.com")])
    assert result["failed"] is True and "no AD user, contact or group has this name" in result["msg"]


def test_wrong_password_fails_clearly(samba, ldap_admin, vp, playbook):
    dn, name = vp
    before = usn(ldap_admin, dn)
    rc, (result,) = playbook([proxy_task(samba, object=name, primary="x@contoso.com", bind_password="wrong")])
    assert result["failed"] is True and "invalid credentials (49)" in result["msg"]
    assert "wrong" not in result["msg"]
    assert usn(ldap_admin, dn) == before


def test_untrusted_certificate_fails_clearly(samba, ldap_admin, vp, playbook):
    dn, name = vp
    before = usn(ldap_admin, dn)
    task = proxy_task(samba, object=name, primary="x@contoso.com")
    del task["syncfix.entra.ad_proxy_addresses"]["ca_path"]  # the system store does not know the lab CA
    rc, (result,) = playbook([task])
    assert result["failed"] is True and "not trusted" in result["msg"] and "ca_path" in result["msg"]
    assert usn(ldap_admin, dn) == before


def test_a_certificate_for_another_name_is_a_hostname_error_not_an_unreachable_server(samba, ldap_admin, vp, playbook):
    other = lab_fixtures.another_name_for_the_dc(samba)
    if other is None:
        pytest.skip("this machine's host name does not resolve to %s" % samba["ldap_server"])
    dn, name = vp
    task = proxy_task(samba, object=name, primary="x@contoso.com", server=["%s:%d" % (other, samba["ldaps_port"])])
    rc, (result,) = playbook([task])
    assert result["failed"] is True and "does not name this host" in result["msg"], result["msg"]
    assert "cannot reach" not in result["msg"]


def test_forest_unique_names_the_other_holder(samba, ldap_admin, ou, vp, playbook):
    dn, name = vp
    other = make_user(ldap_admin, ou, "other-%s" % uuid.uuid4().hex[:6], ["SMTP:shared-%s@contoso.com" % name])
    before = usn(ldap_admin, dn)
    rc, (result,) = playbook([proxy_task(samba, object=name, addresses=["smtp:shared-%s@contoso.com" % name],
                                         forest_unique=True)])
    assert result["failed"] is True and other in result["msg"]
    assert usn(ldap_admin, dn) == before


def test_objects_list_and_diff_sorted(samba, ldap_admin, ou, playbook):
    names = ["bulk-%s-%d" % (uuid.uuid4().hex[:4], i) for i in range(3)]
    for name in names:
        make_user(ldap_admin, ou, name, ["SMTP:%s@contoso.com" % name])
    task = proxy_task(samba, objects=[{"object": n, "addresses": ["smtp:%s@fabrikam.com" % n]} for n in names])
    rc, (result,) = playbook([task], diff=True)
    assert rc == 0 and [r["changed"] for r in result["results"]] == [True] * 3
    assert result["ldap_operations"]["modifies"] == 3
    rc, (again,) = playbook([task])
    assert again["changed"] is False


def anchor_task(samba, **options):
    return {"syncfix.entra.ad_source_anchor": connection_args(samba, **options), "register": "out",
            "ignore_errors": True}


def test_source_anchor_set_repeat_force_and_clear(samba, ldap_admin, vp, playbook):
    dn, name = vp
    before = usn(ldap_admin, dn)
    rc, (checked,) = playbook([anchor_task(samba, object=name, consistency_guid=ANCHOR_GUID)], check=True)
    assert checked["changed"] is True and usn(ldap_admin, dn) == before

    rc, (first,) = playbook([anchor_task(samba, object=name, immutable_id=ANCHOR_ID)])
    assert rc == 0 and first["changed"] is True, first
    assert first["results"][0]["after"] == {"guid": ANCHOR_GUID, "immutable_id": ANCHOR_ID}
    raw = read(ldap_admin, dn).entry_raw_attributes["mS-DS-ConsistencyGuid"][0]
    assert raw == bytes.fromhex("421c7a5e3d9b604f8a21c4d9e0f1b273"), "objectGUID byte order: the first three fields little-endian"

    rc, (second,) = playbook([anchor_task(samba, object=name, consistency_guid=ANCHOR_GUID)])
    assert second["changed"] is False

    other = "46e23144-8377-483e-a87e-b6769db62eed"
    stamped = usn(ldap_admin, dn)
    rc, (refused,) = playbook([anchor_task(samba, object=name, consistency_guid=other)])
    assert refused["failed"] is True and "force: true" in refused["msg"] and ANCHOR_ID in refused["msg"]
    assert usn(ldap_admin, dn) == stamped

    rc, (forced,) = playbook([anchor_task(samba, object=name, consistency_guid=other, force=True)])
    assert forced["changed"] is True and forced["results"][0]["before"]["immutable_id"] == ANCHOR_ID

    # Clearing unlinks the user: it needs force too (issue 26), refused before any write.
    forced_usn = usn(ldap_admin, dn)
    rc, (unforced,) = playbook([anchor_task(samba, object=name, state="absent")])
    assert unforced["failed"] is True and "set force: true" in unforced["msg"].lower() and dn in unforced["msg"], unforced
    assert usn(ldap_admin, dn) == forced_usn
    rc, (cleared,) = playbook([anchor_task(samba, object=name, state="absent", force=True)])
    assert cleared["changed"] is True
    assert not read(ldap_admin, dn).entry_raw_attributes.get("mS-DS-ConsistencyGuid")


def test_source_anchor_refuses_opaque_and_malformed_values(samba, ldap_admin, vp, playbook):
    dn, name = vp
    before = usn(ldap_admin, dn)
    rc, (opaque,) = playbook([anchor_task(samba, object=name, immutable_id="E12345")])
    assert opaque["failed"] is True and "'E12345' is not the Base64 ImmutableId of a GUID" in opaque["msg"]
    rc, (bad,) = playbook([anchor_task(samba, object=name, consistency_guid="not-a-guid")])
    assert bad["failed"] is True and "'not-a-guid' is not a GUID" in bad["msg"]
    assert usn(ldap_admin, dn) == before


def test_source_anchor_refuses_a_value_another_ad_object_holds(samba, ldap_admin, ou, playbook):
    # On the real DC: the binary OR filter finds a holder by mS-DS-ConsistencyGuid and one by objectGUID.
    names = ["anc-%s-%s" % (uuid.uuid4().hex[:5], n) for n in ("new", "old", "plain")]
    dns = [make_user(ldap_admin, ou, name, []) for name in names]
    holder_guid = uuid.UUID(str(read(ldap_admin, dns[2], "objectGUID").objectGUID.value))
    # A value of its own: the DC is shared, and a holder left behind would refuse ANCHOR_GUID elsewhere.
    held_guid = uuid.uuid4()
    ldap_admin.modify(dns[1], {"mS-DS-ConsistencyGuid": [("MODIFY_REPLACE", [held_guid.bytes_le])]})
    assert ldap_admin.result["description"] == "success", ldap_admin.result
    before = usn(ldap_admin, dns[0])
    rc, (held,) = playbook([anchor_task(samba, object=names[0], consistency_guid=str(held_guid))])
    assert held["failed"] is True and "sourceAnchor of %s" % dns[1] in held["msg"], held
    rc, (by_guid,) = playbook([anchor_task(samba, object=names[0], consistency_guid=str(holder_guid), force=True)])
    assert by_guid["failed"] is True and "sourceAnchor of %s" % dns[2] in by_guid["msg"], by_guid
    assert usn(ldap_admin, dns[0]) == before


def make(ldap_admin, dn, classes, **attributes):
    ldap_admin.add(dn, classes, attributes)
    assert ldap_admin.result["description"] == "success", ldap_admin.result
    ldap_admin.search(dn, "(objectClass=*)", search_scope="BASE", attributes=["objectGUID"])
    return ldap_admin.entries[0].objectGUID.value


def test_contacts_and_groups_by_dn_guid_and_proxy_address(samba, ldap_admin, ou, playbook):
    tag = uuid.uuid4().hex[:6]
    contact = "CN=contact-%s,%s" % (tag, ou)
    group = "CN=group-%s,%s" % (tag, ou)
    make(ldap_admin, contact, ["top", "person", "organizationalPerson", "contact"],
         proxyAddresses=["SMTP:contact-%s@fabrikam.com" % tag])
    group_guid = make(ldap_admin, group, ["top", "group"], sAMAccountName="group-%s" % tag,
                      proxyAddresses=["SMTP:group-%s@contoso.com" % tag])
    twice = proxy_task(samba, objects=[
        {"object": contact, "addresses": ["smtp:c2-%s@fabrikam.com" % tag]},
        {"object": "smtp:contact-%s@fabrikam.com" % tag, "addresses": ["X500:/o=Contoso/cn=c-%s" % tag]},
    ])
    before = usn(ldap_admin, contact)
    rc, (refused,) = playbook([twice])
    assert refused["failed"] is True and "name the same object (%s)" % contact.lower() in refused["results"][0]["msg"]
    assert usn(ldap_admin, contact) == before, "one object named twice: nothing written"
    task = proxy_task(samba, objects=[
        {"object": "smtp:contact-%s@fabrikam.com" % tag, "addresses": ["smtp:c2-%s@fabrikam.com" % tag]},
        {"object": str(group_guid).strip("{}"), "addresses": ["smtp:g2-%s@contoso.com" % tag]},
    ])
    rc, (result,) = playbook([task])
    assert rc == 0, result.get("msg")
    assert [r["dn"] for r in result["results"]] == [contact, group]
    assert "smtp:g2-%s@contoso.com" % tag in read(ldap_admin, group).proxyAddresses.values


def test_ambiguous_lookup_fails_listing_the_candidates(samba, ldap_admin, ou, playbook):
    tag = uuid.uuid4().hex[:6]
    first = make_user(ldap_admin, ou, "dup1-%s" % tag, ["SMTP:dup-%s@contoso.com" % tag])
    second = make_user(ldap_admin, ou, "dup2-%s" % tag, ["smtp:dup-%s@contoso.com" % tag, "SMTP:x-%s@contoso.com" % tag])
    before = (usn(ldap_admin, first), usn(ldap_admin, second))
    rc, (result,) = playbook([proxy_task(samba, object="dup-%s@contoso.com" % tag, primary="y-%s@contoso.com" % tag)])
    assert result["failed"] is True and "matches several objects" in result["msg"]
    assert first in result["msg"] and second in result["msg"]
    assert (usn(ldap_admin, first), usn(ldap_admin, second)) == before


def test_connection_options_from_environment(samba, vp, playbook):
    dn, name = vp
    env = {"SYNCFIX_AD_SERVER": "ldaps://%s:%d" % (samba["ldap_server"], samba["ldaps_port"]),
           "SYNCFIX_AD_BIND_DN": samba["bind_dn"], "SYNCFIX_AD_BIND_PASSWORD": samba["bind_password"],
           "SYNCFIX_AD_CA_PATH": samba["ldap_ca_path"]}
    task = {"syncfix.entra.ad_proxy_addresses": {"object": name, "addresses": ["smtp:env-%s@contoso.com" % name]}}
    rc, (result,) = playbook([task], env=env)
    assert rc == 0 and result["changed"] is True, result.get("msg")


def test_sample_playbook_aligns_primary_in_check_then_for_real(samba, ldap_admin, vp, ansible, tmp_path):
    dn, name = vp
    extra = tmp_path / "vars.yml"
    extra.write_text(yaml.safe_dump({
        "ad_server": ["%s:%d" % (samba["ldap_server"], samba["ldaps_port"])], "ad_bind_dn": samba["bind_dn"],
        "ad_bind_password": samba["bind_password"], "ad_ca_path": samba["ldap_ca_path"],
        "soft_match": [{"object": name, "primary": "%s@fabrikam.com" % name}]}))
    before = usn(ldap_admin, dn)
    checked = ansible("ansible-playbook", "syncfix.entra.align_primary_smtp", "-e", "@%s" % extra, "--check")
    assert checked.returncode == 0, checked.stdout[-2000:]
    assert "changed=1" in checked.stdout and usn(ldap_admin, dn) == before
    applied = ansible("ansible-playbook", "syncfix.entra.align_primary_smtp", "-e", "@%s" % extra)
    assert applied.returncode == 0 and "changed=1" in applied.stdout
    assert "SMTP:%s@fabrikam.com" % name in read(ldap_admin, dn).proxyAddresses.values
    again = ansible("ansible-playbook", "syncfix.entra.align_primary_smtp", "-e", "@%s" % extra)
    assert again.returncode == 0 and "changed=0" in again.stdout


# -- issue 16: DNs compared as DNs; proxy-address rules users can guess -------------------

def test_a_dn_with_an_escaped_comma_is_found_by_its_hex_escaped_spelling_and_updated(samba, ldap_admin, ou, playbook):
    tag = uuid.uuid4().hex[:6]
    dn = "CN=Doe\\, %s,%s" % (tag, ou)
    ldap_admin.add(dn, ["top", "person", "organizationalPerson", "user"],
                   {"sAMAccountName": "doe-%s" % tag, "proxyAddresses": ["SMTP:doe-%s@contoso.com" % tag]})
    assert ldap_admin.result["description"] == "success", ldap_admin.result
    returned = read(ldap_admin, dn).entry_dn
    assert "\\," in returned or "\\2C" in returned.upper(), returned
    # The same object, spelled with \2C, other case and spaces after the commas.
    spelled = "cn=doe\\2c %s, %s" % (tag.upper(), ", ".join(ou.lower().split(",")))
    task = proxy_task(samba, object=spelled, addresses=["smtp:doe-%s@fabrikam.com" % tag])
    before = usn(ldap_admin, dn)

    rc, (checked,) = playbook([task], check=True)
    assert rc == 0 and checked["changed"] is True, checked.get("msg")
    assert usn(ldap_admin, dn) == before, "check mode sent a modify"

    rc, (first,) = playbook([task])
    assert rc == 0 and first["changed"] is True, first.get("msg")
    assert first["results"][0]["dn"] == returned
    assert "smtp:doe-%s@fabrikam.com" % tag in read(ldap_admin, dn).proxyAddresses.values

    rc, (second,) = playbook([task])
    assert rc == 0 and second["changed"] is False and second["ldap_operations"]["modifies"] == 0


def test_the_primary_and_mail_take_the_spelling_asked_for(samba, ldap_admin, ou, playbook):
    name = "case-%s" % uuid.uuid4().hex[:6]
    dn = make_user(ldap_admin, ou, name, ["smtp:%s@contoso.com" % name.upper(), "SMTP:%s@fabrikam.com" % name],
                   mail="%s@fabrikam.com" % name)
    task = proxy_task(samba, object=name, primary="%s@contoso.com" % name)
    before = usn(ldap_admin, dn)

    rc, (checked,) = playbook([task], check=True)
    assert rc == 0 and checked["changed"] is True and usn(ldap_admin, dn) == before

    rc, (first,) = playbook([task])
    assert rc == 0 and first["changed"] is True, first.get("msg")
    entry = read(ldap_admin, dn)
    assert sorted(entry.proxyAddresses.values) == sorted(["SMTP:%s@contoso.com" % name, "smtp:%s@fabrikam.com" % name])
    assert entry.mail.value == "%s@contoso.com" % name

    after_first = usn(ldap_admin, dn)
    rc, (second,) = playbook([task])
    assert rc == 0 and second["changed"] is False and usn(ldap_admin, dn) == after_first


@pytest.mark.parametrize("held", ["smtp:{name} old@contoso.com", "smtp:{name}@contoso.onmicrosoft.com"])
def test_a_value_that_may_not_be_added_can_be_removed(samba, ldap_admin, ou, playbook, held):
    name = "fix-%s" % uuid.uuid4().hex[:6]
    held = held.format(name=name)
    dn = make_user(ldap_admin, ou, name, ["SMTP:%s@contoso.com" % name, held], mail="%s@contoso.com" % name)
    before = usn(ldap_admin, dn)
    other = held.replace(name, name + "2")
    rc, (added,) = playbook([proxy_task(samba, object=name, addresses=[other])])
    assert added["failed"] is True and other in added["msg"] and usn(ldap_admin, dn) == before

    task = proxy_task(samba, object=name, addresses=[held.upper()], state="absent")
    rc, (checked,) = playbook([task], check=True)
    assert rc == 0 and checked["changed"] is True and usn(ldap_admin, dn) == before

    rc, (removed,) = playbook([task])
    assert rc == 0 and removed["changed"] is True, removed.get("msg")
    assert read(ldap_admin, dn).proxyAddresses.values == ["SMTP:%s@contoso.com" % name]

    after = usn(ldap_admin, dn)
    rc, (again,) = playbook([task])
    assert rc == 0 and again["changed"] is False and usn(ldap_admin, dn) == after
