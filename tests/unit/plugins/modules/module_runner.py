"""Run a module's ``main()`` offline, as amazon.aws's ``set_module_args`` tests do: the
arguments go in through Ansible's own module-args channel, the result comes back from
``exit_json``/``fail_json``, and the directories are fakes handed to the shared module base."""

import inspect
import json
import os
import sys
from unittest import mock

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
import returned_keys  # noqa: E402  (tests/, after the path fix)

from ansible.module_utils import basic

from ansible_collections.syncfix.entra.plugins.module_utils._module.base import SyncfixModule

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    import contextlib

    @contextlib.contextmanager
    def patch_module_args(args):
        with mock.patch.object(basic, "_ANSIBLE_ARGS", json.dumps({"ANSIBLE_MODULE_ARGS": args}).encode()):
            yield


class ModuleExit(Exception):
    def __init__(self, result):
        super(ModuleExit, self).__init__(result.get("msg"))
        self.result = result


def _exit(self, **result):
    raise ModuleExit(dict(result, changed=result.get("changed", False)))


def _fail(self, msg, **result):
    raise ModuleExit(dict(result, failed=True, msg=msg))


def assert_documented(main, result):
    """A module returns only what its RETURN documents (every test that runs main() checks it)."""
    module = sys.modules[main.__module__]
    returned_keys.assert_documented(module.__name__, inspect.getsource(module), result)


def run_module(main, args, check_mode=False, diff=False, graph=None, ad=None):
    """The module's result dict (``failed: true`` when it failed); its keys must be documented."""
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args), \
            mock.patch.object(basic.AnsibleModule, "exit_json", _exit), \
            mock.patch.object(basic.AnsibleModule, "fail_json", _fail), \
            mock.patch.object(SyncfixModule, "graph", new_callable=mock.PropertyMock, return_value=graph), \
            mock.patch.object(SyncfixModule, "ad", new_callable=mock.PropertyMock, return_value=ad):
        try:
            main()
        except ModuleExit as done:
            assert_documented(main, done.result)
            return done.result
    raise AssertionError("main() returned without exit_json or fail_json")


class FakeAD:
    """A directory that answers every search with all its entries (the lookup filters them
    client-side, as it does with a real OR filter) and applies ``replace`` modifies."""

    def __init__(self, *entries):
        self.entries = dict((e["dn"].lower(), e) for e in entries)
        self.modifies = []
        self.stats = {"searches": 0, "modifies": 0}

    def search(self, search_filter, attributes, base=None, scope="subtree", page_size=None):
        self.stats["searches"] += 1
        if scope == "base":
            return [self.entries[base.lower()]] if base.lower() in self.entries else []
        return list(self.entries.values())

    def modify(self, dn, changes):
        self.stats["modifies"] += 1
        self.modifies.append((dn, changes))
        entry = self.entries[dn.lower()]
        for attribute, steps in changes.items():
            for operation, values in steps:
                assert operation == "replace", "FakeAD applies replace only"
                entry["attributes"][attribute] = list(values)
                entry["raw"][attribute] = list(values)

    def close(self):
        pass


def ad_user(sam, guid, **attributes):
    dn = "CN=%s,OU=Staff,DC=contoso,DC=test" % sam
    raw = dict(objectGUID=[guid.bytes_le])
    raw.update(dict((k, v) for k, v in attributes.items() if isinstance(v, list) and v and isinstance(v[0], bytes)))
    values = dict(objectClass=["top", "person", "user"], objectGUID=str(guid), sAMAccountName=sam,
                  distinguishedName=dn)
    values.update(dict((k, v) for k, v in attributes.items() if k not in raw))
    return {"dn": dn, "attributes": values, "raw": raw}
