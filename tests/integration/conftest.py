"""Integration tests drive the real ansible CLI against the collection as a user installs it:
built with ansible-galaxy into a tarball, installed into a temporary collections path."""

import fcntl
import json
import os
import ssl
import subprocess
import sys
import uuid

import pytest
import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lab_fixtures  # noqa: E402  (after the path fix)

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="session")
def collections_path(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    path = tmp_path_factory.mktemp("collections")
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(out), REPO],
                   check=True, capture_output=True)
    (tarball,) = out.glob("syncfix-entra-*.tar.gz")
    subprocess.run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "-p", str(path), str(tarball)],
                   check=True, capture_output=True)
    return path


@pytest.fixture
def ansible(collections_path, tmp_path):
    """Run an ansible CLI tool with only the installed collection visible."""

    def run(tool, *args, env=None):
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections_path), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
                   ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="0", ANSIBLE_PYTHON_INTERPRETER=sys.executable,
                   ANSIBLE_CALLBACK_PLUGINS=lab_fixtures.RESULTS_CALLBACKS,
                   ANSIBLE_CALLBACKS_ENABLED="registered_results",
                   SYNCFIX_TEST_RESULTS=str(tmp_path / lab_fixtures.RESULTS), **(env or {}))
        return subprocess.run([os.path.join(BIN, tool)] + list(args), env=env, cwd=str(tmp_path),
                              capture_output=True, text=True, check=False)

    return run


@pytest.fixture
def playbook(ansible, tmp_path):
    """Run tasks on localhost through ansible-playbook; returns each task's registered result, in
    order (read by callback_plugins/registered_results.py, so the play needs no task of ours).

    ``playbook(tasks, check=False, diff=False)`` -> (returncode, [result, ...]).
    """

    def run(tasks, check=False, diff=False, env=None):
        out = tmp_path / lab_fixtures.RESULTS
        if out.exists():
            out.unlink()
        registered = []
        for index, task in enumerate(tasks):
            task = dict(task, register="result_%d" % index)
            task.setdefault("ignore_errors", True)
            registered.append(task)
        path = tmp_path / "play.yml"
        path.write_text(yaml.safe_dump([{"hosts": "localhost", "gather_facts": False, "tasks": registered}]))
        args = ["ansible-playbook", str(path)] + (["--check"] if check else []) + (["--diff"] if diff else [])
        completed = ansible(*args, env=env)
        answers = json.loads(out.read_text()) if out.exists() else {}
        if len(answers) != len(tasks):
            raise AssertionError("the play did not finish:\n%s\n%s" % (completed.stdout, completed.stderr))
        results = [answers["result_%d" % i] for i in range(len(tasks))]
        for task, result in zip(tasks, results):
            lab_fixtures.assert_documented(task, result)
        return completed.returncode, results

    return run


@pytest.fixture(scope="session")
def samba():
    with lab_fixtures.samba_lease() as facts:
        yield facts


@pytest.fixture
def ldap_admin(samba):
    """A direct ldap3 connection (not the collection's code) to set up and inspect objects."""
    import ldap3

    tls = ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=samba["ldap_ca_path"])
    server = ldap3.Server(samba["ldap_server"], port=samba["ldaps_port"], use_ssl=True, tls=tls)
    connection = ldap3.Connection(server, samba["bind_dn"], samba["bind_password"], auto_bind=True,
                                  raise_exceptions=False)
    yield connection
    connection.unbind()


@pytest.fixture
def ou(samba, ldap_admin):
    dn = lab_fixtures.unique_ou(samba["base_dn"])
    ldap_admin.add(dn, ["top", "organizationalUnit"])
    assert ldap_admin.result["description"] == "success", ldap_admin.result
    yield dn
    ldap_admin.delete(dn, controls=[(lab_fixtures.TREE_DELETE, True, None)])


@pytest.fixture(scope="session")
def graph_lab(tmp_path_factory):
    lab = lab_fixtures.GraphLab(tmp_path_factory.mktemp("graph-lab"))
    yield lab
    lab.close()


AD_KEYS = ("ldap_server", "ldaps_port", "base_dn", "bind_dn", "bind_password", "ldap_ca_path")


@pytest.fixture
def load(samba, graph_lab, tmp_path_factory):
    """``load(name)``: a lab scenario's AD side under a fresh OU (deleted afterwards), its tenant
    in the emulator, whose sync reads that OU only; returns (scenario, {sAMAccountName: DN}).
    ``load.root`` is the OU.

    The scenarios reuse sAMAccountNames (vp, jsmith), which the DC keeps unique, so a test that
    loads one holds a lock every xdist worker of the session shares (its base temp folder's
    parent) until it ends: the scenario tests of different files take turns, and the others
    share the DC meanwhile."""
    from lab import scenario
    from lab.scenario import ad_side, tenant_side

    lock_path = tmp_path_factory.getbasetemp().parent / "scenarios.lock"
    with open(str(lock_path), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        root = "OU=e2e-%s,%s" % (uuid.uuid4().hex[:8], samba["base_dn"])
        connection = ad_side.connect(samba)
        connection.add(root, ["top", "organizationalUnit"])
        assert connection.result["description"] == "success", connection.result

        def run(name):
            """``name``: a scenario of lab/scenarios, or a scenario's data (a variant a test
            makes of one), validated as the files are."""
            if isinstance(name, dict):
                data = scenario.validate(name, "a test's scenario %s" % name.get("name"))
            else:
                data = scenario.load(scenario.SCENARIO_DIR / ("%s.yml" % name))
            # A scenario loaded into this lab earlier (make lab-load, make demo) holds the same
            # sAMAccountNames: those leftovers go first.
            for user in data["ad"]["users"]:
                connection.search(samba["base_dn"], "(sAMAccountName=%s)" % user["sAMAccountName"], attributes=["cn"])
                for entry in list(connection.entries):
                    connection.delete(entry.entry_dn)
            graph_lab.load(tenant_side.tenant_state(data))
            graph_lab.lab("PUT", "/ad", json=dict(dict((k, samba[k]) for k in AD_KEYS), scope=[root]))
            return data, ad_side.apply(connection, data, samba["base_dn"], root_dn=root)

        run.root = root
        try:
            yield run
        finally:
            connection.delete(root, controls=[(lab_fixtures.TREE_DELETE, True, None)])
            connection.unbind()
