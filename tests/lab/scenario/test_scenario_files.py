"""Every scenario file validates, and a broken one is refused naming the field."""

import copy
import pathlib
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from lab import scenario  # noqa: E402

FILES = scenario.all_scenarios()
STORIES = {"vp-preprovisioned", "soft-match-happy", "orphaned-anchor", "object-type-mismatch", "recycle-bin",
           "resiliency-duplicate", "upn-soft-match", "secondary-alias", "out-of-scope", "recreated-ad-user",
           "hardening-object-identifier", "hardening-privileged-role",
           "admin-role", "anchor-changed", "duplicate-on-prem"}


def test_every_story_has_a_file_named_for_it():
    assert {p.stem for p in FILES} == STORIES


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_scenario_validates_and_states_its_outcome(path):
    data = scenario.load(path)
    assert data["name"] == path.stem
    assert data["expect"]["run_result"] in ("success", "completed-export-errors")
    assert data["sources"], "the expected outcome must name the documents it follows"


def broken(mutate):
    data = copy.deepcopy(scenario.load(scenario.SCENARIO_DIR / "vp-preprovisioned.yml"))
    mutate(data)
    with pytest.raises(scenario.ScenarioError) as e:
        scenario.validate(data, "test.yml")
    return str(e.value)


@pytest.mark.parametrize("mutate,field,words", [
    (lambda d: d["ad"]["users"][0].update(proxyAddresses=["vp@contoso.com"]), "ad.users[0].proxyAddresses[0]",
     "does not match"),
    (lambda d: d["ad"]["users"][0].pop("sAMAccountName"), "ad.users[0]", "'sAMAccountName' is a required property"),
    (lambda d: d["ad"]["users"][0].update(colour="blue"), "ad.users[0]", "'colour' was unexpected"),
    (lambda d: d["tenant"]["users"][0].update(onPremisesImmutableId="a$b"), "tenant.users[0].onPremisesImmutableId",
     "does not match"),
    (lambda d: d["tenant"]["users"][0].update(roles=[{"name": "Queen"}]), "tenant.users[0].roles[0].name", "is not one of"),
    (lambda d: d["ad"]["users"][0].update(proxyAddresses=["SMTP:a@contoso.com", "SMTP:b@contoso.com"]),
     "ad.users[0].proxyAddresses", "two primary SMTP addresses"),
    (lambda d: d["ad"]["users"].append(dict(d["ad"]["users"][0])), "ad.users[1].sAMAccountName", "used twice"),
    (lambda d: d["ad"].update(groups=[{"name": "g", "members": ["nobody"]}]), "ad.groups[0].members", "'nobody'"),
    (lambda d: d["tenant"]["domains"].pop(0), "tenant.domains", "isInitial"),
    (lambda d: d["tenant"]["users"][0].update(userPrincipalName="vp@elsewhere.com"),
     "tenant.users[0].userPrincipalName", "not in tenant.domains"),
])
def test_errors_name_the_field(mutate, field, words):
    message = broken(mutate)
    assert message.startswith("test.yml: ")
    assert field in message and words in message


def test_unreadable_file_names_itself(tmp_path):
    path = tmp_path / "bad.yml"
    path.write_text("name: [unclosed")
    with pytest.raises(scenario.ScenarioError, match="bad.yml: cannot read"):
        scenario.load(path)
