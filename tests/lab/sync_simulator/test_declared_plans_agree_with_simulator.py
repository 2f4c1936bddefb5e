"""The plan's promise with a declared cloud user, in the simulator (issue 26).

Since the planner no longer chooses a cloud user for a link that names none, the actions it
plans (restore, stamp, align, purge, remove the duplicate) come only from a declaration.  Here a
person's choice is played by the test: each AD user's link names the cloud user a reviewer
would pick (the one already joined, the active holder of the primary SMTP address, of the UPN,
the soft-deleted mailbox holding the address, the holder of the anchor) with its opt-ins; the
plan is applied in the simulator, the last cycle does what the plan promised, and planning again
finds the link linked.  And for every link that names no cloud user, in the scenarios and in
generated worlds, the plan writes nothing: its only action is the cycle.
"""

import importlib.util
import pathlib

import pytest
from hypothesis import HealthCheck, given, settings


def _sibling(name):
    """The differential test's helpers (pytest runs with --import-mode=importlib: no sys.path)."""
    spec = importlib.util.spec_from_file_location("_syncfix_lab_" + name, pathlib.Path(__file__).with_name(name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


base = _sibling("test_prediction_agrees_with_simulator")

planner, model = base.planner, base.model


def reviewers_choice(ad_user, world):
    """The cloud user a person reviewing the tenant would declare (the test's choice, not the
    planner's: the planner only names candidates)."""
    joined = model.engine_join(ad_user, world)
    if joined is not None:
        return joined
    holders = world.holders(ad_user.primary_smtp) if ad_user.primary_smtp else []
    active = [h for h in holders if not h.deleted and h.kind == model.USER]
    if active:
        return active[0]
    by_upn = world.active_user_by_upn(ad_user.upn) if ad_user.upn else None
    if by_upn is not None:
        return by_upn
    deleted = [h for h in holders if h.kind == model.USER and h.mailbox]
    if deleted:
        return deleted[0]
    held = world.by_anchor(ad_user.anchor)
    return held[0] if held else None


def declared(ad_user, cloud):
    return planner.Link(ad_user, cloud, allow_purge=True, force=True, allow_role_holder=True)


@pytest.mark.parametrize("path,index,synced_first", list(base.scenario_links()))
def test_a_declared_plan_does_in_the_simulator_what_it_promised(path, index, synced_first):
    sim, users = base.scenario_world(base.scenario.load(path))
    if synced_first:
        sim.sync(*users)
    user = users[index]
    world = base.to_world(sim)
    ad_user = base.to_ad_user(user)
    cloud = reviewers_choice(ad_user, world)
    if cloud is None or cloud.kind != model.USER:
        pytest.skip("nobody to declare: a group or contact holds the address, or no cloud user at all")
    plan = planner.plan_link(declared(ad_user, cloud), world)
    if not plan.actions:
        assert plan.state in ("linked", "pending", "blocked"), plan
        assert bool(plan.blockers) == (plan.state == "blocked"), plan
        return
    original, result = user.admin_description, None
    for made in plan.actions:
        result = base.execute(made, sim, users, user, original)
    assert plan.actions[-1]["module"] == "syncfix.entra.adsync_cycle"
    theirs = base.simulated(sim, users, result)[user.sam]
    promised = base.predicted([plan.predicted], [user], base._after(plan, ad_user, world))[user.sam]
    assert base.same({user.sam: promised}, {user.sam: theirs}), (plan.actions, promised, theirs)
    after = base.to_world(sim)
    again = planner.plan_link(declared(base.to_ad_user(user), base.world_user(sim, plan)), after)
    assert (again.state, again.actions) == ("linked", []), again


def test_the_scenarios_give_declared_plans_actions_to_check():
    """Guard against the test above passing vacuously."""
    planned = 0
    for param in base.scenario_links():
        path, index, synced_first = param.values
        sim, users = base.scenario_world(base.scenario.load(path))
        if synced_first:
            sim.sync(*users)
        world = base.to_world(sim)
        ad_user = base.to_ad_user(users[index])
        cloud = reviewers_choice(ad_user, world)
        if cloud is not None and cloud.kind == model.USER:
            planned += bool(planner.plan_link(declared(ad_user, cloud), world).actions)
    assert planned >= 5, planned


def _writes(plan):
    return [a for a in plan.actions if a["phase"] != "cycle"]


@pytest.mark.parametrize("path,index,synced_first", list(base.scenario_links()))
def test_an_undeclared_link_never_writes(path, index, synced_first):
    sim, users = base.scenario_world(base.scenario.load(path))
    if synced_first:
        sim.sync(*users)
    plan = planner.plan_link(planner.Link(base.to_ad_user(users[index]), allow_purge=True, allow_data_loss=True),
                             base.to_world(sim))
    assert _writes(plan) == [] and plan.state in ("linked", "pending", "blocked"), plan


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(base.worlds())
def test_an_undeclared_link_never_writes_in_generated_worlds(generated):
    tenant, users = generated
    sim = base.SimWorld(tenant, now=base.NOW)
    base.prime_joins(sim, users)
    world = base.to_world(sim)
    links = [planner.Link(base.to_ad_user(u), allow_purge=True, allow_data_loss=True, allow_role_holder=True)
             for u in users]
    for plan in planner.plan_links(links, world):
        assert _writes(plan) == [], plan
        if plan.state == "pending":
            # the sync's own outcome, with nothing quarantined
            assert plan.current.outcome in model.MATCHES + (model.PROVISION,) and not plan.current.quarantined
