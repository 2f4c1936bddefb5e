"""Saving the tenant to its file from several threads: a sync cycle saves while it holds the
tenant lock, the delayed save of a burst of writes runs on a timer thread."""

from __future__ import annotations

import json
import threading
import time

from lab.graph_emulator.tenant import Tenant


def test_a_save_under_the_tenant_lock_and_a_timer_save_do_not_deadlock(tmp_path):
    tenant = Tenant("t1", tmp_path / "tenant.json", time.time)
    timer_waiting = threading.Event()

    def cycle():  # a sync cycle: the tenant lock held across its writes and its save
        with tenant.lock:
            threading.Thread(target=timer_save, daemon=True).start()
            timer_waiting.wait(1)
            time.sleep(0.2)  # the timer's save is now waiting on a lock
            tenant.state["users"].append({"id": "u1", "userPrincipalName": "late@contoso.com"})
            tenant.save()

    def timer_save():
        timer_waiting.set()
        tenant.save()

    threads = [threading.Thread(target=cycle, daemon=True)]
    threads[0].start()
    threads[0].join(5)
    assert not threads[0].is_alive(), "the cycle's save never finished: deadlock with the timer's save"
    time.sleep(0.3)
    saved = json.loads((tmp_path / "tenant.json").read_text())
    assert [u["userPrincipalName"] for u in saved["users"]][-1:] == ["late@contoso.com"], "the newest snapshot won"
