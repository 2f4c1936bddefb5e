"""Integration tests drive the real ansible CLI against the collection as a user installs it:
built with ansible-galaxy into a tarball, installed into a temporary collections path."""

import os
import subprocess
import sys

import pytest

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

    def run(tool, *args):
        env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections_path), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
                   ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="0")
        return subprocess.run([os.path.join(BIN, tool)] + list(args), env=env, cwd=str(tmp_path),
                              capture_output=True, text=True, check=False)

    return run
