"""Leases let suites share the DC: shared leases coexist, an exclusive one waits, and the DC
is stopped by the last lease out only when a lease started it. (Lock logic only: the DC's
up/down are replaced by recorders, so these tests need no Samba.)"""

from __future__ import annotations

import pytest

from lab.samba_dc import sharing as lease_module
from lab.samba_dc.settings import DcPaths


@pytest.fixture
def calls(monkeypatch, tmp_path):
    """Record up/down; ``calls["running"]`` is whether the fake DC runs."""
    record = {"up": 0, "down": 0, "running": False, "marker": False}

    def up_for_lease(state_dir, settings=None):
        record["up"] += 1
        started = not record["running"]
        record["running"] = True
        record["marker"] = record["marker"] or started
        return {"samba_pid": 1}, started

    def down(state_dir):
        record["down"] += 1
        record["running"] = False
        record["marker"] = False
        return {"stopped": 1}

    monkeypatch.setattr(lease_module.lifecycle, "up_for_lease", up_for_lease)
    monkeypatch.setattr(lease_module.lifecycle, "down", down)
    monkeypatch.setattr(lease_module.lifecycle, "lease_started", lambda paths: record["marker"])
    return record


def test_shared_leases_coexist_and_the_last_one_out_stops_the_dc(calls, tmp_path):
    first = lease_module.lease(tmp_path)
    second = lease_module.lease(tmp_path)
    first.__enter__()
    second.__enter__()
    assert calls["up"] == 2
    first.__exit__(None, None, None)
    # The first lease started the DC, but the second still uses it.
    assert calls["down"] == 0
    second.__exit__(None, None, None)
    assert calls["down"] == 1


def test_exclusive_lease_waits_for_shared_ones(calls, tmp_path):
    with lease_module.lease(tmp_path):
        with pytest.raises(TimeoutError, match="held by another session"):
            with lease_module.lease(tmp_path, exclusive=True, timeout=0.5):
                pass  # pragma: no cover
    with lease_module.lease(tmp_path, exclusive=True, timeout=0.5):
        with pytest.raises(TimeoutError):
            with lease_module.lease(tmp_path, timeout=0.5):
                pass  # pragma: no cover


def test_a_dc_that_was_already_up_is_left_running(calls, tmp_path):
    calls["running"] = True  # started by `python -m lab up`: no lease marker
    with lease_module.lease(tmp_path) as facts:
        assert facts == {"samba_pid": 1}
    assert calls["down"] == 0


def test_lease_lock_lives_in_the_dc_state_folder(calls, tmp_path):
    with lease_module.lease(tmp_path):
        assert (DcPaths(tmp_path.resolve()).root / "lease.lock").exists()


def test_a_lease_that_joins_a_lease_started_dc_stops_it_even_if_the_marker_goes(calls, tmp_path):
    # An earlier lease started the DC and ended while this one waited; this session then
    # restarts the DC directly (as the lifecycle tests do), which drops the marker.
    calls["running"] = True
    calls["marker"] = True
    with lease_module.lease(tmp_path, exclusive=True):
        calls["marker"] = False
    assert calls["down"] == 1
