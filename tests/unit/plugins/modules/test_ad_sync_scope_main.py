"""ad_sync_scope's main() offline, through the shared module base and converge engine."""

import json
import os
import stat
import uuid

from ansible_collections.syncfix.entra.plugins.modules import ad_sync_scope

from module_runner import FakeAD, ad_user, run_module

CONNECTION = dict(server=["dc1.contoso.test"], bind_dn="svc@contoso.test", bind_password="secret")
STAFF, PARKING = "OU=Staff,DC=contoso,DC=test", "OU=Parking,DC=contoso,DC=test"


class ScopeAD(FakeAD):
    """FakeAD with the compare-and-swap modify (delete the value read, add the new one), moves,
    and answers to the search for existing DNs."""

    def __init__(self, *entries):
        super(ScopeAD, self).__init__(*entries)
        self.stats["moves"] = 0
        self.moves = []
        self.ous = set([STAFF.lower(), PARKING.lower()])

    def search(self, search_filter, attributes, base=None, scope="subtree", page_size=None):
        if search_filter.startswith("(|(distinguishedName="):
            self.stats["searches"] += 1
            return [{"dn": dn, "attributes": {"objectClass": ["organizationalUnit"]}, "raw": {}}
                    for dn in self.ous if dn in search_filter.lower()]
        return super(ScopeAD, self).search(search_filter, attributes, base, scope, page_size)

    def modify(self, dn, changes):
        self.stats["modifies"] += 1
        self.modifies.append((dn, changes))
        values = self.entries[dn.lower()]["attributes"]
        for attribute, steps in changes.items():
            for operation, new in steps:
                current = values.get(attribute)
                current = current if isinstance(current, list) else ([current] if current else [])
                if operation == "delete":
                    assert current == list(new), "delete of a value that is not there"
                    values[attribute] = []
                else:
                    assert operation == "add" and not current, "add to a single-valued attribute"
                    values[attribute] = list(new)

    def move(self, dn, new_parent):
        self.stats["moves"] += 1
        self.moves.append((dn, new_parent))
        entry = self.entries.pop(dn.lower())
        entry["dn"] = "%s,%s" % (dn.split(",", 1)[0], new_parent)
        self.entries[entry["dn"].lower()] = entry


def directory(**attributes):
    return ScopeAD(ad_user("jdoe", uuid.uuid4(), **attributes), ad_user("ann", uuid.uuid4()))


def test_check_mode_writes_nothing_then_the_run_writes_and_a_second_run_is_unchanged():
    ad = directory()
    args = dict(CONNECTION, objects=[dict(object="jdoe"), dict(object="ann")], state="excluded")
    checked = run_module(ad_sync_scope.main, args, ad=ad, check_mode=True, diff=True)
    assert checked["changed"] is True and ad.modifies == []
    assert checked["results"][0]["msg"] == "would set adminDescription 'User_syncfix:' (previous value none recorded in it)"
    assert list(checked["diff"]["after"].values()) == [{"adminDescription": "User_syncfix:"}] * 2
    applied = run_module(ad_sync_scope.main, args, ad=ad, diff=True)
    assert applied["changed"] is True and len(ad.modifies) == 2 and applied["diff"] == checked["diff"]
    assert applied["results"][0]["msg"] == "set adminDescription 'User_syncfix:' (previous value none recorded in it)"
    assert applied["results"][0]["after"]["in_scope"] is False
    again = run_module(ad_sync_scope.main, args, ad=ad)
    assert again["changed"] is False and len(ad.modifies) == 2
    assert again["results"][0]["msg"].startswith("already out of scope")


def test_a_refusal_writes_nothing_and_says_what_would_have_been_done():
    ad = directory(adminDescription="User_DoNotSync")
    result = run_module(ad_sync_scope.main, dict(CONNECTION, state="included", objects=[
        dict(object="jdoe"), dict(object="ann", state="excluded")]), ad=ad)
    assert result["failed"] is True and ad.modifies == []
    jdoe, ann = result["results"]
    assert jdoe["failed"] is True and "force: true" in jdoe["msg"] and jdoe["error"]["kind"] == "refused"
    assert ann["changed"] is False and ann["msg"].startswith("would set adminDescription")
    assert ann["msg"].endswith("nothing was written because another item was refused")


def test_ou_moves_keep_the_record_file_and_come_back(tmp_path):
    ad, record_path = directory(), tmp_path / "records.json"
    args = dict(CONNECTION, method="ou", parking_ou=PARKING, record_path=str(record_path), object="jdoe")
    checked = run_module(ad_sync_scope.main, dict(args, state="excluded"), ad=ad, check_mode=True)
    assert checked["results"][0]["msg"] == "would move from %s to %s" % (STAFF, PARKING)
    assert ad.moves == [] and not record_path.exists()
    out = run_module(ad_sync_scope.main, dict(args, state="excluded"), ad=ad)
    assert out["changed"] is True and out["record_path"] == str(record_path) and ad.stats["moves"] == 1
    assert out["results"][0]["record"]["parent"] == STAFF
    assert [r["parent"] for r in json.loads(record_path.read_text())["objects"].values()] == [STAFF]
    assert run_module(ad_sync_scope.main, dict(args, state="excluded"), ad=ad)["changed"] is False
    back = run_module(ad_sync_scope.main, dict(args, state="included"), ad=ad)
    assert back["changed"] is True and ad.moves[-1] == ("CN=jdoe,%s" % PARKING, STAFF)
    assert json.loads(record_path.read_text())["objects"] == {}


def test_a_move_into_a_missing_ou_is_refused_before_any_write(tmp_path):
    ad, record_path = directory(), tmp_path / "records.json"
    missing = "OU=Nowhere,DC=contoso,DC=test"
    result = run_module(ad_sync_scope.main, dict(CONNECTION, method="ou", parking_ou=missing, object="jdoe",
                                                 state="excluded", record_path=str(record_path)), ad=ad)
    assert result["failed"] is True and "does not exist" in result["msg"] and "record" not in result["results"][0]
    assert ad.moves == [] and not record_path.exists()


def test_options_of_the_other_method_fail_naming_the_fix():
    result = run_module(ad_sync_scope.main, dict(CONNECTION, object="jdoe", state="excluded", parking_ou=PARKING),
                        ad=directory())
    assert result["failed"] is True and "parking_ou: only used with method ou" in result["msg"]


# -- issue 26, finding 7: the record file goes through the private-file writer

def ou_args(record_path, **extra):
    return dict(CONNECTION, method="ou", parking_ou=PARKING, record_path=str(record_path), object="jdoe",
                state="excluded", **extra)


def test_a_record_folder_others_can_write_is_refused_before_any_read_or_move(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    for check_mode in (True, False):
        ad = directory()
        result = run_module(ad_sync_scope.main, ou_args(shared / "records.json"), ad=ad, check_mode=check_mode)
        assert result["failed"] is True and "can be written by others" in result["msg"]
        assert "nothing was changed" in result["msg"] and ad.moves == [] and ad.stats["searches"] == 0
    assert os.listdir(shared) == []


def test_a_symlink_planted_at_the_record_path_is_not_followed(tmp_path):
    victim = tmp_path / "victim.json"
    victim.write_text('{"version": 1, "objects": {}}')
    folder = tmp_path / "records"
    folder.mkdir(mode=0o700)
    (folder / "records.json").symlink_to(victim)
    ad = directory()
    result = run_module(ad_sync_scope.main, ou_args(folder / "records.json"), ad=ad)
    assert result["failed"] is True and "is not a regular file" in result["msg"] and ad.moves == []
    assert victim.read_text() == '{"version": 1, "objects": {}}' and os.path.islink(folder / "records.json")


def test_an_existing_record_file_with_a_wide_mode_becomes_private(tmp_path):
    record_path = tmp_path / "records.json"
    record_path.write_text('{"version": 1, "objects": {}}\n')
    os.chmod(record_path, 0o644)
    out = run_module(ad_sync_scope.main, ou_args(record_path), ad=directory())
    assert out["changed"] is True and stat.S_IMODE(os.lstat(record_path).st_mode) == 0o600
    assert [r["parent"] for r in json.loads(record_path.read_text())["objects"].values()] == [STAFF]
