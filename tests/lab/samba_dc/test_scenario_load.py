"""A scenario's AD side loaded into the DC: reset to pristine, then exactly the file."""

import uuid

import pytest

from lab import scenario
from lab.scenario import ad_side

pytestmark = pytest.mark.lifecycle  # resets the DC: runs with the lifecycle tests, last


def read(connection, dn, *attributes):
    connection.search(dn, "(objectClass=*)", search_scope="BASE", attributes=list(attributes))
    return connection.entries[0]


def exists(connection, base_dn, sam):
    connection.search(base_dn, "(sAMAccountName=%s)" % sam, attributes=["cn"])
    return bool(connection.entries)


def test_loading_a_scenario_resets_then_adds_exactly_its_objects(dc, state_dir):
    vp_file = scenario.load(scenario.SCENARIO_DIR / "vp-preprovisioned.yml")
    dns = ad_side.reset_and_apply(state_dir, vp_file)
    connection = ad_side.connect(dc)
    vp = read(connection, dns["vp"], "userPrincipalName", "mail", "mailNickname", "proxyAddresses", "userAccountControl")
    assert dns["vp"] == "CN=Vera Price,OU=Staff,%s" % dc["base_dn"]
    assert (vp.userPrincipalName.value, vp.mail.value, vp.mailNickname.value) == ("vp@contoso.com", "vp@contoso.com", "vp")
    assert vp.proxyAddresses.values == ["SMTP:vp@contoso.com"]
    assert int(vp.userAccountControl.value) == ad_side.UAC_ENABLED
    connection.unbind()

    ad_side.reset_and_apply(state_dir, scenario.load(scenario.SCENARIO_DIR / "soft-match-happy.yml"))
    connection = ad_side.connect(dc)
    assert exists(connection, dc["base_dn"], "ann")
    assert not exists(connection, dc["base_dn"], "vp"), "the previous scenario's objects survived the load"
    connection.unbind()


def test_every_ad_attribute_the_schema_allows_is_written(dc, state_dir):
    guid = str(uuid.uuid4())
    data = scenario.validate({
        "name": "all-attributes", "story": "every AD attribute a scenario can set", "world": "resiliency",
        "ad": {
            "ous": ["Staff/Sales"],
            "users": [{"sAMAccountName": "kim", "ou": "Staff/Sales", "displayName": "Kim", "enabled": False,
                       "userPrincipalName": "kim@contoso.com", "msDSConsistencyGuid": guid,
                       "adminDescription": "User_parked"}],
            "contacts": [{"name": "Ext", "ou": "Staff", "mail": "ext@fabrikam.com",
                          "targetAddress": "SMTP:ext@fabrikam.com", "proxyAddresses": ["SMTP:ext@fabrikam.com"]}],
            "groups": [{"name": "Team", "ou": "Staff", "mail": "team@contoso.com", "members": ["kim"],
                        "proxyAddresses": ["SMTP:team@contoso.com"]}],
        },
        "tenant": {"domains": [{"id": "contoso.onmicrosoft.com", "isInitial": True}]},
    })
    dns = ad_side.reset_and_apply(state_dir, data)
    connection = ad_side.connect(dc)
    kim = read(connection, dns["kim"], "mS-DS-ConsistencyGuid", "userAccountControl", "adminDescription")
    assert kim.entry_raw_attributes["mS-DS-ConsistencyGuid"][0] == uuid.UUID(guid).bytes_le
    assert int(kim.userAccountControl.value) == ad_side.UAC_DISABLED
    assert kim.adminDescription.value == "User_parked"
    assert dns["kim"] == "CN=Kim,OU=Sales,OU=Staff,%s" % dc["base_dn"]
    assert read(connection, dns["Ext"], "targetAddress").targetAddress.value == "SMTP:ext@fabrikam.com"
    assert read(connection, dns["Team"], "member").member.values == [dns["kim"]]
    connection.unbind()
