"""One Samba AD DC for the whole session: the lab's own (``lab/.state``, or ``LAB_STATE_DIR``).

A DC the developer already runs (``make lab-up``) is reused and left running, but the
lifecycle tests restart and reset it (a loaded scenario is gone afterwards); a DC this
session started is stopped at the end. Everything the tests create lives in one OU per
session, deleted (tree delete) at the end.
"""

from __future__ import annotations

import os
import pathlib
import ssl
import sys
import uuid

import httpx

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

ldap3 = pytest.importorskip("ldap3")

from lab import emulator_process, samba_dc, scenario  # noqa: E402  (after the sys.path fix above)
from lab.scenario import ad_side, tenant_side  # noqa: E402

TREE_DELETE = "1.2.840.113556.1.4.805"


def pytest_collection_modifyitems(items):
    # The stop/start/reset tests disturb the DC: run them after everything else.
    items.sort(key=lambda item: item.get_closest_marker("lifecycle") is not None)


def pytest_configure(config):
    config.addinivalue_line("markers", "lifecycle: stops, starts or resets the DC; runs last")


@pytest.fixture(scope="session")
def state_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("LAB_STATE_DIR", REPO / "lab" / ".state"))


@pytest.fixture(scope="session")
def dc(state_dir):
    """The DC's facts (as written to lab.json), under an exclusive lease for the session.

    Exclusive because the lifecycle tests stop, restart and reset the DC: other suites that
    hold a lease (integration tests run side by side) wait, and this session waits for them.
    The DC is stopped at the end if this session started it.
    """
    if os.geteuid() != 0 and samba_dc.packages.missing_packages():
        pytest.skip("Samba packages missing and not root: run `make lab-up` as root first")
    samba_dc.install_packages()
    with samba_dc.lease(state_dir, exclusive=True) as facts:
        yield facts


def tls_with_lab_ca(facts) -> "ldap3.Tls":
    return ldap3.Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=facts["ldap_ca_path"])


def ldaps_server(facts, tls=None) -> "ldap3.Server":
    return ldap3.Server(
        facts["ldap_server"], port=facts["ldaps_port"], use_ssl=True,
        tls=tls or tls_with_lab_ca(facts), connect_timeout=5,
    )


def admin_connection(facts) -> "ldap3.Connection":
    return ldap3.Connection(
        ldaps_server(facts), facts["bind_dn"], facts["bind_password"],
        auto_bind=True, raise_exceptions=False, receive_timeout=15,
    )


@pytest.fixture(scope="session")
def lab_tls(dc) -> "ldap3.Tls":
    """Certificate validation on, trusting only the lab CA."""
    return tls_with_lab_ca(dc)


@pytest.fixture(scope="session")
def make_ldaps_server(dc):
    """``make_ldaps_server(tls=None)``: an LDAPS ``Server`` for the DC (lab CA by default)."""
    return lambda tls=None: ldaps_server(dc, tls)


@pytest.fixture(scope="session")
def test_ou(dc):
    """DN of this session's OU; deleted with everything in it at the end."""
    dn = "OU=pytest-%s,%s" % (uuid.uuid4().hex[:8], dc["base_dn"])
    yield dn
    connection = admin_connection(dc)
    connection.delete(dn, controls=[(TREE_DELETE, True, None)])
    connection.unbind()


@pytest.fixture
def admin(dc, test_ou):
    """An LDAPS connection bound as the DC's administrator, with the session OU in place.

    Function-scoped: the lifecycle tests restart the DC, and a reset wipes the OU.
    """
    connection = admin_connection(dc)
    connection.add(test_ou, ["top", "organizationalUnit"])
    assert connection.result["description"] in ("success", "entryAlreadyExists"), connection.result
    yield connection
    connection.unbind()


# -- a private Graph emulator reading this DC, and scenarios loaded into both -------------------

class Emulator:
    def __init__(self, facts):
        self.facts = facts
        self.http = httpx.Client(verify=ssl.create_default_context(cafile=facts["ca_path"]), timeout=60)
        self._token = None

    def lab(self, method, path, **kwargs):
        answer = self.http.request(method, self.facts["graph_endpoint"] + "/_lab" + path, **kwargs)
        assert answer.status_code < 300, answer.text
        return answer.json() if answer.content else None

    def graph(self, method, path, **kwargs):
        if self._token is None:
            self._token = self.http.post("%s/%s/oauth2/v2.0/token" % (self.facts["authority_host"],
                                                                      self.facts["tenant_id"]), data={
                "grant_type": "client_credentials", "client_id": self.facts["client_id"],
                "client_secret": self.facts["client_secret"],
                "scope": "https://graph.microsoft.com/.default"}).json()["access_token"]
        return self.http.request(method, self.facts["graph_endpoint"] + "/v1.0" + path,
                                 headers={"Authorization": "Bearer " + self._token}, **kwargs)

    def sync(self, **options):
        return self.lab("POST", "/sync", json=options)

    def users(self, deleted=False):
        return {u["userPrincipalName"]: u for u in self.lab("GET", "/state")["users"]
                if bool(u.get("deletedDateTime")) == deleted}


@pytest.fixture(scope="module")
def emulator(dc, tmp_path_factory):
    state = tmp_path_factory.mktemp("graph")
    facts = emulator_process.start(state)
    client = Emulator(facts)
    client.lab("PUT", "/ad", json=dc)
    yield client
    client.http.close()
    emulator_process.stop(state)


@pytest.fixture
def load(dc, state_dir, emulator):
    """``load(name)``: the DC reset to exactly the scenario's AD side, the tenant to its tenant side."""

    def run(name):
        data = scenario.load(scenario.SCENARIO_DIR / ("%s.yml" % name))
        emulator.lab("POST", "/reset", json=tenant_side.tenant_state(data))
        dns = ad_side.reset_and_apply(state_dir, data)
        return data, dns

    return run
