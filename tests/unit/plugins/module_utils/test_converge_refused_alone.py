"""converge(..., refused_fail_alone=True): a refused item fails alone, the others go on (issue 26)."""

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._module.converge import ItemPlan, converge


class Exited(Exception):
    pass


class Base:
    def __init__(self, check_mode=False):
        self.check_mode = check_mode
        self.exits = []

    def exit_bulk(self, results, diff=None, **extra):
        self.exits.append(dict(results=results, diff=diff, **extra))
        raise Exited()


def plan(item, refusal=None, writes=None):
    return ItemPlan(item, "old", "new", changed=True, action="set x", apply=lambda p: writes.append(item),
                    refusal=refusal)


def run(base, plans, **extra):
    with pytest.raises(Exited):
        converge(base, plans, lambda p, side: (p.item, {"x": getattr(p, side)}), **extra)
    return base.exits[-1]


def test_a_refused_item_fails_alone_and_the_others_are_written_in_their_places():
    writes = []
    out = run(Base(), [plan("a", writes=writes), plan("b", refusal="b is an admin", writes=writes),
                       plan("c", writes=writes)], refused_fail_alone=True)
    assert writes == ["a", "c"]
    assert [(r["item"], r["changed"], bool(r.get("failed"))) for r in out["results"]] == [
        ("a", True, False), ("b", False, True), ("c", True, False)]
    assert out["diff"] == {"before": {"a": {"x": "old"}, "c": {"x": "old"}},
                           "after": {"a": {"x": "new"}, "c": {"x": "new"}}}


def test_check_mode_shows_the_others_and_writes_nothing():
    writes = []
    out = run(Base(check_mode=True), [plan("a", writes=writes), plan("b", refusal="no", writes=writes)],
              refused_fail_alone=True)
    assert writes == []
    assert [r["msg"] for r in out["results"]] == ["would set x", "no"]
    assert out["diff"] == {"before": {"a": {"x": "old"}}, "after": {"a": {"x": "new"}}}


def test_two_items_naming_one_object_are_still_refused_both():
    writes = []
    plans = [ItemPlan(i, "old", "new", changed=True, action="set x", apply=lambda p: writes.append(p.item),
                      fields=dict(id="same")) for i in ("a", "b")] + [plan("c", writes=writes)]
    out = run(Base(), plans, refused_fail_alone=True)
    assert writes == ["c"]
    assert [bool(r.get("failed")) for r in out["results"]] == [True, True, False]
