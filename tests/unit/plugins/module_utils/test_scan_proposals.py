"""The links the scan proposes (issue 26, finding 2): how sure, on what evidence, never confirmed,
never on an alias or a soft-deleted namesake alone."""

import uuid
from types import SimpleNamespace

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._scan import cloud as _scan_cloud
from ansible_collections.syncfix.entra.plugins.module_utils._scan import proposals
from ansible_collections.syncfix.entra.plugins.module_utils._scan.ad import ADScan
from ansible_collections.syncfix.entra.plugins.module_utils._backends.sync_conflicts_info import Tally

VP_DN = "CN=Vera Price,OU=Staff,DC=contoso,DC=test"
BLOCKED = {"blockSoftMatchEnabled": True}   # soft match refused: every overlap is a finding
DOMAINS = SimpleNamespace(initial="contoso.onmicrosoft.com")


def vp(**kw):
    values = dict(primary="vp@contoso.com", upn="vp@contoso.com", nickname="vp", sam="vp", display="Vera Price")
    values.update(kw)
    return proposals.ad_identity(**values)


def cloud(upn="other@contoso.com", proxies=(), **kw):
    user = {"id": "c1", "userPrincipalName": upn, "proxyAddresses": list(proxies), "displayName": "Someone Else",
            "mailNickname": upn.split("@")[0]}
    user.update(kw)
    return proposals.cloud_identity(user)


@pytest.mark.parametrize("target, confidence, evidence", [
    # Primary SMTP and UPN: high.
    (cloud("vp@contoso.com", ["SMTP:vp@contoso.com"], mailNickname="vp.cloud"), "high", [
        "primary SMTP address vp@contoso.com is the cloud user's primary SMTP address",
        "userPrincipalName vp@contoso.com is the cloud user's userPrincipalName"]),
    # Primary SMTP and the account name (sAMAccountName / mailNickname): high.
    (cloud("vera.price@contoso.com", ["SMTP:vp@contoso.com"], mailNickname="vp"), "high", [
        "primary SMTP address vp@contoso.com is the cloud user's primary SMTP address",
        "mailNickname vp is the cloud user's mailNickname", "sAMAccountName vp is the cloud user's mailNickname"]),
    # Primary SMTP and the display name (case and spaces aside): high.
    (cloud("vera.price@contoso.com", ["SMTP:VP@contoso.com"], displayName=" vera  price"), "high", [
        "primary SMTP address vp@contoso.com is the cloud user's primary SMTP address",
        "displayName 'vera price' is the cloud user's displayName"]),
    # Primary SMTP alone (mail stands in for the primary when there is no SMTP: proxy): medium.
    (cloud("vera.price@contoso.com", [], mail="vp@contoso.com"), "medium", [
        "primary SMTP address vp@contoso.com is the cloud user's primary SMTP address"]),
    # UPN alone: medium.
    (cloud("vp@contoso.com", ["SMTP:vera@contoso.com"], mailNickname="vera"), "medium", [
        "userPrincipalName vp@contoso.com is the cloud user's userPrincipalName"]),
    # UPN and display name without the primary SMTP: still medium (soft match's own key is missing).
    (cloud("vp@contoso.com", ["SMTP:vera@contoso.com"], displayName="Vera Price", mailNickname="vera"), "medium", [
        "userPrincipalName vp@contoso.com is the cloud user's userPrincipalName",
        "displayName 'vera price' is the cloud user's displayName"]),
])
def test_confidence_and_every_matching_attribute_in_the_evidence(target, confidence, evidence):
    link = proposals.proposed_link(VP_DN, vp(), target)
    assert link == {"ad": VP_DN, "cloud": "c1",
                    "proposal": {"confidence": confidence, "evidence": evidence, "confirmed": False}}


def test_a_crossed_primary_identifier_is_low():
    ad = vp(upn="vera.price@contoso.com", nickname=None, sam="vprice", display=None)
    link = proposals.proposed_link(VP_DN, ad, cloud("vp@contoso.com", ["SMTP:vera@contoso.com"]))
    assert link["proposal"] == {"confidence": "low", "confirmed": False, "evidence": [
        "primary SMTP address vp@contoso.com is the cloud user's userPrincipalName"]}


@pytest.mark.parametrize("target", [
    # The AD user's primary address is only an alias of the cloud user's.
    cloud("vera@contoso.com", ["SMTP:vera@contoso.com", "smtp:vp@contoso.com"]),
    # Same, with the display name agreeing too: a name is no address.
    cloud("vera@contoso.com", ["SMTP:vera@contoso.com", "smtp:vp@contoso.com"], displayName="Vera Price"),
])
def test_an_alias_alone_proposes_nothing(target):
    assert proposals.proposed_link(VP_DN, vp(), target) is None
    assert "secondary (smtp:) address" in proposals.no_proposal_reason(vp(addresses=["vp@contoso.com"]), target)


def test_an_alias_of_the_ad_user_is_listed_but_not_counted():
    ad = vp(primary="vera.price@contoso.com", upn="vera.price@contoso.com", addresses=["vp@contoso.com"])
    target = cloud("vp@contoso.com", ["SMTP:vp@contoso.com"])
    confidence, evidence = proposals.evidence_and_confidence(ad, target)
    assert confidence is None
    assert "vp@contoso.com is a secondary (smtp:) address on one side: not counted, soft match ignores it" in evidence


# -- through the scan -----------------------------------------------------------------------------

def ad_entry(sam, upn, proxies, mail=None, display=None, nickname=None):
    attributes = {"objectClass": ["top", "person", "user"], "sAMAccountName": [sam], "cn": [sam],
                  "userPrincipalName": [upn], "proxyAddresses": proxies, "distinguishedName": ["CN=%s,OU=Staff,DC=contoso,DC=test" % sam]}
    if mail:
        attributes["mail"] = [mail]
    if display:
        attributes["displayName"] = [display]
    if nickname:
        attributes["mailNickname"] = [nickname]
    return {"dn": "CN=%s,OU=Staff,DC=contoso,DC=test" % sam, "attributes": attributes,
            "raw": {"objectGUID": [uuid.uuid4().bytes_le]}}


def scan_all(ad_entries, users=(), deleted=(), features=None):
    features = BLOCKED if features is None else features
    ad = ADScan(verified_domains=["contoso.com"])
    for entry in ad_entries:
        list(ad.add(entry))
    list(ad.finish())
    cloud_scan = _scan_cloud.CloudScan(ad.index(), DOMAINS, features)

    def stream():
        for user in users:
            yield from cloud_scan.add_user(user)
        for user in deleted:
            yield from cloud_scan.add_deleted_user(user)
        yield from cloud_scan.finish()
    tally = Tally(100)
    found = [f for f in tally.count(stream()) if f["rule"] != "sync_feature"]
    return found, tally.links


def test_the_scan_proposes_nothing_for_a_secondary_alias_and_nothing_for_a_recycle_bin_holder():
    vp_entry = ad_entry("vp", "vp@contoso.com", ["SMTP:vp@contoso.com"], mail="vp@contoso.com", display="Vera Price")
    jdoe_entry = ad_entry("jdoe", "jdoe@contoso.com", ["SMTP:jdoe@contoso.com"], mail="jdoe@contoso.com",
                          display="Jane Doe")
    vera = {"id": "vera-id", "userPrincipalName": "vera@contoso.com", "displayName": "Vera (cloud)",
            "mail": "vera@contoso.com", "proxyAddresses": ["SMTP:vera@contoso.com", "smtp:vp@contoso.com"]}
    gone = {"id": "gone-id", "userPrincipalName": "jdoe@contoso.com", "displayName": "Jane Doe",
            "mail": "jdoe@contoso.com", "proxyAddresses": ["SMTP:jdoe@contoso.com"]}
    found, links = scan_all([vp_entry, jdoe_entry], users=[vera], deleted=[gone])
    assert links == [], "neither an alias nor a soft-deleted namesake is proposed"
    by_rule = dict((f["rule"], f) for f in found)
    assert by_rule["preprovisioned_cloud_user"]["link"] is None
    assert "no link is proposed" in by_rule["preprovisioned_cloud_user"]["message"]
    bin_holder = by_rule["recycle_bin_holder"]
    assert bin_holder["link"] is None and bin_holder["object"] == "gone-id"
    assert ("restore it on purpose by declaring it by its object id: remediation_links: [{ad: '%s', cloud: 'gone-id'}]"
            % jdoe_entry["dn"]) in bin_holder["message"]


def test_the_scan_proposes_by_dn_and_object_id_with_its_evidence_each_once_unconfirmed():
    vp_entry = ad_entry("vp", "vp@contoso.com", ["SMTP:vp@contoso.com"], mail="vp@contoso.com", display="Vera Price",
                        nickname="vp")
    ann_entry = ad_entry("ann", "ann@contoso.com", ["SMTP:ann@contoso.com"], mail="ann@contoso.com")
    precreated = {"id": "vp-id", "userPrincipalName": "vp@contoso.com", "displayName": "Vera Price", "mailNickname": "vp",
                  "mail": "vp@contoso.com", "proxyAddresses": ["SMTP:vp@contoso.com"]}
    ann_cloud = {"id": "ann-id", "userPrincipalName": "ann.cloud@contoso.com", "displayName": "Ann",
                 "mail": "ann@contoso.com", "proxyAddresses": ["SMTP:ann@contoso.com"]}
    found, links = scan_all([vp_entry, ann_entry], users=[precreated, ann_cloud])
    assert [f["link"] for f in found if f["rule"] == "preprovisioned_cloud_user"] == links
    assert [(link["ad"], link["cloud"], link["proposal"]["confidence"]) for link in links] == [
        (vp_entry["dn"], "vp-id", "high"), (ann_entry["dn"], "ann-id", "medium")]
    assert all(link["proposal"]["confirmed"] is False and set(link) == {"ad", "cloud", "proposal"} for link in links)
    assert links[0]["proposal"]["evidence"] == [
        "primary SMTP address vp@contoso.com is the cloud user's primary SMTP address",
        "userPrincipalName vp@contoso.com is the cloud user's userPrincipalName",
        "mailNickname vp is the cloud user's mailNickname", "sAMAccountName vp is the cloud user's mailNickname",
        "displayName 'vera price' is the cloud user's displayName"]
