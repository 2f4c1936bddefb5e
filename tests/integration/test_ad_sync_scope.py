"""ad_sync_scope through ansible-playbook against the lab's Samba DC.

Every check reads the object straight from the DC (not through the collection); a run that
must not write leaves uSNChanged as it was.
"""

import json
import os
import stat
import uuid

import pytest


def connection_args(samba, **extra):
    args = dict(server=["%s:%d" % (samba["ldap_server"], samba["ldaps_port"])], bind_dn=samba["bind_dn"],
                bind_password=samba["bind_password"], ca_path=samba["ldap_ca_path"])
    args.update(extra)
    return args


def task(samba, **options):
    return {"syncfix.entra.ad_sync_scope": connection_args(samba, **options)}


def make_ou(ldap_admin, parent, name):
    dn = "OU=%s,%s" % (name, parent)
    ldap_admin.add(dn, ["top", "organizationalUnit"])
    assert ldap_admin.result["description"] == "success", ldap_admin.result
    return dn


def make_user(ldap_admin, parent, name=None, admin_description=None):
    name = name or "sc-%s" % uuid.uuid4().hex[:8]
    dn = "CN=%s,%s" % (name, parent)
    attributes = {"sAMAccountName": name[:20], "userPrincipalName": "%s@contoso.com" % name}
    if admin_description:
        attributes["adminDescription"] = admin_description
    ldap_admin.add(dn, ["top", "person", "organizationalPerson", "user"], attributes)
    assert ldap_admin.result["description"] == "success", ldap_admin.result
    return dn, name


def read(ldap_admin, dn):
    """(adminDescription or None, uSNChanged), or None when the DN does not exist."""
    ldap_admin.search(dn, "(objectClass=*)", search_scope="BASE", attributes=["adminDescription", "uSNChanged"])
    if not ldap_admin.entries:
        return None
    entry = ldap_admin.entries[0]
    return entry.adminDescription.value if "adminDescription" in entry else None, int(entry.uSNChanged.value)


def guid_of(ldap_admin, dn):
    ldap_admin.search(dn, "(objectClass=*)", search_scope="BASE", attributes=["objectGUID"])
    return str(uuid.UUID(bytes_le=ldap_admin.entries[0].objectGUID.raw_values[0]))


@pytest.mark.parametrize("prior", [None, "Sales, floor 3"])
def test_out_and_back_restores_the_exact_prior_value_and_repeats_change_nothing(samba, ldap_admin, ou, playbook,
                                                                                prior):
    dn, name = make_user(ldap_admin, ou, admin_description=prior)
    out, back = task(samba, object=name, state="excluded"), task(samba, object=dn, state="included")

    rc, (first, second) = playbook([out, out])
    assert rc == 0, first.get("msg")
    assert first["changed"] is True and second["changed"] is False
    (item,) = first["results"]
    assert item["before"] == {"in_scope": True, "admin_description": prior, "dn": dn}
    assert item["after"] == {"in_scope": False, "admin_description": "User_syncfix:%s" % (prior or ""), "dn": dn}
    assert first["ldap_operations"]["modifies"] == 1 and second["ldap_operations"]["modifies"] == 0
    assert read(ldap_admin, dn)[0] == "User_syncfix:%s" % (prior or "")

    rc, (third, fourth) = playbook([back, back])
    assert rc == 0, third.get("msg")
    assert third["changed"] is True and fourth["changed"] is False
    assert third["results"][0]["after"] == {"in_scope": True, "admin_description": prior, "dn": dn}
    assert read(ldap_admin, dn)[0] == prior


def test_check_mode_writes_nothing_and_diff_shows_each_value(samba, ldap_admin, ou, playbook):
    users = [make_user(ldap_admin, ou, "sc-b-%s" % uuid.uuid4().hex[:6], "Kept"),
             make_user(ldap_admin, ou, "sc-a-%s" % uuid.uuid4().hex[:6])]
    before = [read(ldap_admin, dn) for dn, name in users]
    excluded = task(samba, objects=[{"object": name, "state": "excluded"} for dn, name in users])

    rc, (checked,) = playbook([excluded], check=True, diff=True)
    assert rc == 0 and checked["changed"] is True
    assert [read(ldap_admin, dn) for dn, name in users] == before, "check mode wrote"
    assert checked["ldap_operations"]["modifies"] == 0
    b_dn, a_dn = users[0][0], users[1][0]
    assert checked["diff"]["before"] == {a_dn: {}, b_dn: {"adminDescription": "Kept"}}
    assert checked["diff"]["after"] == {a_dn: {"adminDescription": "User_syncfix:"},
                                        b_dn: {"adminDescription": "User_syncfix:Kept"}}

    rc, (applied,) = playbook([excluded], diff=True)
    assert rc == 0 and applied["diff"] == checked["diff"]
    assert [r["changed"] for r in applied["results"]] == [True, True]

    # the way back in check mode writes nothing either
    after = [read(ldap_admin, dn) for dn, name in users]
    rc, (checked_back,) = playbook([task(samba, objects=[{"object": dn, "state": "included"} for dn, n in users])],
                                   check=True)
    assert rc == 0 and checked_back["changed"] is True
    assert [read(ldap_admin, dn) for dn, name in users] == after


def test_someone_elses_user_value_is_out_already_and_refused_on_the_way_back_without_force(samba, ldap_admin, ou,
                                                                                           playbook):
    dn, name = make_user(ldap_admin, ou, admin_description="User_DoNotSync")
    other, other_name = make_user(ldap_admin, ou)
    usn = read(ldap_admin, dn)[1]
    other_usn = read(ldap_admin, other)[1]

    rc, (out, refused) = playbook([
        task(samba, object=name, state="excluded"),
        task(samba, objects=[{"object": other_name, "state": "excluded"}, {"object": name, "state": "included"}]),
    ])
    assert out["changed"] is False and "already out of scope" in out["results"][0]["msg"]
    assert refused["failed"] is True
    for word in ("1 of 2 items failed", name, "'User_DoNotSync'", "not written by this module", "force: true"):
        assert word in refused["msg"]
    assert read(ldap_admin, dn) == ("User_DoNotSync", usn) and read(ldap_admin, other)[1] == other_usn, \
        "a refusal wrote"

    rc, (forced,) = playbook([task(samba, object=name, state="included", force=True)])
    assert rc == 0 and forced["changed"] is True and read(ldap_admin, dn)[0] is None


def test_unknown_object_fails_before_any_write(samba, ldap_admin, ou, playbook):
    dn, name = make_user(ldap_admin, ou)
    usn = read(ldap_admin, dn)[1]
    missing = "nobody-%s" % uuid.uuid4().hex[:6]
    rc, (result,) = playbook([task(samba, state="excluded", objects=[{"object": name}, {"object": missing}])])
    assert result["failed"] is True and missing in result["msg"] and "nothing was changed" in result["msg"]
    assert read(ldap_admin, dn)[1] == usn


def test_one_object_named_twice_is_refused_naming_both(samba, ldap_admin, ou, playbook):
    dn, name = make_user(ldap_admin, ou)
    usn = read(ldap_admin, dn)[1]
    rc, (result,) = playbook([task(samba, objects=[{"object": name, "state": "excluded"},
                                                   {"object": dn, "state": "included"}])])
    assert result["failed"] is True
    assert name in result["msg"] and dn in result["msg"] and "nothing was changed" in result["msg"]
    assert read(ldap_admin, dn)[1] == usn


def test_ou_method_round_trip_with_a_record_file(samba, ldap_admin, ou, playbook, tmp_path):
    staff = make_ou(ldap_admin, ou, "Staff")
    parking = make_ou(ldap_admin, ou, "Parking")
    dn, name = make_user(ldap_admin, staff, admin_description="Keep me")
    guid = guid_of(ldap_admin, dn)
    record_path = str(tmp_path / "scope-record.json")
    parked_dn = "CN=%s,%s" % (name, parking)
    options = dict(method="ou", parking_ou=parking, record_path=record_path)

    rc, (checked,) = playbook([task(samba, object=name, state="excluded", **options)], check=True, diff=True)
    assert rc == 0 and checked["changed"] is True
    assert checked["diff"]["after"] == {dn: {"dn": parked_dn}}
    assert read(ldap_admin, dn) is not None and not os.path.exists(record_path), "check mode wrote"

    rc, (out, again) = playbook([task(samba, object=name, state="excluded", **options)] * 2)
    assert rc == 0, out.get("msg")
    assert out["changed"] is True and again["changed"] is False
    assert out["ldap_operations"]["moves"] == 1
    (item,) = out["results"]
    assert item["after"] == {"in_scope": False, "admin_description": "Keep me", "dn": parked_dn}
    assert item["record"]["parent"] == staff and item["record"]["dn"] == dn and item["record"]["guid"] == guid
    assert read(ldap_admin, dn) is None and read(ldap_admin, parked_dn)[0] == "Keep me"
    assert stat.S_IMODE(os.stat(record_path).st_mode) == 0o600
    with open(record_path) as handle:
        assert json.load(handle)["objects"][guid]["parent"] == staff

    # without the record and without target_ou the way back is refused, with the fix
    rc, (refused,) = playbook([task(samba, object=name, state="included", method="ou", parking_ou=parking)])
    assert refused["failed"] is True and "target_ou" in refused["msg"]
    assert read(ldap_admin, parked_dn) is not None

    rc, (back, back_again) = playbook([task(samba, object=guid, state="included", **options)] * 2)
    assert rc == 0, back.get("msg")
    assert back["changed"] is True and back_again["changed"] is False
    assert back["results"][0]["after"]["dn"] == dn and back["results"][0]["after"]["in_scope"] is True
    assert read(ldap_admin, dn)[0] == "Keep me" and read(ldap_admin, parked_dn) is None
    with open(record_path) as handle:
        assert json.load(handle)["objects"] == {}
    assert stat.S_IMODE(os.stat(record_path).st_mode) == 0o600


def test_ou_method_refuses_a_missing_parking_ou_before_any_write(samba, ldap_admin, ou, playbook):
    dn, name = make_user(ldap_admin, ou)
    usn = read(ldap_admin, dn)[1]
    missing = "OU=NoSuch-%s,%s" % (uuid.uuid4().hex[:6], ou)
    rc, (result,) = playbook([task(samba, object=name, state="excluded", method="ou", parking_ou=missing)])
    assert result["failed"] is True and missing in result["msg"] and "does not exist" in result["msg"]
    assert read(ldap_admin, dn)[1] == usn


def test_docs_render(ansible):
    result = ansible("ansible-doc", "--json", "syncfix.entra.ad_sync_scope")
    assert result.returncode == 0, result.stderr
    doc = json.loads(result.stdout)["syncfix.entra.ad_sync_scope"]
    assert set(doc["doc"]["options"]) >= {"object", "objects", "state", "method", "force", "parking_ou",
                                          "target_ou", "record_path"}
    assert "results" in doc["return"] and doc["examples"]


def module_args(args):
    """Arguments through Ansible's own channel (ansible-core 2.19's helper, else the old global)."""
    try:
        from ansible.module_utils.testing import patch_module_args
    except ImportError:  # ansible-core < 2.19
        from unittest import mock

        from ansible.module_utils import basic
        return mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode())
    return patch_module_args(args)


@pytest.mark.parametrize("applied_anyway", [False, True])
def test_a_failure_mid_way_says_what_was_done_and_what_was_untouched(samba, ldap_admin, ou, tmp_path, monkeypatch,
                                                                     applied_anyway):
    """The module's own main() in this process against the real DC; the second move is made to
    fail as a lost connection does (no LDAP result code), before or after the DC applied it."""
    import lab_fixtures

    lab_fixtures.import_collection_from_checkout()
    from ansible.module_utils import basic
    from ansible_collections.syncfix.entra.plugins.module_utils._ldap.client import DirectoryConnection, LdapError
    from ansible_collections.syncfix.entra.plugins.modules import ad_sync_scope

    staff, parking = make_ou(ldap_admin, ou, "Staff"), make_ou(ldap_admin, ou, "Parking")
    (first, first_name), (second, second_name) = make_user(ldap_admin, staff), make_user(ldap_admin, staff)
    record_path = tmp_path / "record.json"
    real_move, calls = DirectoryConnection.move, []

    def flaky_move(directory, dn, new_parent):
        calls.append(dn)
        if len(calls) == 2:
            if applied_anyway:
                real_move(directory, dn, new_parent)
            raise LdapError("move of %s failed: the server closed the connection" % dn)
        real_move(directory, dn, new_parent)

    class Exit(Exception):
        pass

    def finish(module, **result):
        result.setdefault("failed", False)
        raise Exit(result)

    monkeypatch.setattr(DirectoryConnection, "move", flaky_move)
    monkeypatch.setattr(basic.AnsibleModule, "exit_json", finish)

    def fail(module, msg, **result):
        finish(module, msg=msg, failed=True, **result)

    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail)
    args = dict(connection_args(samba), method="ou", parking_ou=parking, record_path=str(record_path),
                state="excluded", objects=[{"object": first_name}, {"object": second_name}])
    with module_args(args), pytest.raises(Exit) as done:
        ad_sync_scope.main()
    result = done.value.args[0]

    records = json.loads(record_path.read_text())["objects"]
    assert read(ldap_admin, "CN=%s,%s" % (first_name, parking)) is not None
    if applied_anyway:
        assert result["failed"] is False and result["changed"] is True
        assert "done (confirmed by re-reading" in result["results"][1]["msg"]
        assert sorted(r["parent"] for r in records.values()) == [staff, staff]
    else:
        assert result["failed"] is True
        assert result["msg"].startswith("1 of 2 items failed: %s: " % second_name)
        assert "re-read: not applied" in result["msg"] and result["msg"].endswith("Done: %s" % first_name)
        assert result["results"][1]["changed"] is False and "record" not in result["results"][1]
        assert read(ldap_admin, second) is not None, "the failed item was moved"
        assert [r["dn"] for r in records.values()] == [first]


def test_bad_input_fails_naming_the_fix(samba, ldap_admin, ou, playbook, tmp_path):
    dn, name = make_user(ldap_admin, ou)
    usn = read(ldap_admin, dn)[1]
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    rc, results = playbook([
        task(samba, object=name),
        task(samba, objects=[{"object": name}]),
        task(samba, object=name, state="excluded", parking_ou=ou),
        task(samba, object=name, state="excluded", method="ou"),
        task(samba, object=name, state="included", method="ou", parking_ou=ou, record_path=str(broken)),
    ])
    words = [["state"], ["%s: no state" % name], ["parking_ou: only used with method ou"], ["parking_ou"],
             [str(broken), "is not JSON", "nothing was changed"]]
    for result, expected in zip(results, words):
        assert result["failed"] is True
        for word in expected:
            assert word in result["msg"], (word, result["msg"])
    assert read(ldap_admin, dn)[1] == usn
