"""The converge engine: refusals, the check-mode gate, apply, per-item failure, the diff."""

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._module.converge import ItemPlan, converge, plan_results
from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import SyncfixError
from ansible_collections.syncfix.entra.plugins.module_utils._graph.client import GraphError


class Exited(Exception):
    pass


class Base:
    """What converge needs of a module base: check_mode and exit_bulk."""

    def __init__(self, check_mode=False):
        self.check_mode = check_mode
        self.exits = []

    def exit_bulk(self, results, diff=None, **extra):
        self.exits.append(dict(results=results, diff=diff, **extra))
        raise Exited()


def plan(item, changed=True, refusal=None, fail=None, partial=False, writes=None):
    def apply(p):
        if partial:
            p.after, p.partial = "half", True
        if fail is not None:
            raise fail
        writes.append(item)

    return ItemPlan(item, "old", "new", changed=changed, action="set x", apply=apply, refusal=refusal)


def run(base, plans, **extra):
    with pytest.raises(Exited):
        converge(base, plans, lambda p, side: (p.item, {"x": getattr(p, side), "unset": None}), **extra)
    return base.exits[-1]


def test_check_mode_writes_nothing_and_says_would():
    writes = []
    out = run(Base(check_mode=True), [plan("a", writes=writes), plan("b", changed=False, writes=writes)])
    assert writes == []
    assert [(r["item"], r["changed"], r["msg"]) for r in out["results"]] == [
        ("a", True, "would set x"), ("b", False, "already as requested")]
    assert out["diff"] == {"before": {"a": {"x": "old"}}, "after": {"a": {"x": "new"}}}, "structured, no nulls"


def test_a_refusal_stops_every_write_and_the_others_say_so():
    writes = []
    out = run(Base(), [plan("a", writes=writes), plan("b", refusal="b is an admin", writes=writes)])
    assert writes == []
    a, b = out["results"]
    assert a["changed"] is False and a["after"] == "old" and "another item was refused" in a["msg"]
    assert a["msg"].startswith("would set x"), "nothing was written: the message must not claim it was"
    assert b["failed"] is True and b["error"] == {"kind": "refused", "message": "b is an admin"}
    assert out["diff"] == {"before": {}, "after": {}}, "nothing was written, so the diff is empty"


def test_check_mode_with_a_refusal_still_shows_the_diff_of_the_others():
    writes = []
    out = run(Base(check_mode=True), [plan("a", writes=writes), plan("b", refusal="b is an admin", writes=writes)])
    assert writes == []
    assert out["diff"] == {"before": {"a": {"x": "old"}}, "after": {"a": {"x": "new"}}}


def test_nothing_to_change_is_an_empty_diff_not_none():
    out = run(Base(), [plan("a", changed=False, writes=[])])
    assert out["diff"] == {"before": {}, "after": {}}


def test_a_failed_write_fails_only_its_item_with_the_error_details():
    writes = []
    error = GraphError(403, "Authorization_RequestDenied", "Insufficient privileges", "req-1", "set x", "a")
    out = run(Base(), [plan("a", fail=error, writes=writes), plan("b", writes=writes)])
    a, b = out["results"]
    assert writes == ["b"] and b["changed"] is True and b["msg"] == "set x"
    assert a["failed"] is True and a["changed"] is False and a["after"] == "old"
    assert a["error"]["code"] == "Authorization_RequestDenied" and a["error"]["request_id"] == "req-1"
    assert out["diff"] == {"before": {"b": {"x": "old"}}, "after": {"b": {"x": "new"}}}, "only the landed write"


def test_a_partial_write_is_reported_as_changed_with_where_it_stopped():
    out = run(Base(), [plan("a", fail=SyncfixError("purge failed"), partial=True, writes=[])])
    (a,) = out["results"]
    assert a["failed"] is True and a["changed"] is True and a["after"] == "half"
    assert out["diff"] == {"before": {"a": {"x": "old"}}, "after": {"a": {"x": "half"}}}


def test_plan_results_are_what_check_mode_returns():
    plans = [plan("a", writes=[]), plan("b", refusal="no", writes=[])]
    assert [r["msg"] for r in plan_results(plans)] == ["would set x", "no"]


def test_items_resolving_to_one_object_are_refused_together_and_nothing_is_written():
    writes = []
    plans = [plan("ann", writes=writes), plan("bob", writes=writes), plan("CN=Ann,DC=x", writes=writes)]
    plans[0].target = plans[2].target = "cn=ann,dc=x"
    plans[1].target = "cn=bob,dc=x"
    out = run(Base(), plans)
    assert writes == []
    ann, bob, ann_again = out["results"]
    assert ann["failed"] and ann_again["failed"] and not bob.get("failed")
    assert ann["msg"] == ("'ann' and 'CN=Ann,DC=x' name the same object (cn=ann,dc=x): name each object once, "
                          "so that one write decides it")
    assert "another item was refused" in bob["msg"]


def test_the_target_defaults_to_the_id_or_the_dn_field():
    assert ItemPlan("x", fields=dict(id="u1")).target == "u1"
    assert ItemPlan("x", fields=dict(dn="CN=A,DC=x")).target == "cn=a,dc=x"
    assert ItemPlan("x", fields=dict(id=None)).target is None


# refused_fail_alone=True (issue 26): a refused item fails alone, the others go on.

def test_a_refused_item_fails_alone_and_the_others_are_written_in_their_places():
    writes = []
    out = run(Base(), [plan("a", writes=writes), plan("b", refusal="b is an admin", writes=writes),
                       plan("c", writes=writes)], refused_fail_alone=True)
    assert writes == ["a", "c"]
    assert [(r["item"], r["changed"], bool(r.get("failed"))) for r in out["results"]] == [
        ("a", True, False), ("b", False, True), ("c", True, False)]
    assert out["diff"] == {"before": {"a": {"x": "old"}, "c": {"x": "old"}},
                           "after": {"a": {"x": "new"}, "c": {"x": "new"}}}


def test_refused_alone_check_mode_shows_the_others_and_writes_nothing():
    writes = []
    out = run(Base(check_mode=True), [plan("a", writes=writes), plan("b", refusal="no", writes=writes)],
              refused_fail_alone=True)
    assert writes == []
    assert [r["msg"] for r in out["results"]] == ["would set x", "no"]
    assert out["diff"] == {"before": {"a": {"x": "old"}}, "after": {"a": {"x": "new"}}}


def test_refused_alone_two_items_naming_one_object_are_still_refused_both():
    writes = []
    plans = [ItemPlan(i, "old", "new", changed=True, action="set x", apply=lambda p: writes.append(p.item),
                      fields=dict(id="same")) for i in ("a", "b")] + [plan("c", writes=writes)]
    out = run(Base(), plans, refused_fail_alone=True)
    assert writes == ["c"]
    assert [bool(r.get("failed")) for r in out["results"]] == [True, True, False]
