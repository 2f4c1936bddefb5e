"""Integration tests drive the real ansible CLI against the collection as a user installs it:
built with ansible-galaxy into a tarball, installed into a temporary collections path."""

import json
import os
import ssl
import subprocess
import sys

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
