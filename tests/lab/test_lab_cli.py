"""``python -m lab up|down|status`` for the Graph emulator: facts written, stopped by pid,
nothing left behind, state kept across a restart. (The Samba half has its own suite, which
owns the DC's fixed ports for the session.)"""

from __future__ import annotations

import json
import os
import pathlib
import ssl
import stat
import subprocess
import sys

import httpx

REPO = pathlib.Path(__file__).resolve().parents[2]
FACT_KEYS = {"graph_endpoint", "authority_host", "tenant_id", "client_id", "client_secret", "ca_path", "graph_pid"}


def lab(state_dir, *args):
    env = dict(os.environ, SYNCFIX_LAB_GRAPH_PORT="0")
    done = subprocess.run([sys.executable, "-m", "lab", *args, "--only", "graph", "--state-dir", str(state_dir)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def alive(pid: int) -> bool:
    try:
        cmdline = pathlib.Path("/proc/%d/cmdline" % pid).read_bytes()
    except OSError:
        return False
    return b"lab.graph_emulator" in cmdline


def token(facts) -> str:
    answer = httpx.post("%s/%s/oauth2/v2.0/token" % (facts["authority_host"], facts["tenant_id"]), verify=ssl.create_default_context(cafile=facts["ca_path"]),
                        data={"grant_type": "client_credentials", "client_id": facts["client_id"],
                              "client_secret": facts["client_secret"], "scope": "https://graph.microsoft.com/.default"})
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def test_up_down_twice_leaves_no_process(tmp_path):
    for _round in range(2):
        printed = lab(tmp_path, "up")
        facts = json.loads((tmp_path / "lab.json").read_text())
        assert FACT_KEYS <= set(facts)
        assert printed["client_secret"] == "********", "secrets are never printed"
        assert stat.S_IMODE((tmp_path / "lab.json").stat().st_mode) == 0o600
        assert alive(facts["graph_pid"])
        assert lab(tmp_path, "up")["graph_pid"] == facts["graph_pid"], "a second up reuses the running emulator"
        assert lab(tmp_path, "status")["graph"]["running"] is True

        assert lab(tmp_path, "down") == {"graph_pid": facts["graph_pid"]}
        assert not alive(facts["graph_pid"])
        assert not (tmp_path / "lab.json").exists(), "lab.json never points at a stopped process"
        assert lab(tmp_path, "status")["graph"]["running"] is False
    assert lab(tmp_path, "down") == {"graph_pid": None}


def test_tenant_survives_restart(tmp_path):
    facts = lab(tmp_path, "up")
    facts = json.loads((tmp_path / "lab.json").read_text())
    client = httpx.Client(verify=ssl.create_default_context(cafile=facts["ca_path"]), headers={"Authorization": "Bearer " + token(facts)})
    created = client.post(facts["graph_endpoint"] + "/v1.0/users", json={
        "accountEnabled": True, "displayName": "Kept", "mailNickname": "kept",
        "userPrincipalName": "kept@contoso.com", "passwordProfile": {"password": "Lab-Passw0rd!"}})
    assert created.status_code == 201, created.text
    lab(tmp_path, "down")

    facts = lab(tmp_path, "up")
    facts = json.loads((tmp_path / "lab.json").read_text())
    client = httpx.Client(verify=ssl.create_default_context(cafile=facts["ca_path"]), headers={"Authorization": "Bearer " + token(facts)})
    found = client.get(facts["graph_endpoint"] + "/v1.0/users/kept@contoso.com")
    lab(tmp_path, "down")
    assert found.status_code == 200, found.text
    assert found.json()["id"] == created.json()["id"]
