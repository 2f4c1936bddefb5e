"""Differential test: the collection's prediction (``plugins/module_utils/_sync/prediction.py``,
written from the documents) against the lab's sync simulator (written, independently, from the
same documents).  For every scenario and for a few hundred generated worlds, the same input goes
to both, and the outcome per AD user must agree: joined (and to which cloud user), matched (how,
to which user), provisioned (and the values quarantined), or the export error's name.

Then: for each scenario, the plan for each AD user's link (to the cloud user the sync would
meet) is applied to the simulator's world, a cycle runs, and the outcome is the one the plan
promised.  A disagreement is a bug in one of the two; where we believe the simulator is wrong
the case is an xfail citing the document.
"""

import importlib.util
import os
import re
import sys
import uuid

import pytest
from hypothesis import assume, HealthCheck, event, given, settings
from hypothesis import strategies as st

from lab import scenario
from lab.graph_emulator import catalog
from lab.graph_emulator.tenant import parse_iso
from lab.sync_simulator import scope as simulator_scope
from lab.sync_simulator.offline import World as SimWorld, ad_user as sim_ad_user, scenario_world

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def _collection_importable():
    """As tests/unit/conftest.py does: a collection root pointing at this checkout."""
    if importlib.util.find_spec("ansible_collections") is not None and \
            importlib.util.find_spec("ansible_collections.syncfix.entra") is not None:
        return
    root = os.path.join(REPO, "build", "unit-collections")
    link = os.path.join(root, "ansible_collections", "syncfix", "entra")
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(REPO, link)
    sys.path.insert(0, root)


_collection_importable()

from ansible_collections.syncfix.entra.plugins.module_utils._plan import planner  # noqa: E402
from ansible_collections.syncfix.entra.plugins.module_utils._sync import prediction as model  # noqa: E402


# -- the same input, in the collection's model ------------------------------------------------------

def to_ad_user(user):
    consistency = uuid.UUID(bytes_le=user.consistency_guid) if user.consistency_guid else None
    return model.AdUser(dn=user.dn, object_guid=str(user.guid), consistency_guid=str(consistency) if consistency else None,
                        sam=user.sam, upn=user.upn, mail=user.mail, proxy_addresses=list(user.proxy_addresses),
                        admin_description=user.admin_description)


def _roles(user):
    return [{"name": r["name"], "template_id": catalog.ROLE_TEMPLATES[r["name"]],
             "assignment": r.get("assignment", "active")} for r in user.get("roles") or []]


def to_world(sim):
    state = sim.tenant.state
    flags = dict(state.get("features") or {})
    domains = state["domains"]
    tenant = model.TenantFacts(
        features=dict((k, v) for k, v in flags.items() if k in model.DEFAULT_FEATURES),
        initial_domain=next(d["id"] for d in domains if d.get("isInitial")),
        verified_domains=[d["id"] for d in domains if d.get("isVerified", True)],
        federated_domains=[d["id"] for d in domains if d.get("authenticationType") == "Federated"],
        now=sim.now,
        soft_deleted_mailbox_reserves_addresses=(state.get("lab") or {}).get("softDeletedMailboxReservesAddresses",
                                                                              True))
    objects = []
    for user in state["users"]:
        objects.append(model.CloudObject(
            user["id"], model.USER, upn=user["userPrincipalName"], mail=user.get("mail"),
            proxy_addresses=user.get("proxyAddresses"), immutable_id=user.get("onPremisesImmutableId"),
            sync_enabled=user.get("onPremisesSyncEnabled"), object_identifier=user.get("onPremisesObjectIdentifier"),
            deleted=bool(user.get("deletedDateTime")),
            deleted_at=parse_iso(user["deletedDateTime"]) if user.get("deletedDateTime") else None,
            mailbox=user.get("mailbox"), roles=_roles(user), sam=user.get("onPremisesSamAccountName"),
            dn=user.get("onPremisesDistinguishedName"), licenses=user.get("licenses")))
    for kind, key in ((model.GROUP, "groups"), (model.CONTACT, "contacts")):
        for obj in state[key]:
            objects.append(model.CloudObject(obj["id"], kind, mail=obj.get("mail"),
                                             proxy_addresses=obj.get("proxyAddresses"),
                                             display_name=obj.get("displayName")))
    return model.World(objects, tenant)


# -- the simulator's outcome, in the same words ------------------------------------------------------

def simulated(sim, users, result):
    """Per AD user: (outcome, error, cloud id), quarantined values, cloud UPN.  A user created in
    this cycle is named as the model names it, ``new:<objectGUID>``."""
    created = {}
    for user in users:
        joined = sim.space.get(user.guid)
        if joined and user.sam in result["provisioned"]:
            created[joined["cloud_id"]] = "new:%s" % user.guid
    outcomes = {}
    for user in users:
        mine = [e for e in result["errors"] if e["object"] == user.sam]
        failed = [e for e in mine if e["error"] != "DuplicateAttributeQuarantined"]
        quarantined = sorted((e["attribute"], e["value"]) for e in mine if e["error"] == "DuplicateAttributeQuarantined")
        joined = sim.space.get(user.guid)
        target = created.get(joined["cloud_id"], joined["cloud_id"]) if joined else None
        match = next((j for j in result["joins"] if j["object"] == user.sam), None)
        if failed:
            holder = (failed[0]["cloud_object"] or {}).get("id")
            outcome = ("error", failed[0]["error"], created.get(holder, holder))
        elif not simulator_scope.in_scope(user):
            outcome = ("out-of-scope", None, None)
        elif match:
            outcome = (match["by"], None, target)
        elif user.sam in result["provisioned"]:
            outcome = ("provision", None, None)
        else:
            outcome = ("joined", None, target)
        upn = next((u["userPrincipalName"] for u in sim.tenant.state["users"] if u["id"] == joined["cloud_id"]),
                   None) if joined and not failed else None
        outcomes[user.sam] = {"outcome": outcome, "quarantined": quarantined if not failed else [], "upn": upn}
    return outcomes


def predicted(predictions, users, after):
    """The same, from the model's predictions and the world it predicts after the cycle."""
    outcomes = {}
    for user, prediction in zip(users, predictions):
        target = prediction.target if prediction.outcome in ("error", "joined") + model.MATCHES else None
        cloud_id = "new:%s" % user.guid if prediction.outcome == "provision" else target
        outcomes[user.sam] = {
            "outcome": (prediction.outcome, prediction.error, target),
            "quarantined": sorted(prediction.quarantined) if prediction.outcome != "error" else [],
            "upn": after.get(cloud_id).upn if prediction.outcome not in ("error", "out-of-scope") else None}
    return outcomes


def same(mine, theirs):
    """Equal, where a '#' of a predicted placeholder UPN stands for any digit."""
    for sam, expected in mine.items():
        actual = theirs[sam]
        if expected["outcome"] != actual["outcome"] or expected["quarantined"] != actual["quarantined"]:
            return False
        if expected["upn"] is not None and (
                actual["upn"] is None or not re.fullmatch(re.escape(expected["upn"]).replace("\\#", "#").replace(
                    "#", r"\d"), actual["upn"], re.IGNORECASE)):
            return False
    return True


def differences(mine, theirs):
    return dict((sam, {"predicted": mine[sam], "simulated": theirs[sam]}) for sam in mine
                if not same({sam: mine[sam]}, {sam: theirs[sam]}))


def prime_joins(sim, users):
    """The engine's memory, as the tenant shows it: a synced, active cloud user whose
    onPremisesObjectIdentifier is an AD user's objectGUID is that user's join."""
    for user in users:
        for cloud in sim.tenant.state["users"]:
            if cloud.get("onPremisesSyncEnabled") and not cloud.get("deletedDateTime") \
                    and (cloud.get("onPremisesObjectIdentifier") or "").lower() == str(user.guid).lower():
                sim.space.join(user.guid, cloud["id"], user.dn, cloud["onPremisesImmutableId"])


def compare(sim, users):
    prime_joins(sim, users)
    world = to_world(sim)
    ad_users = [to_ad_user(u) for u in users]
    predictions, after = model.predict_cycle(ad_users, world)
    mine = predicted(predictions, users, after)
    result = sim.sync(*users)
    theirs = simulated(sim, users, result)
    return mine, theirs


# -- every scenario ---------------------------------------------------------------------------------

SCENARIOS = scenario.all_scenarios()
# Where we read the documents differently from the simulator (see the report of issue 14's planner).
SIMULATOR_DISAGREEMENTS = {}


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_prediction_agrees_with_simulator_on_scenario(path, request):
    if path.stem in SIMULATOR_DISAGREEMENTS:
        request.applymarker(pytest.mark.xfail(strict=True, reason=SIMULATOR_DISAGREEMENTS[path.stem]))
    sim, users = scenario_world(scenario.load(path))
    mine, theirs = compare(sim, users)
    assert same(mine, theirs), differences(mine, theirs)


# -- generated worlds -----------------------------------------------------------------------------

NAMES = ["ann", "bob", "cat", "dan", "eve"]
FEATURE_NAMES = ["blockSoftMatchEnabled", "blockCloudObjectTakeoverThroughHardMatchEnabled", "softMatchOnUpnEnabled",
                 "quarantineUponProxyAddressesConflictEnabled", "quarantineUponUpnConflictEnabled",
                 "allowOnPremUpdateOfOnPremisesObjectIdentifierEnabled"]
ROLE_NAMES = sorted(catalog.ROLE_TEMPLATES)
DOMAIN = "contoso.com"


class Registry(object):
    """Keeps a generated tenant loadable: UPNs, addresses and anchors unique, as Graph keeps them."""

    def __init__(self):
        self.upns, self.addresses, self.anchors, self.identifiers = set(), set(), set(), set()

    def take_upn(self, upn):
        if upn.lower() in self.upns:
            return False
        self.upns.add(upn.lower())
        return True

    def take_addresses(self, addresses):
        fresh = [a for a in addresses if a.split(":", 1)[-1].lower() not in self.addresses]
        self.addresses.update(a.split(":", 1)[-1].lower() for a in fresh)
        return fresh


@st.composite
def worlds(draw):
    ad_guids = [uuid.UUID(int=i + 1) for i in range(len(NAMES))]
    ad_count = draw(st.integers(1, 4))
    users = []
    for index in range(ad_count):
        sam = NAMES[index]
        primary = draw(st.sampled_from(NAMES)) + "@" + DOMAIN
        upn_local = draw(st.sampled_from(NAMES + [sam]))
        upn_domain = draw(st.sampled_from([DOMAIN, DOMAIN, "corp.local"]))
        aliases = draw(st.lists(st.sampled_from(NAMES), max_size=1))
        consistency = draw(st.sampled_from([None, None, uuid.UUID(int=100 + index), ad_guids[(index + 1) % 5]]))
        user = sim_ad_user(sam, primary=primary if draw(st.booleans()) or index == 0 else "",
                           upn="%s@%s" % (upn_local, upn_domain), aliases=["%s.x@%s" % (a, DOMAIN) for a in aliases],
                           guid=ad_guids[index], consistency=consistency,
                           admin_description=draw(st.sampled_from([None, None, None, "User_skip"])), usn=index + 1)
        users.append(user)
    # Two AD objects computing one sourceAnchor (a copied mS-DS-ConsistencyGuid): no document
    # states what the engine does with the second, and the two models guess differently; the
    # scanner reports it as a finding instead (duplicate anchors).
    assume(len(set(u.anchor for u in users)) == len(users))
    registry = Registry()
    cloud_users = []
    anchors = [u.anchor for u in users] + ["AAAAAAAAAAAAAAAAAAAAAA==", "EREREREREREREREREREREQ=="]
    for index in range(draw(st.integers(0, 5))):
        local = draw(st.sampled_from(NAMES))
        deleted = draw(st.sampled_from([False, False, False, True]))
        upn = "%s@%s" % (local, draw(st.sampled_from([DOMAIN, DOMAIN, "contoso.onmicrosoft.com"])))
        if not deleted and not registry.take_upn(upn):
            continue
        cloud = {"id": "c%d" % index, "userPrincipalName": upn}
        mailbox = draw(st.booleans())
        address = draw(st.sampled_from(NAMES)) + "@" + DOMAIN
        proxies = ["SMTP:" + address] + (["smtp:%s.x@%s" % (local, DOMAIN)] if draw(st.booleans()) else [])
        if mailbox or draw(st.booleans()):
            held = registry.take_addresses(proxies) if not (deleted and not mailbox) else proxies
            if held and held[0].startswith("SMTP:"):
                cloud["proxyAddresses"] = held
                cloud["mail"] = held[0][5:]
                cloud["mailbox"] = mailbox
        anchor = draw(st.sampled_from([None, None] + anchors))
        if anchor and anchor not in registry.anchors:
            registry.anchors.add(anchor)
            cloud["onPremisesImmutableId"] = anchor
            synced = draw(st.booleans())
            cloud["onPremisesSyncEnabled"] = synced and not deleted
            identifier = draw(st.sampled_from([None] + [str(g) for g in ad_guids[:ad_count]]))
            joined = next((u for u in users if str(u.guid) == identifier), None)
            # A join the engine remembers: its cloud user holds the anchor that object was projected
            # with (its own, or an old one no other AD object computes), and one object has one join.
            other_anchor = joined is not None and anchor != joined.anchor and anchor in [u.anchor for u in users]
            if identifier and identifier not in registry.identifiers and not (cloud["onPremisesSyncEnabled"]
                                                                               and other_anchor):
                registry.identifiers.add(identifier)
                cloud["onPremisesObjectIdentifier"] = identifier
        if draw(st.integers(0, 3)) == 0:
            cloud["roles"] = [{"name": draw(st.sampled_from(ROLE_NAMES)),
                               "assignment": draw(st.sampled_from(["active", "eligible"]))}]
        if deleted:
            cloud["deletedDateTime"] = "2026-11-%02dT00:00:00Z" % draw(st.integers(1, 30))
        cloud_users.append(cloud)
    groups, contacts = [], []
    for kind, bucket in (("group", groups), ("contact", contacts)):
        for index in range(draw(st.integers(0, 1))):
            address = draw(st.sampled_from(NAMES)) + "@" + DOMAIN
            held = registry.take_addresses(["SMTP:" + address])
            if held:
                bucket.append({"id": "%s%d" % (kind, index), "displayName": "%s %d" % (kind, index),
                               "mail": address, "proxyAddresses": held})
    features = dict((name, draw(st.booleans())) for name in FEATURE_NAMES)
    if not features["quarantineUponProxyAddressesConflictEnabled"] and draw(st.booleans()):
        features["quarantineUponProxyAddressesConflictEnabled"] = True
    tenant = {"features": features, "users": cloud_users, "groups": groups, "contacts": contacts,
              "domains": [{"id": "contoso.onmicrosoft.com", "isInitial": True}, {"id": DOMAIN}],
              "lab": {"softDeletedMailboxReservesAddresses": draw(st.booleans())}}
    return tenant, users


NOW = parse_iso("2026-12-01T00:00:00Z")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(worlds())
def test_prediction_agrees_with_simulator_on_generated_worlds(generated):
    tenant, users = generated
    sim = SimWorld(tenant, now=NOW)
    mine, theirs = compare(sim, users)
    for outcome in sorted(set(v["outcome"][1] or v["outcome"][0] for v in theirs.values())):
        event(outcome)
    assert same(mine, theirs), differences(mine, theirs)


def test_blocked_soft_match_does_not_attempt_a_match():
    tenant = {"features": {"blockSoftMatchEnabled": True}, "users": [],
              "groups": [{"id": "g1", "displayName": "Sales", "mail": "sales@contoso.com",
                          "proxyAddresses": ["SMTP:sales@contoso.com"]}]}
    sim = SimWorld(tenant, now=NOW)
    mine, theirs = compare(sim, [sim_ad_user("sales")])
    assert same(mine, theirs), differences(mine, theirs)


# -- the plan's promise, in the simulator -----------------------------------------------------------

def execute(made, sim, users, user, original):
    """Carry out one planned action on the simulator's world, as its module would."""
    module, item = made["module"].split(".")[-1], made["item"]
    state = sim.tenant.state
    if module == "ad_sync_scope":
        user.admin_description = "User_syncfix" if item["state"] == "excluded" else original
        return None
    if module == "adsync_cycle":
        return sim.sync(*users)
    cloud = next((u for u in state["users"] if u["id"] == item.get("user")), None)
    if module == "entra_user_purge":
        if item["state"] == "purged":
            state["users"].remove(cloud)
        elif item["state"] == "restored":
            cloud.pop("deletedDateTime", None)
    elif module == "entra_immutable_id":
        cloud["onPremisesImmutableId"] = None if item.get("state") == "absent" else item["immutable_id"]
    elif module == "ad_source_anchor":
        user.consistency_guid = model.SourceAnchor.from_immutable_id(item["immutable_id"]).raw
    elif module == "ad_proxy_addresses":
        user.proxy_addresses = planner.with_primary(user.proxy_addresses, item["primary"])
        user.mail = item["primary"]
    return None


def scenario_links():
    for path in SCENARIOS:
        data = scenario.load(path)
        for index, user in enumerate(data["ad"]["users"]):
            for synced in (False, True):
                yield pytest.param(path, index, synced, id="%s-%s-%s" % (
                    path.stem, user["sAMAccountName"], "after-sync" if synced else "before-sync"))


@pytest.mark.parametrize("path,index,synced_first", list(scenario_links()))
def test_plan_outcome_is_what_the_simulator_does(path, index, synced_first):
    """Link each AD user to the cloud user the sync would meet (before the scenario's first sync,
    and after it, when resiliency made its duplicate); apply the plan in the simulator; the last
    cycle does what the plan promised, and planning again finds the link linked."""
    sim, users = scenario_world(scenario.load(path))
    if synced_first:
        sim.sync(*users)
    user = users[index]
    world = to_world(sim)
    plan = planner.plan_link(planner.Link(to_ad_user(user), allow_purge=True), world)
    if not plan.actions:
        # Nothing to apply: already linked, linked by the next sync as it is, or blocked for a person.
        assert plan.state in ("linked", "pending", "blocked"), plan
        assert bool(plan.blockers) == (plan.state == "blocked"), plan
        if plan.state == "pending":
            theirs = simulated(sim, users, sim.sync(*users))[user.sam]
            promised = predicted([plan.predicted], [user], _after(plan, to_ad_user(user), world))[user.sam]
            # The outcome, not the quarantine: a plan reads the linked users only, and another AD
            # user syncing in the same cycle (duplicate-on-prem) may take an alias first.
            assert promised["outcome"] == theirs["outcome"], (promised, theirs)
        return
    original, result = user.admin_description, None
    for made in plan.actions:
        result = execute(made, sim, users, user, original)
    assert plan.actions[-1]["module"] == "syncfix.entra.adsync_cycle"
    theirs = simulated(sim, users, result)[user.sam]
    promised = predicted([plan.predicted], [user], _after(plan, to_ad_user(user), world))[user.sam]
    assert same({user.sam: promised}, {user.sam: theirs}), (plan.actions, promised, theirs)
    # and planning again, after the sync, finds it linked with nothing to do
    again = planner.plan_link(planner.Link(to_ad_user(user), world_user(sim, plan), allow_purge=True), to_world(sim))
    assert (again.state, again.actions) == ("linked", []), again


def _after(plan, ad_user, world):
    _, ad_copy, state = planner.simulate(plan.actions, ad_user, world)
    model.apply_prediction(ad_copy, state, plan.predicted)
    return state


def world_user(sim, plan):
    """The cloud user the link now names: the declared one, or the one the sync created."""
    world = to_world(sim)
    return world.get(plan.cloud) if plan.cloud and world.get(plan.cloud) else None
