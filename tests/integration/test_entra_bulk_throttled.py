"""One task stamps 1,000 users while the emulator enforces a scaled-down write quota: the run
meets 429s, honours Retry-After, and applies every value exactly once."""

import collections

import entra_tenant as t

COUNT = 1000


def test_thousand_users_in_one_task_under_throttling(graph_lab, playbook):
    # quota_scale 0.05 and time_scale 0.01: 150 writes per 1.5 s for the app, instead of 3,000 per 150 s.
    graph_lab.load(t.many_users(COUNT), quota_scale=0.05, time_scale=0.01)
    items = [{"user": "bulk%05d@contoso.com" % n, "immutable_id": t.bulk_anchor(n)} for n in range(COUNT)]
    # The module is told the quota is far higher than the emulator's, so it must meet 429s.
    module_args = dict(graph_lab.auth, users=items, write_quota={"writes": 5000, "period": 1})
    task = {"syncfix.entra.entra_immutable_id": module_args}

    rc, (result,) = playbook([task])
    assert rc == 0 and not result.get("failed"), result.get("msg")
    assert sum(r["changed"] for r in result["results"]) == COUNT

    log = graph_lab.requests()
    throttled = [e for e in log if e["status"] == 429]
    assert throttled, "the scaled quota was never hit, so this test proves nothing"
    applied = collections.Counter(e["path"] for e in graph_lab.applied_writes() if e["method"] == "PATCH")
    assert len(applied) == COUNT and set(applied.values()) == {1}, "each user was written exactly once"
    users = graph_lab.users()
    assert all(users["bulk%05d@contoso.com" % n]["onPremisesImmutableId"] == t.bulk_anchor(n) for n in range(COUNT))
    assert result["graph_requests"]["throttled"] >= 1
