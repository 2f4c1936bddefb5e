import json

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._rules.sync_scope import (
    ADMIN_DESCRIPTION_MAX, MARKER, ObjectFacts, ScopeError, check_options, destination_refusals, diff_entry, dump_records,
    excluded_by_admin_description, is_ours, load_records, normal_dn, parse_requests, plan_admin_description,
    plan_ou, same_dn, same_object_refusals, split_dn, updated_records,
)

OU = "OU=Staff,DC=contoso,DC=test"
PARKING = "OU=Parking,DC=contoso,DC=test"
GUID = "3ab39606-c642-489b-84b6-58c038d3ef39"
NOW = "2026-11-20T10:15:02Z"


def user(admin_description=None, parent=OU, name="VP"):
    return ObjectFacts("CN=%s,%s" % (name, parent), GUID, admin_description)


# -- the adminDescription rule -----------------------------------------------------------------

@pytest.mark.parametrize("value,excluded", [
    (None, False), ("", False), ("Staff", False), ("User_", True), ("user_parked", True), ("USER_X", True),
    ("User", False), ("Group_x", False), (" User_x", False),
])
def test_connect_default_rule_is_a_case_insensitive_prefix(value, excluded):
    assert excluded_by_admin_description(value) is excluded


def test_ours_is_the_marker_in_any_case():
    assert is_ours("User_syncfix:") and is_ours("user_SYNCFIX:old") and not is_ours("User_parked")


# -- method admin_description: every state and force ------------------------------------------

@pytest.mark.parametrize("previous", [None, "Staff member", "x" * (ADMIN_DESCRIPTION_MAX - len(MARKER))])
def test_excluded_records_the_previous_value_and_included_restores_it_exactly(previous):
    out = plan_admin_description("vp", user(previous), "excluded")
    assert out.changed and out.refusal is None
    assert out.new_admin_description == MARKER + (previous or "")
    assert out.before() == {"in_scope": True, "admin_description": previous, "dn": "CN=VP," + OU}
    assert out.after() == {"in_scope": False, "admin_description": MARKER + (previous or ""), "dn": "CN=VP," + OU}
    # the modify is a compare-and-swap on the value read
    assert out.admin_description_changes() == {"adminDescription": (
        [("delete", [previous])] if previous else []) + [("add", [MARKER + (previous or "")])]}

    back = plan_admin_description("vp", user(out.new_admin_description), "included")
    assert back.changed and back.new_admin_description == previous
    assert back.after()["in_scope"] is True
    expected = [("delete", [MARKER + (previous or "")])] + ([("add", [previous])] if previous else [])
    assert back.admin_description_changes() == {"adminDescription": expected}
    assert ("cleared" in back.msg) is (previous is None)


@pytest.mark.parametrize("state,value", [("excluded", "User_syncfix:"), ("excluded", "User_syncfix:Staff"),
                                         ("included", None), ("included", "Staff")])
def test_second_run_changes_nothing(state, value):
    for force in (False, True):
        out = plan_admin_description("vp", user(value), state, force=force)
        assert not out.changed and out.refusal is None and out.after() == out.before()
        assert out.msg.startswith("already")


@pytest.mark.parametrize("force", [False, True])
def test_someone_elses_value_counts_as_out_and_is_left_alone(force):
    out = plan_admin_description("vp", user("User_DoNotSync"), "excluded", force=force)
    assert not out.changed and out.refusal is None
    assert "already out of scope" in out.msg and "User_DoNotSync" in out.msg and "not written by this module" in out.msg


def test_someone_elses_value_is_refused_on_the_way_back_without_force():
    out = plan_admin_description("vp", user("user_parked"), "included")
    assert not out.changed
    for word in ("CN=VP," + OU, "'user_parked'", "not written by this module", "administrator or another tool",
                 "force: true"):
        assert word in out.refusal
    result = out.result()
    assert result["failed"] is True and result["msg"] == out.refusal and result["after"] == result["before"]


def test_someone_elses_value_is_cleared_with_force():
    out = plan_admin_description("vp", user("user_parked"), "included", force=True)
    assert out.changed and out.new_admin_description is None and "force" in out.msg
    assert out.admin_description_changes() == {"adminDescription": [("delete", ["user_parked"])]}


@pytest.mark.parametrize("force", [False, True])
def test_our_value_recording_a_user_value_needs_force_to_come_back(force):
    out = plan_admin_description("vp", user("User_syncfix:User_old"), "included", force=force)
    if force:
        assert out.changed and out.new_admin_description is None
    else:
        assert out.refusal and "'User_old'" in out.refusal and "force" in out.refusal


def test_a_value_too_long_for_the_prefix_is_refused():
    out = plan_admin_description("vp", user("x" * (ADMIN_DESCRIPTION_MAX - len(MARKER) + 1)), "excluded")
    assert out.refusal and "1024" in out.refusal and "method ou" in out.refusal and not out.changed


# -- method ou ---------------------------------------------------------------------------------

def test_ou_excluded_moves_and_records_the_parent():
    out = plan_ou("vp", user("Staff"), "excluded", PARKING, now=NOW)
    assert out.changed and out.new_parent == PARKING and out.after_dn == "CN=VP," + PARKING
    assert out.record == {"dn": "CN=VP," + OU, "parent": OU, "time": NOW}
    assert out.before()["in_scope"] is True
    assert out.after() == {"in_scope": False, "admin_description": "Staff", "dn": "CN=VP," + PARKING}
    assert out.result()["record"] == {"guid": GUID, "dn": "CN=VP," + OU, "parent": OU, "time": NOW}


def test_ou_excluded_twice_changes_nothing_and_says_whether_a_record_exists():
    parked = user(parent=PARKING.lower())
    out = plan_ou("vp", parked, "excluded", PARKING, now=NOW)
    assert not out.changed and out.record is None and "needs target_ou" in out.msg
    out = plan_ou("vp", parked, "excluded", PARKING, record={"dn": "x", "parent": OU, "time": NOW}, now=NOW)
    assert not out.changed and OU in out.msg


@pytest.mark.parametrize("target,record,destination", [
    (None, {"dn": "CN=VP," + OU, "parent": OU, "time": NOW}, OU),
    ("OU=Other,DC=contoso,DC=test", {"dn": "CN=VP," + OU, "parent": OU, "time": NOW}, "OU=Other,DC=contoso,DC=test"),
    ("OU=Other,DC=contoso,DC=test", None, "OU=Other,DC=contoso,DC=test"),
])
def test_ou_included_goes_to_target_ou_else_the_record(target, record, destination):
    out = plan_ou("vp", user(parent=PARKING), "included", PARKING, target_ou=target, record=record)
    assert out.changed and out.new_parent == destination and out.after()["in_scope"] is True
    assert out.forget_record is (record is not None)


def test_ou_included_without_record_or_target_is_refused_with_the_fix():
    out = plan_ou("vp", user(parent=PARKING), "included", PARKING)
    assert not out.changed and "target_ou" in out.refusal and GUID in out.refusal


def test_ou_included_into_the_parking_ou_is_refused():
    out = plan_ou("vp", user(parent=PARKING), "included", PARKING, target_ou=PARKING.upper())
    assert out.refusal and "parking OU itself" in out.refusal


def test_ou_included_outside_parking_changes_nothing():
    out = plan_ou("vp", user(), "included", PARKING, target_ou="OU=Other,DC=contoso,DC=test")
    assert not out.changed and out.msg.startswith("already outside")


def test_ou_method_reports_a_user_value_as_out_of_scope():
    assert plan_ou("vp", user("User_parked"), "included", PARKING).before()["in_scope"] is False


def test_destination_refusals_name_taken_names_missing_ous_and_collisions_between_items():
    a = plan_ou("a", ObjectFacts("CN=Ann,OU=A,DC=c", "1"), "excluded", "OU=P,DC=c", now=NOW)
    b = plan_ou("b", ObjectFacts("CN=Ann,OU=B,DC=c", "2"), "excluded", "OU=P,DC=c", now=NOW)
    c = plan_ou("c", ObjectFacts("CN=Cy,OU=B,DC=c", "3"), "excluded", "OU=P,DC=c", now=NOW)
    assert destination_refusals([a, b, c], set(), {"ou=p,dc=c"}) == {
        "b": "CN=Ann,OU=B,DC=c: CN=Ann,OU=P,DC=c would also be the new name of CN=Ann,OU=A,DC=c; "
             "rename one of them first"}
    assert "already exists" in destination_refusals([c], {"cn=cy,ou=p,dc=c"}, {"ou=p,dc=c"})["c"]
    assert "does not exist" in destination_refusals([c], set(), set())["c"]


# -- record file round trip --------------------------------------------------------------------

def test_records_round_trip_and_update():
    out = plan_ou("vp", user(), "excluded", PARKING, now=NOW)
    records = updated_records({}, [out], {"vp"})
    text = dump_records(records)
    assert json.loads(text) == {"version": 1, "objects": {GUID: {"dn": "CN=VP," + OU, "parent": OU, "time": NOW}}}
    assert load_records(text) == records
    assert load_records(text.replace(GUID, GUID.upper())) == records  # GUIDs compared without case
    assert updated_records({}, [out], set()) == {}  # not done, not recorded

    back = plan_ou("vp", user(parent=PARKING), "included", PARKING, record=load_records(text)[GUID])
    assert back.new_parent == OU
    assert updated_records(load_records(text), [back], {"vp"}) == {}
    assert updated_records(load_records(text), [back], set()) == records


@pytest.mark.parametrize("text,word", [
    ("not json", "not JSON"), ("[]", "no 'objects'"), ('{"version": 2, "objects": {}}', "version 2"),
    ('{"version": 1, "objects": {"g": {"dn": "x"}}}', "entry g"),
])
def test_bad_record_files_are_named(text, word):
    with pytest.raises(ScopeError, match=word):
        load_records(text)


def test_empty_record_file_is_no_records():
    assert load_records("") == {}


# -- requests, DNs, duplicates, diff -----------------------------------------------------------

def test_requests_take_the_module_state_unless_the_item_has_one():
    requests = parse_requests(objects=[{"object": "a", "state": None}, {"object": "b", "state": "included"}],
                              state="excluded")
    assert [(r.identity, r.state) for r in requests] == [("a", "excluded"), ("b", "included")]
    assert [(r.identity, r.state) for r in parse_requests("vp", None, "included")] == [("vp", "included")]


def test_bad_requests_are_all_named():
    with pytest.raises(ScopeError) as info:
        parse_requests(objects=[{"object": "a"}, {"object": "", "state": "excluded"},
                                {"object": "b", "state": "excluded"}, {"object": "B", "state": "included"}])
    text = str(info.value)
    for word in ("nothing was changed", "a: no state", "objects[1]: no object", "B: listed twice"):
        assert word in text


def test_one_object_through_two_selectors_is_named_with_both():
    refusals = same_object_refusals([("vp", "CN=VP,OU=Staff,DC=c"), ("CN=VP,OU=Staff,DC=c", "cn=vp,ou=staff,dc=c"),
                                     ("ann", "CN=Ann,DC=c")])
    assert refusals == ["vp and CN=VP,OU=Staff,DC=c both name CN=VP,OU=Staff,DC=c; keep one item per object"]


def test_dns_split_with_escaped_commas_and_compare_without_case():
    assert split_dn(r"CN=Doe\, Ann,OU=Staff,DC=c") == (r"CN=Doe\, Ann", "OU=Staff,DC=c")
    assert same_dn("CN=A, OU=Staff,DC=c", "cn=a,ou=staff,dc=C") and normal_dn("CN = A,DC=c") == "cn=a,dc=c"
    for bad in ("nodn", "CN=A,,DC=c"):
        with pytest.raises(ScopeError):
            split_dn(bad)
    with pytest.raises(ScopeError, match="no parent"):
        split_dn("DC=c")


def test_the_diff_entry_is_the_attribute_the_method_writes():
    excluded = plan_admin_description("z", ObjectFacts("CN=Zed,DC=c", "1", "Old"), "excluded")
    assert diff_entry(excluded, "before") == ("CN=Zed,DC=c", {"adminDescription": "Old"})
    assert diff_entry(excluded, "after") == ("CN=Zed,DC=c", {"adminDescription": "User_syncfix:Old"})
    fresh = plan_admin_description("a", ObjectFacts("CN=Ann,DC=c", "2"), "excluded")
    assert diff_entry(fresh, "before") == ("CN=Ann,DC=c", {"adminDescription": None})
    moved = plan_ou("vp", user(), "excluded", PARKING, now=NOW)
    assert diff_entry(moved, "before") == ("CN=VP,%s" % OU, {"dn": "CN=VP,%s" % OU})
    assert diff_entry(moved, "after") == ("CN=VP,%s" % OU, {"dn": "CN=VP,%s" % PARKING})


# -- the action text (check mode says "would <action>") and the options --------------------------

def test_the_action_is_the_message_as_a_write_still_to_come():
    assert plan_ou("vp", user(), "excluded", PARKING, now=NOW).action == "move from %s to %s" % (OU, PARKING)
    back = plan_ou("vp", user(parent=PARKING), "included", PARKING, target_ou=OU)
    assert back.action.startswith("move back from %s to %s" % (PARKING, OU))
    assert plan_admin_description("vp", user(), "excluded").action.startswith("set adminDescription 'User_syncfix:'")
    assert plan_admin_description("vp", user(MARKER + "Kept"), "included").action == "restore adminDescription 'Kept'"
    assert plan_admin_description("vp", user(MARKER), "included").action.startswith("clear adminDescription")


def test_options_of_the_ou_method_are_refused_with_admin_description_and_ous_must_be_dns():
    with pytest.raises(ScopeError, match="parking_ou, record_path: only used with method ou"):
        check_options("admin_description", parking_ou=PARKING, record_path="/tmp/r.json")
    with pytest.raises(ScopeError, match="target_ou: .*not a distinguished name.*nothing was changed"):
        check_options("ou", parking_ou=PARKING, target_ou="Staff")
    check_options("ou", parking_ou=PARKING, target_ou=OU, record_path="/tmp/r.json")


def test_a_record_file_that_fails_mid_write_keeps_the_old_one(tmp_path, monkeypatch):
    import os
    from ansible_collections.syncfix.entra.plugins.module_utils._report import private_file as _private_file
    from ansible_collections.syncfix.entra.plugins.module_utils._backends import ad_sync_scope as _sync_scope_writes
    record_path = tmp_path / "records.json"
    record_path.write_text("the old record")

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(_private_file.os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        _sync_scope_writes.write_records(str(record_path), {GUID: {"dn": "CN=VP," + OU, "parent": OU, "time": NOW}})
    assert record_path.read_text() == "the old record" and os.listdir(tmp_path) == ["records.json"]


def test_one_case_rule_for_the_scoping_filter_and_the_marker():
    # Connect's NOTSTARTSWITH User_ and our marker compare without case; an admin's own prefixes likewise.
    assert excluded_by_admin_description("USER_parked") and excluded_by_admin_description(MARKER + "x")
    assert not excluded_by_admin_description("Users of sales") and not excluded_by_admin_description(None)
    assert excluded_by_admin_description("noSync: left", ("NOSYNC:",))
    assert not excluded_by_admin_description("User_parked", ("nosync:",)), "an admin's prefixes replace the default"
    assert is_ours(MARKER.upper() + "old") and not is_ours("User_")
