"""The re-read-once rule of ad_proxy_addresses (its LDAP adapter), with a fake directory that changes underneath."""

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._ldap.client import LdapError
from ansible_collections.syncfix.entra.plugins.module_utils._backends.ad_proxy_addresses import apply_plan
from ansible_collections.syncfix.entra.plugins.module_utils._rules.proxy_address import ObjectPlan, Request

PARAMS = {"allow_primary_removal": False, "update_mail": True}
DN = "CN=Ann,DC=contoso,DC=test"


def entry(proxies, mail):
    return {"dn": DN, "attributes": {"proxyAddresses": proxies, "mail": [mail]}, "raw": {}}


class Directory:
    """Answers the first modify with the given LDAP result code, as if another admin got there first."""

    def __init__(self, first_code, now):
        self.first_code = first_code
        self.now = now
        self.modifies = []

    def modify(self, dn, changes):
        self.modifies.append(changes)
        if len(self.modifies) == 1 and self.first_code:
            raise LdapError("modify failed", self.first_code)

    def search(self, search_filter, attributes, base=None, scope="subtree"):
        assert base == DN and scope == "base"
        return [self.now]


REQUEST = Request("ann", [], "present", "ann.lee@contoso.com")
PLANNED_FROM = entry(["SMTP:ann@contoso.com", "smtp:ann.lee@contoso.com"], "ann@contoso.com")


@pytest.mark.parametrize("code", [16, 20])
def test_changed_underneath_is_replanned_once_from_a_fresh_read(code):
    # Meanwhile someone removed the old primary and wrote the alias as a plain secondary.
    now = entry(["SMTP:ann.lee@contoso.com", "smtp:ann@contoso.com", "smtp:extra@contoso.com"], "ann@contoso.com")
    directory = Directory(code, now)
    result = {}
    apply_plan(directory, ObjectPlan(REQUEST, PLANNED_FROM, PARAMS), REQUEST, PARAMS, result)
    assert len(directory.modifies) == 2
    # The second modify is computed from the fresh values: only mail is left to change.
    assert directory.modifies[1] == {"mail": [("replace", ["ann.lee@contoso.com"])]}
    assert "re-reading" in result["msg"]


def test_already_done_by_someone_else_is_not_written_again():
    now = entry(["smtp:ann@contoso.com", "SMTP:ann.lee@contoso.com"], "ann.lee@contoso.com")
    directory = Directory(20, now)
    result = {}
    apply_plan(directory, ObjectPlan(REQUEST, PLANNED_FROM, PARAMS), REQUEST, PARAMS, result)
    assert len(directory.modifies) == 1 and result["changed"] is False


def test_other_errors_are_not_retried():
    directory = Directory(50, None)
    with pytest.raises(LdapError):
        apply_plan(directory, ObjectPlan(REQUEST, PLANNED_FROM, PARAMS), REQUEST, PARAMS, {})
    assert len(directory.modifies) == 1


def test_exact_names_the_non_smtp_addresses_it_removes():
    current = entry(["SMTP:ann@contoso.com", "X500:/o=ExchangeLabs/cn=Recipients/cn=ann", "SIP:ann@contoso.com"],
                    "ann@contoso.com")
    plan = ObjectPlan(Request("ann", ["SMTP:ann@contoso.com"], "exact", None), current, PARAMS)
    assert plan.action == ("modify proxyAddresses (removes non-SMTP addresses SIP:ann@contoso.com, "
                           "X500:/o=ExchangeLabs/cn=Recipients/cn=ann)")
    kept = ObjectPlan(Request("ann", ["smtp:ann.lee@contoso.com"], "present", None), current, PARAMS)
    assert kept.action == "modify proxyAddresses"
