"""ad_source_anchor's main() offline, through the shared module base and converge engine."""

import uuid

from ansible_collections.syncfix.entra.plugins.modules import ad_source_anchor

from module_runner import FakeAD, ad_user, run_module

CONNECTION = dict(server=["dc1.contoso.test"], bind_dn="svc@contoso.test", bind_password="secret")
OLD, NEW = uuid.UUID("3ab39606-c642-489b-84b6-58c038d3ef39"), uuid.UUID("0b1c3ec4-2d2a-4b5f-9e0e-5ad2e1c3d4f5")


def directory(consistency=None):
    extra = {"mS-DS-ConsistencyGuid": [consistency.bytes_le]} if consistency else {}
    return FakeAD(ad_user("jdoe", uuid.uuid4(), **extra))


def test_set_then_again_is_unchanged():
    ad = directory()
    result = run_module(ad_source_anchor.main, dict(CONNECTION, object="jdoe", consistency_guid=str(OLD)), ad=ad, diff=True)
    assert result["changed"] is True and result["results"][0]["after"]["guid"] == str(OLD)
    assert ad.modifies == [(ad.modifies[0][0], {"mS-DS-ConsistencyGuid": [("replace", [OLD.bytes_le])]})]
    ((dn, after),) = result["diff"]["after"].items()
    assert after == {"mS-DS-ConsistencyGuid": str(OLD), "immutable_id": "BpazOkLGm0iEtljAONPvOQ=="}
    assert result["diff"]["before"] == {dn: {}}, "unset, so left out"
    again = run_module(ad_source_anchor.main, dict(CONNECTION, object="jdoe", consistency_guid=str(OLD)), ad=ad)
    assert again["changed"] is False and again["results"][0]["msg"] == "already as requested"
    assert len(ad.modifies) == 1


def test_check_mode_writes_nothing_and_says_would():
    ad = directory()
    result = run_module(ad_source_anchor.main, dict(CONNECTION, object="jdoe", consistency_guid=str(OLD)), ad=ad,
                        check_mode=True)
    assert result["changed"] is True and result["results"][0]["msg"] == "would set mS-DS-ConsistencyGuid"
    assert ad.modifies == []


def test_replacing_needs_force_and_nothing_else_is_written():
    ad = FakeAD(ad_user("jdoe", uuid.uuid4(), **{"mS-DS-ConsistencyGuid": [OLD.bytes_le]}),
                ad_user("ann", uuid.uuid4()))
    result = run_module(ad_source_anchor.main, dict(CONNECTION, objects=[
        dict(object="jdoe", consistency_guid=str(NEW)), dict(object="ann", consistency_guid=str(OLD))]), ad=ad)
    assert result["failed"] is True and ad.modifies == []
    jdoe, ann = result["results"]
    assert jdoe["failed"] is True and "force: true" in jdoe["msg"] and jdoe["error"]["kind"] == "refused"
    assert ann["changed"] is False and "nothing was written because another item was refused" in ann["msg"]
    forced = run_module(ad_source_anchor.main, dict(CONNECTION, object="jdoe", consistency_guid=str(NEW), force=True), ad=ad)
    assert forced["changed"] is True and forced["results"][0]["before"]["guid"] == str(OLD)


def test_unknown_object_and_bad_guid_fail_before_any_write():
    ad = directory()
    unknown = run_module(ad_source_anchor.main, dict(CONNECTION, object="nobody", consistency_guid=str(OLD)), ad=ad)
    assert unknown["failed"] is True and "nobody: no AD user has this name" in unknown["msg"]
    assert "lookup_failure_action: warn" in unknown["msg"] and unknown["error"]["kind"] == "input"
    bad = run_module(ad_source_anchor.main, dict(CONNECTION, object="jdoe", consistency_guid="not-a-guid"), ad=ad)
    assert bad["failed"] is True and "jdoe:" in bad["msg"] and bad["error"]["kind"] == "input"
    assert ad.modifies == []


def test_a_failed_write_fails_the_item_with_the_ldap_details():
    from ansible_collections.syncfix.entra.plugins.module_utils._ldap.client import LdapError

    ad = directory()

    def refuse(dn, changes):
        raise LdapError("modify of %s failed: insufficientAccessRights" % dn, 50)

    ad.modify = refuse
    result = run_module(ad_source_anchor.main, dict(CONNECTION, object="jdoe", consistency_guid=str(OLD)), ad=ad)
    item = result["results"][0]
    assert result["failed"] is True and item["changed"] is False and item["error"] == {
        "kind": "ldap", "message": item["msg"], "result": 50}
    assert "Untouched" not in result["msg"] and "1 of 1 items failed" in result["msg"]


def test_one_user_named_by_sam_and_by_dn_is_refused_before_any_write():
    ad = directory()
    dn = next(iter(ad.entries.values()))["dn"]
    result = run_module(ad_source_anchor.main, dict(CONNECTION, objects=[
        dict(object="jdoe", consistency_guid=str(OLD)), dict(object=dn.upper(), consistency_guid=str(NEW))]), ad=ad)
    assert result["failed"] is True and ad.modifies == []
    assert all(r["failed"] and r["error"]["kind"] == "refused" for r in result["results"])
    assert "'jdoe' and %r name the same object" % dn.upper() in result["results"][0]["msg"]


def test_an_anchor_another_ad_object_holds_is_refused_naming_it():
    # ann's objectGUID is her sourceAnchor (no mS-DS-ConsistencyGuid): writing it into jdoe makes
    # two AD objects claim one cloud user.
    ann_guid = uuid.uuid4()
    ad = FakeAD(ad_user("jdoe", uuid.uuid4()), ad_user("ann", ann_guid),
                ad_user("bob", uuid.uuid4(), **{"mS-DS-ConsistencyGuid": [NEW.bytes_le]}))
    result = run_module(ad_source_anchor.main, dict(CONNECTION, objects=[dict(object="jdoe", consistency_guid=str(ann_guid))]),
                        ad=ad)
    assert result["failed"] is True and ad.modifies == []
    assert "is already the sourceAnchor of CN=ann,OU=Staff,DC=contoso,DC=test" in result["results"][0]["msg"]
    forced = run_module(ad_source_anchor.main, dict(CONNECTION, object="jdoe", consistency_guid=str(NEW), force=True), ad=ad)
    assert forced["failed"] is True and "CN=bob," in forced["results"][0]["msg"] and ad.modifies == []


def test_one_search_finds_the_holders_of_every_value_and_two_objects_asking_one_value_are_refused():
    ad = FakeAD(ad_user("jdoe", uuid.uuid4()), ad_user("ann", uuid.uuid4()), ad_user("bob", uuid.uuid4()))
    result = run_module(ad_source_anchor.main, dict(CONNECTION, objects=[
        dict(object="jdoe", consistency_guid=str(OLD)), dict(object="ann", consistency_guid=str(OLD)), dict(object="bob", consistency_guid=str(NEW))]),
        ad=ad)
    assert result["failed"] is True and ad.modifies == []
    jdoe, ann, bob = result["results"]
    assert "sourceAnchor of CN=ann," in jdoe["msg"] and "sourceAnchor of CN=jdoe," in ann["msg"]
    assert not bob.get("failed") and ad.stats["searches"] == 2, "one lookup, one holder search"


def test_with_lookup_failure_action_warn_an_unknown_object_is_skipped_and_the_others_written():
    ad = directory()
    result = run_module(ad_source_anchor.main, dict(CONNECTION, lookup_failure_action="warn", objects=[
        dict(object="jdoe", consistency_guid=str(OLD)), dict(object="nobody", consistency_guid=str(NEW))]), ad=ad)
    assert not result.get("failed") and result["changed"] is True, result
    written, skipped = result["results"]
    assert written["item"] == "jdoe" and written["changed"] is True and len(ad.modifies) == 1
    assert skipped["item"] == "nobody" and skipped["found"] is False and skipped["changed"] is False
    assert skipped["msg"] == "skipped: no AD user has this name (lookup_failure_action: warn)"


def test_two_anchors_in_one_item_are_refused_naming_the_item_before_any_write():
    ad = FakeAD(ad_user("jdoe", uuid.uuid4()), ad_user("ann", uuid.uuid4()))
    result = run_module(ad_source_anchor.main, dict(CONNECTION, objects=[
        dict(object="ann", consistency_guid=str(NEW)),
        dict(object="jdoe", consistency_guid=str(OLD), immutable_id="BpazOkLGm0iEtljAONPvOQ==")]), ad=ad)
    assert result["failed"] is True and result["error"]["kind"] == "input"
    assert "jdoe: state=present needs exactly one of immutable_id, consistency_guid" in result["msg"], result
    assert ad.modifies == []


def test_clearing_needs_force_and_names_the_object():
    # Issue 26, finding 6: state=absent cleared mS-DS-ConsistencyGuid without force.
    ad = directory(OLD)
    dn = next(iter(ad.entries.values()))["dn"]
    refused = run_module(ad_source_anchor.main, dict(CONNECTION, object="jdoe", state="absent"), ad=ad)
    (item,) = refused["results"]
    assert refused["failed"] is True and item["error"]["kind"] == "refused" and ad.modifies == [], refused
    assert dn in item["msg"] and "set force: true" in item["msg"].lower() and str(OLD) in item["msg"]
    checked = run_module(ad_source_anchor.main, dict(CONNECTION, object="jdoe", state="absent", force=True), ad=ad,
                         check_mode=True)
    assert checked["results"][0]["msg"] == "would clear mS-DS-ConsistencyGuid" and ad.modifies == []
    cleared = run_module(ad_source_anchor.main, dict(CONNECTION, objects=[dict(object="jdoe", state="absent",
                                                                               force=True)]), ad=ad, diff=True)
    assert cleared["changed"] is True and cleared["results"][0]["before"]["guid"] == str(OLD), cleared
    assert ad.modifies == [(dn, {"mS-DS-ConsistencyGuid": [("replace", [])]})]
    again = run_module(ad_source_anchor.main, dict(CONNECTION, object="jdoe", state="absent"), ad=ad)
    assert again["changed"] is False and not again.get("failed"), "nothing to clear needs no force"


def test_an_items_force_is_its_own():
    # Issue 26, finding 5: jdoe's item carries force; ann's does not, so ann's replace is refused.
    ad = FakeAD(ad_user("jdoe", uuid.uuid4(), **{"mS-DS-ConsistencyGuid": [OLD.bytes_le]}),
                ad_user("ann", uuid.uuid4(), **{"mS-DS-ConsistencyGuid": [uuid.uuid4().bytes_le]}))
    result = run_module(ad_source_anchor.main, dict(CONNECTION, objects=[
        dict(object="jdoe", consistency_guid=str(NEW), force=True), dict(object="ann", state="absent")]), ad=ad)
    jdoe, ann = result["results"]
    assert ann["failed"] is True and "set force: true" in ann["msg"].lower() and "CN=ann," in ann["msg"], result
    assert not jdoe.get("failed") and ad.modifies == []
    forced = run_module(ad_source_anchor.main, dict(CONNECTION, force=True, objects=[
        dict(object="jdoe", consistency_guid=str(NEW)), dict(object="ann", state="absent", force=False)]), ad=ad)
    assert forced["results"][1]["failed"] is True, "an item's force: false is not overridden by the module's"
