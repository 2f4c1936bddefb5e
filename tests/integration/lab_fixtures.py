"""The lab parts integration tests run against, started when they are not up and stopped
afterwards only if the test session started them."""

import os
import pathlib
import sys
import uuid

REPO = pathlib.Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
if str(REPO / "tests") not in sys.path:
    sys.path.insert(0, str(REPO / "tests"))

import returned_keys  # noqa: E402  (after the path fix)
from lab.graph_emulator import settings as lab_settings  # noqa: E402

STATE_DIR = pathlib.Path(os.environ.get("LAB_STATE_DIR", REPO / "lab" / ".state"))
TREE_DELETE = "1.2.840.113556.1.4.805"
# Every ansible run's registered results land in <its tmp_path>/RESULTS, written by the callback
# in RESULTS_CALLBACKS (callback_plugins/registered_results.py).
RESULTS_CALLBACKS = str(pathlib.Path(__file__).resolve().parent / "callback_plugins")
RESULTS = "registered.json"


def samba_lease():
    """``with samba_lease() as facts``: the DC is up, and no other session stops or resets it
    meanwhile; it is stopped at the end only if a lease started it (``make lab-up`` keeps it)."""
    from lab import samba_dc

    samba_dc.install_packages()
    return samba_dc.lease(STATE_DIR)


def unique_ou(base_dn):
    return "OU=it-%s,%s" % (uuid.uuid4().hex[:8], base_dn)


def import_collection_from_checkout():
    """Make ``ansible_collections.syncfix.entra`` importable from this checkout (for adapter tests)."""
    from lab import checkout_collection

    root = checkout_collection.collections_root()
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))


class GraphLab:
    """A private Graph emulator for one test session (its own state folder and free port), so
    tests never reset the tenant of a lab someone has up. Speaks raw HTTP to the emulator's
    ``/_lab`` API; the collection's code is what the tests exercise, never this."""

    def __init__(self, state_dir):
        from lab import emulator_process

        self._process = emulator_process
        self.state_dir = state_dir
        self.facts = emulator_process.start(state_dir)
        import httpx
        import ssl

        self.http = httpx.Client(verify=ssl.create_default_context(cafile=self.facts["ca_path"]), timeout=30)

    def close(self):
        self.http.close()
        self._process.stop(self.state_dir)

    @property
    def auth(self):
        """Module options that point the collection at the emulator (its token service is no
        Microsoft authority, so the secret goes there only with allow_custom_authority)."""
        return dict({key: self.facts[key] for key in ("tenant_id", "client_id", "client_secret", "graph_endpoint",
                                                      "authority_host", "ca_path")}, allow_custom_authority=True)

    def lab(self, method, path, **kwargs):
        answer = self.http.request(method, self.facts["graph_endpoint"] + "/_lab" + path, **kwargs)
        assert answer.status_code < 300, answer.text
        return answer.json() if answer.content else None

    def load(self, tenant, **settings):
        """Replace the tenant, clear log, quotas and faults, forget the AD an earlier test registered
        (so no scheduled Cloud Sync cycle reads it into this tenant), and apply ``settings``."""
        self.lab("POST", "/reset", json=tenant)
        self.lab("DELETE", "/ad")
        self.lab("PATCH", "/config", json=dict(lab_settings.DEFAULTS, **settings))

    def requests(self):
        return self.lab("GET", "/requests")["value"]

    def writes(self):
        """Every write sent to Graph, answered or refused: direct requests and $batch items (the
        token request and the $batch envelope are not writes)."""
        return [entry for entry in self.requests()
                if entry["method"] in ("POST", "PATCH", "PUT", "DELETE") and entry["path"] != "/$batch"
                and not entry["path"].endswith("/oauth2/v2.0/token")]

    def applied_writes(self):
        return [entry for entry in self.writes() if 200 <= entry["status"] < 300]  # a dropped one logs 0

    def users(self):
        return {user["userPrincipalName"]: user for user in self.lab("GET", "/state")["users"]}


def another_name_for_the_dc(samba):
    """This machine's host name when it reaches the lab DC's listener but is not on its
    certificate (which names the DC, localhost and 127.0.0.1); None when it does not resolve
    to the DC's address."""
    import socket

    other = socket.gethostname()
    try:
        reachable = socket.gethostbyname(other) == samba["ldap_server"] and other.lower() != "localhost"
    except OSError:
        reachable = False
    return other if reachable else None


def assert_documented(task, result):
    """A syncfix.entra task returns only what its module's RETURN documents."""
    names = [key for key in task if key.startswith("syncfix.entra.")]
    if not names or result.get("skipped"):
        return
    path = REPO / "plugins" / "modules" / ("%s.py" % names[0].rsplit(".", 1)[1])
    returned_keys.assert_documented(names[0], path.read_text(), result)
