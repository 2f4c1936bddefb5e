"""Every scenario's documented outcome from the in-memory simulator: the same ``cycle.apply``
the DC-backed test drives, so a rule change shows here in a second."""

import pytest

from lab import scenario
from lab.sync_simulator.offline import scenario_world


@pytest.mark.parametrize("path", scenario.all_scenarios(), ids=[p.stem for p in scenario.all_scenarios()])
def test_scenario_outcome_offline(path):
    data = scenario.load(path)
    world, users = scenario_world(data)
    result = world.sync(*users)
    expect = data["expect"]
    assert result["result"] == expect["run_result"], result["errors"]
    if "errors" in expect:
        assert [{"object": e["object"], "error": e["error"], "attribute": e["attribute"]} for e in result["errors"]] \
            == expect["errors"]
    if "joins" in expect:
        assert [{"object": j["object"], "cloud_user": j["cloud_user"], "by": j["by"]} for j in result["joins"]] \
            == expect["joins"]
    if "provisioned" in expect:
        assert result["provisioned"] == expect["provisioned"]
    assert scenario.cloud_users_match(expect["cloud_users"], world.tenant.state), \
        scenario.cloud_end_state(world.tenant.state)
