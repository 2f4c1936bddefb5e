"""link_plan through ansible-playbook on the built collection: AD users on the real DC over
LDAPS, the tenant on the Graph emulator over HTTPS.  Read-only, in bulk, the same in check mode."""

import csv
import json
import os
import stat
import uuid

import pytest

from entra_tenant import days_ago
from test_ad_modules import make_user

MODULE = "syncfix.entra.link_plan"


def both(samba, graph_lab, **args):
    """Both directories' options, with the names a combined module takes."""
    options = dict((k, v) for k, v in graph_lab.auth.items() if k != "ca_path")
    options.update(graph_ca_path=graph_lab.auth["ca_path"], server=["%s:%d" % (samba["ldap_server"], samba["ldaps_port"])],
                   bind_dn=samba["bind_dn"], bind_password=samba["bind_password"], ldap_ca_path=samba["ldap_ca_path"])
    options.update(args)
    return options


@pytest.fixture
def story(samba, graph_lab, ldap_admin, ou):
    """Three AD users: one with a pre-created cloud mailbox (soft match blocked), one whose address
    a cloud group holds, one the sync would simply provision."""
    tag = uuid.uuid4().hex[:6]
    names = dict((role, "%s-%s" % (role, tag)) for role in ("vp", "team", "new"))
    for name in names.values():
        make_user(ldap_admin, ou, name, ["SMTP:%s@contoso.com" % name], mail="%s@contoso.com" % name)
    graph_lab.load({
        "domains": [{"id": "contoso.onmicrosoft.com", "isInitial": True}, {"id": "contoso.com"}],
        "features": {"blockSoftMatchEnabled": True},
        "users": [{"userPrincipalName": "%s@contoso.com" % names["vp"], "displayName": "VP (pre-created)",
                   "mail": "%s@contoso.com" % names["vp"], "proxyAddresses": ["SMTP:%s@contoso.com" % names["vp"]],
                   "mailbox": True}],
        "groups": [{"displayName": "Team", "mail": "%s@contoso.com" % names["team"],
                    "proxyAddresses": ["SMTP:%s@contoso.com" % names["team"]]}],
    })
    return names


def test_plans_each_link_reads_in_bulk_and_writes_nothing(samba, graph_lab, story, playbook, tmp_path):
    links = [{"ad": story["vp"], "cloud": "%s@contoso.com" % story["vp"]}, {"ad": story["team"]}, {"ad": story["new"]}]
    task = {MODULE: both(samba, graph_lab, links=links, skip_blocked=True, report_path=str(tmp_path / "plan"))}
    rc, (checked,) = playbook([task], check=True)
    assert not checked.get("failed"), checked
    rc, (result,) = playbook([task])
    assert result["changed"] is False and graph_lab.writes() == []
    assert [(r["name"], r["state"], r["method"]) for r in result["links"]] == [
        (story["vp"], "conflict", "hard"), (story["team"], "blocked", "none"), (story["new"], "pending", "none")]
    assert result["links"] == checked["links"], "the same plan in check mode"
    vp, team, new = result["links"]
    assert result["phases"]["stamp"] == [{"user": vp["cloud"]["id"], "immutable_id": vp["ad"]["anchor"],
                                          "object_guid": vp["ad"]["object_guid"]}]
    assert team["blockers"][0]["rule"] == "ObjectTypeMismatch" and "group" in team["blockers"][0]["reason"]
    assert new["current"]["outcome"] == "provision" and new["cloud"] is None
    assert result["counts"] == {"links": 3, "linked": 0, "pending": 1, "conflict": 1, "duplicate": 0, "blocked": 1,
                                "unlinked": 0, "actions": 2}
    # Bulk: one LDAP search for the three users; Graph requests do not grow with the links.
    assert result["ldap_operations"]["searches"] == 1
    rc, (one,) = playbook([{MODULE: both(samba, graph_lab, links=links[:1])}])
    assert one["ldap_operations"]["searches"] == 1
    # Three links cost what one does, but for the group lookup the team's address adds.
    assert result["graph_requests"]["requests"] - one["graph_requests"]["requests"] <= 1, (one, result)
    assert result["msg"].splitlines()[0].startswith("link") and story["team"] in result["msg"]
    for suffix in ("json", "csv", "md"):
        path = result["report"][suffix]
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert [row["link"] for row in csv.DictReader(open(result["report"]["csv"]))] == [l["ad"] for l in links]
    assert json.load(open(result["report"]["json"]))["counts"]["blocked"] == 1


def test_return_links_shortens_the_result_not_the_plan_or_the_reports(samba, graph_lab, story, playbook, tmp_path):
    links = [{"ad": story["vp"], "cloud": "%s@contoso.com" % story["vp"]}, {"ad": story["team"]}, {"ad": story["new"]}]
    whole = both(samba, graph_lab, links=links, skip_blocked=True)
    rc, (full,) = playbook([{MODULE: whole}])
    rc, (changes, none) = playbook([{MODULE: dict(whole, return_links="changes")},
                                    {MODULE: dict(whole, return_links="none", report_path=str(tmp_path / "plan"))}])
    assert [r["name"] for r in changes["links"]] == [story["vp"], story["team"]], "the new user needs no action"
    assert none["links"] == [] and not none.get("failed"), none
    for short in (changes, none):
        assert (short["phases"], short["counts"], short["blocked"]) == (full["phases"], full["counts"], full["blocked"])
    assert story["new"] not in none["msg"] and "3 more link(s) not shown (return_links)" in none["msg"]
    assert str(tmp_path / "plan") in none["msg"]
    assert json.load(open(none["report"]["json"]))["links"] == full["links"], "the report holds every link"


def test_a_blocked_link_empties_the_phases_without_skip_blocked(samba, graph_lab, story, playbook):
    links = [{"ad": story["vp"], "cloud": "%s@contoso.com" % story["vp"]}, {"ad": story["team"]}]
    rc, (result,) = playbook([{MODULE: both(samba, graph_lab, links=links)}])
    assert all(items == [] for items in result["phases"].values()) and result["counts"]["actions"] == 0
    assert [b["name"] for b in result["blocked"]] == [story["team"]]


def test_unknown_users_are_blocked_links_naming_them(samba, graph_lab, story, playbook):
    links = [{"ad": "nobody-%s" % story["vp"]}, {"ad": story["vp"], "cloud": "ghost@contoso.com"}]
    rc, (result,) = playbook([{MODULE: both(samba, graph_lab, links=links)}])
    assert [r["blockers"][0]["rule"] for r in result["links"]] == ["unknown-ad-user", "unknown-cloud-user"]
    assert "ghost@contoso.com" in result["links"][1]["blockers"][0]["reason"]


def test_the_single_directory_alias_ca_path_is_refused_here(samba, graph_lab, story, playbook):
    args = both(samba, graph_lab, links=[{"ad": story["new"]}])
    args["ca_path"] = args.pop("graph_ca_path")
    rc, (result,) = playbook([{MODULE: args}])
    assert result["failed"] is True and "ca_path" in result["msg"]


def test_wrong_ad_password_fails_with_the_ldap_error(samba, graph_lab, story, playbook):
    args = both(samba, graph_lab, links=[{"ad": story["new"]}], bind_password="wrong")
    rc, (result,) = playbook([{MODULE: args}])
    assert result["failed"] is True and result["error"]["kind"] == "ldap" and result["error"]["result"] == 49
    assert graph_lab.writes() == []


# -- issue 26: the module never chooses a cloud user for a person ---------------------------------

def test_an_undeclared_link_is_blocked_where_the_sync_would_create_a_duplicate(samba, graph_lab, story, playbook):
    """Soft match is blocked: the sync would provision a placeholder beside the pre-created VP
    account. Without a declared cloud user nothing is stamped; the way out names the account."""
    links = [{"ad": story["vp"]}, {"ad": story["new"]}]
    rc, (result,) = playbook([{MODULE: both(samba, graph_lab, links=links, skip_blocked=True)}], check=True)
    vp, new = result["links"]
    assert (vp["state"], vp["method"], vp["actions"]) == ("blocked", "none", [])
    (blocker,) = vp["blockers"]
    assert blocker["rule"] == "placeholder-duplicate" and "UserPrincipalName" in blocker["reason"]
    account = next(u for u in graph_lab.lab("GET", "/state")["users"]
                   if u["userPrincipalName"] == "%s@contoso.com" % story["vp"])
    assert blocker["way_out"] == "declare cloud: %s if %s@contoso.com is this person's account" % (
        account["id"], story["vp"])
    assert result["phases"]["stamp"] == [] and new["state"] == "pending"
    assert "phase_options" not in result and graph_lab.writes() == []


@pytest.fixture
def namesake(samba, graph_lab, ldap_admin, ou):
    """A new hire whose address a departed colleague's soft-deleted mailbox still holds (its UPN
    renamed by Entra with its object id in front)."""
    tag = uuid.uuid4().hex[:6]
    name = "hire-%s" % tag
    make_user(ldap_admin, ou, name, ["SMTP:%s@contoso.com" % name], mail="%s@contoso.com" % name)
    gone = str(uuid.uuid4())
    graph_lab.load({
        "domains": [{"id": "contoso.onmicrosoft.com", "isInitial": True}, {"id": "contoso.com"}],
        "users": [{"id": gone, "userPrincipalName": "%s%s@contoso.com" % (gone.replace("-", ""), name),
                   "displayName": "Departed", "mail": "%s@contoso.com" % name, "mailbox": True, "licenses": ["SPE_E3"],
                   "proxyAddresses": ["SMTP:%s@contoso.com" % name], "deletedDateTime": days_ago(3)}],
    })
    return name, gone


def test_a_soft_deleted_namesake_is_a_warning_and_restored_only_when_named_by_object_id(
        samba, graph_lab, namesake, playbook):
    name, gone = namesake
    links = [{"ad": name}]
    rc, (result,) = playbook([{MODULE: both(samba, graph_lab, links=links)}], check=True)
    (row,) = result["links"]
    assert row["state"] == "blocked" and row["actions"] == [], "never restored for a link that names no account"
    assert any("declare cloud: %s" % gone in w and "soft-deleted" in w for w in row["warnings"]), row["warnings"]
    by_name = [{"ad": name, "cloud": "%s@contoso.com" % name}]
    rc, (named,) = playbook([{MODULE: both(samba, graph_lab, links=by_name)}])
    assert named["links"][0]["blockers"][0]["rule"] == "soft-deleted-by-name"
    assert named["links"][0]["blockers"][0]["way_out"] == "name it by object id to restore it on purpose: cloud: %s" % gone
    by_id = [{"ad": name, "cloud": gone}]
    rc, (restored,) = playbook([{MODULE: both(samba, graph_lab, links=by_id)}])
    assert [a["phase"] for a in restored["links"][0]["actions"]] == ["restore", "stamp", "cycle"], restored["links"]
    assert "its mailbox and data" in restored["links"][0]["actions"][0]["why"]
    assert graph_lab.writes() == []


def test_purges_need_a_private_backup_dir_before_any_plan(samba, graph_lab, ldap_admin, ou, playbook, tmp_path):
    name = "spare-%s" % uuid.uuid4().hex[:6]
    make_user(ldap_admin, ou, name, ["SMTP:%s@contoso.com" % name], mail="%s@contoso.com" % name)
    graph_lab.load({"domains": [{"id": "contoso.onmicrosoft.com", "isInitial": True}, {"id": "contoso.com"}],
                    "users": [{"userPrincipalName": "disposable-%s@contoso.com" % name, "displayName": "Spare"}]})
    links = [{"ad": name, "cloud": "disposable-%s@contoso.com" % name, "method": "recreate", "allow_purge": True}]
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    private = tmp_path / "private"
    rc, (unset, open_folder) = playbook([{MODULE: both(samba, graph_lab, links=links)},
                                         {MODULE: both(samba, graph_lab, links=links, backup_dir=str(shared))}],
                                        check=True)
    assert unset["failed"] is True and "backup_dir is not set" in unset["msg"] and "links" not in unset
    assert open_folder["failed"] is True and str(shared) in open_folder["msg"]
    assert "written by others" in open_folder["msg"]
    assert "purges need a private folder for their records (backup_dir)" in open_folder["msg"]
    rc, (planned,) = playbook([{MODULE: both(samba, graph_lab, links=links, backup_dir=str(private))}])
    assert not planned.get("failed"), planned
    assert [i["state"] for i in planned["phases"]["purge"]] == ["purged"]
    assert graph_lab.writes() == []
