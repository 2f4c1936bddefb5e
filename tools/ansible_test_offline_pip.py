#!/usr/bin/env python3
"""Let `ansible-test sanity --venv` bootstrap pip on machines that reach only a package registry.

ansible-test downloads a get-pip script from its own CI file host and caches it as
~/.ansible/test/cache/get_pip_<version>.py; it uses the cached file when present.  Where that
host cannot be reached, this writes a stand-in there that bootstraps pip with ensurepip and
installs the requested packages from the package index.  ansible-test strips the environment
(PIP_CERT is lost), so the CA bundle that reaches the index is written into the stand-in.

Nothing is written when the cache file exists or when the real host answers.

Run it with the Python of the ansible-core whose ansible-test comes next: each release pins its
own pip version (2.16: 23.1.2, 2.19: 24.2), read here from that ansible-test's sources
(`make sanity` runs it from .venv, `make sanity-oldest` from build/venv-ansible-2.16).
"""

import os
import re
import sys
import urllib.request

import ansible_test

STANDIN = '''"""Stand-in for ansible-test's get-pip script, written by syncfix.entra tools/ansible_test_offline_pip.py."""
import ensurepip
import subprocess
import sys

CA_BUNDLE = {ca_bundle!r}
arguments = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
ensurepip.bootstrap()
certificate = ["--cert", CA_BUNDLE] if CA_BUNDLE else []
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + certificate + arguments))
'''

DOWNLOAD_URL = "https://ci-files.testing.ansible.com/ansible-test/get-pip-%s.py"


def pip_versions():
    source = os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")
    with open(source, encoding="utf-8") as handle:
        return sorted(set(re.findall(r"pip='([0-9.]+)'", handle.read())))


def ca_bundle():
    for name in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        if os.environ.get(name) and os.path.isfile(os.environ[name]):
            return os.environ[name]
    return "/etc/ssl/certs/ca-certificates.crt" if os.path.isfile("/etc/ssl/certs/ca-certificates.crt") else None


def reachable(url):
    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=5).close()
        return True
    except Exception:  # any failure means ansible-test's own download would fail too
        return False


def main():
    for version in pip_versions():
        cache = os.path.expanduser("~/.ansible/test/cache/get_pip_%s.py" % version.replace(".", "_"))
        if os.path.exists(cache) or reachable(DOWNLOAD_URL % version):
            continue
        os.makedirs(os.path.dirname(cache), exist_ok=True)
        with open(cache, "w", encoding="utf-8") as handle:
            handle.write(STANDIN.format(ca_bundle=ca_bundle()))
        print("ansible-test pip bootstrap host unreachable; wrote stand-in %s" % cache)
    return 0


if __name__ == "__main__":
    sys.exit(main())
