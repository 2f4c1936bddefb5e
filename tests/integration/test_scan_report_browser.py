"""The scan's HTML report in a real browser: Debian's Chromium, headless, driven by Playwright.

The page is opened from file:// with every request that is not a file:// or localhost URL
aborted and recorded; each test asserts that the page asked for nothing but itself.  Playwright
cannot download its own browser build here, so it drives the Debian binary (``make test``
installs the ``chromium`` package and the ``playwright`` Python package).
"""

import os
import re
import urllib.parse

import lab_fixtures
import pytest

CHROMIUM = "/usr/bin/chromium"
# LAB-NOTES "Browsers": the flags that keep Chromium quiet and offline in a container.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(not os.access(CHROMIUM, os.X_OK),
                                reason="%s is missing: install Debian's chromium package (make test does)" % CHROMIUM)

lab_fixtures.import_collection_from_checkout()
from ansible_collections.syncfix.entra.plugins.module_utils._report import scan as reports  # noqa: E402
from ansible_collections.syncfix.entra.plugins.module_utils._scan.findings import finding  # noqa: E402

HOSTILE = "<script>alert('value')</script>"
CLOSER = "</script><script>alert('closed')</script>"


def scan_findings():
    """Twelve findings over four rules and three severities, in no sorted order, two of them
    with values that would run script if they were ever read as HTML."""
    people = ["mallory", "bob", "zoe", "alice", "carol", "dave"]
    for number, name in enumerate(people):
        yield finding("idfix_character", "error", "ad", "CN=%s,OU=Staff,DC=contoso,DC=com" % name, "mail",
                      HOSTILE if name == "mallory" else "%s smith@contoso.com" % name, "a space in the address",
                      action="EDIT", update="%s.smith@contoso.com" % name, object_class="user", common_name=name)
        if number % 2:
            yield finding("duplicate_address", "warning", "ad", "CN=%s,OU=Staff,DC=contoso,DC=com" % name,
                          "proxyAddresses", "smtp:%s@contoso.com" % name, "held by two objects",
                          conflicts_with="CN=other-%s,OU=Staff,DC=contoso,DC=com" % name)
    yield finding("cloud_orphan", "info", "cloud", "0f2c-orphan", "onPremisesImmutableId", CLOSER,
                  "no AD object holds this anchor")
    yield finding("resiliency_placeholder", "error", "cloud", "7a1b-placeholder", "userPrincipalName",
                  "vp1234@contoso.onmicrosoft.com", "UPN quarantined", link={"ad": "CN=vp", "cloud": "7a1b"})


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Visit(object):
    """One page opened from file:// in a fresh offline context that aborts (and records) every
    request not for a file:// or localhost URL, and records every request, script error and
    dialog (a value that ran as script would open one)."""

    def __init__(self, browser, path):
        self.url = "file://" + urllib.parse.quote(os.path.abspath(path))
        self.requests, self.blocked, self.errors, self.dialogs = [], [], [], []
        self.context = browser.new_context(offline=True)
        self.context.route("**/*", self._route)
        self.context.on("request", lambda request: self.requests.append(request.url))
        self.page = self.context.new_page()
        self.page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", self._dialog)
        self.page.goto(self.url)

    def _route(self, route):
        if _local(route.request.url):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort()

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    @property
    def left(self):
        """Every request but the page's own."""
        return sorted(set(self.blocked + [u for u in self.requests if u != self.url]))


def _local(url):
    parsed = urllib.parse.urlsplit(url)
    return parsed.scheme in ("file", "data", "about") or parsed.hostname in ("localhost", "127.0.0.1", "::1")


@pytest.fixture
def open_report(browser):
    """``open_report(path)`` -> page, its table drawn; after the test: no request left the page,
    no script error, no dialog."""
    visits = []

    def run(path):
        visit = Visit(browser, path)
        visits.append(visit)
        visit.page.wait_for_selector("#rows tr")
        return visit.page

    yield run
    for visit in visits:
        visit.context.close()
        assert visit.left == []
        assert visit.errors == []
        assert visit.dialogs == []


def test_the_watch_sees_a_request_leave(tmp_path, browser):
    """The checks above would see a page that asks for anything: here one that does."""
    page = tmp_path / "leaky.html"
    page.write_text('<!DOCTYPE html><title>leaky</title><img src="https://example.invalid/pixel.png">'
                    '<script>fetch("https://example.invalid/beacon").catch(function () {});</script>')
    visit = Visit(browser, str(page))
    visit.page.wait_for_load_state("load")
    visit.page.wait_for_function("() => performance.getEntriesByType('resource').length >= 2")
    visit.context.close()
    assert visit.left == ["https://example.invalid/beacon", "https://example.invalid/pixel.png"]
    assert visit.blocked


def column(page, name):
    index = list(reports.FIELDS).index(name) + 1
    return page.locator("#rows tr td:nth-child(%d)" % index).all_text_contents()


def header(page, name):
    return page.locator("#findings thead button", has_text=re.compile("^%s$" % name.replace("_", " ")))


def wait_rows(page, count):
    page.wait_for_function("n => document.querySelectorAll('#rows tr').length === n", arg=count)


def test_report_shows_counts_values_as_text_and_asks_for_nothing(tmp_path, open_report):
    paths = reports.write_reports(scan_findings(), str(tmp_path / "reports"), formats=["html"],
                                  summary={"tenant": "contoso.onmicrosoft.com", "objects_scanned": 20000})
    page = open_report(paths["html"])

    assert page.locator("#total").text_content() == "11"
    counts = dict((row.get_attribute("data-rule"), row.locator("td.total").text_content())
                  for row in page.locator("#counts tbody tr").all())
    assert counts == {"cloud_orphan": "1", "duplicate_address": "3", "idfix_character": "6", "resiliency_placeholder": "1"}
    assert "20000" in page.locator("#summary").text_content()
    assert page.locator("#rows tr").count() == 11
    # The hostile values are cells' text, and no element came out of them.
    assert HOSTILE in column(page, "value")
    assert CLOSER in column(page, "value")
    assert page.locator("script").count() == 2
    assert page.locator("#shown").text_content() == "showing 11 of 11 matching (11 findings)"


def test_clicking_a_header_sorts_then_reverses(tmp_path, open_report):
    paths = reports.write_reports(scan_findings(), str(tmp_path / "scan.html"), formats=["html"])
    page = open_report(paths["html"])
    before = column(page, "object")
    assert before != sorted(before, key=str.lower)

    header(page, "object").click()
    ascending = column(page, "object")
    assert ascending == sorted(before, key=str.lower)
    assert page.locator("#findings thead th").nth(3).get_attribute("aria-sort") == "ascending"

    header(page, "object").click()
    assert column(page, "object") == list(reversed(ascending))
    assert page.locator("#findings thead th").nth(3).get_attribute("aria-sort") == "descending"

    # Severity sorts by weight, not by spelling: error, warning, info.
    header(page, "severity").click()
    assert column(page, "severity") == ["error"] * 7 + ["warning"] * 3 + ["info"]


def test_filters_hide_rows(tmp_path, open_report):
    paths = reports.write_reports(scan_findings(), str(tmp_path), formats=["html", "json"])
    page = open_report(paths["html"])

    page.fill("#filter", "BOB")
    wait_rows(page, 2)
    assert all("bob" in text.lower() for text in page.locator("#rows tr").all_text_contents())

    page.fill("#filter", "bob proxy")
    wait_rows(page, 1)
    assert column(page, "attribute") == ["proxyAddresses"]

    page.fill("#filter", "")
    wait_rows(page, 11)
    page.select_option("#severity", "error")
    wait_rows(page, 7)
    assert set(column(page, "severity")) == {"error"}

    page.select_option("#rule", "resiliency_placeholder")
    wait_rows(page, 1)
    assert column(page, "object") == ["7a1b-placeholder"]
    assert page.locator("#shown").text_content() == "showing 1 of 1 matching (11 findings)"


def test_large_report_draws_a_page_at_a_time(tmp_path, open_report):
    many = (finding("idfix_length", "warning", "ad", "CN=user%05d,DC=contoso,DC=com" % n, "displayName", "x" * 10,
                    "too long") for n in range(1200))
    paths = reports.write_reports(many, str(tmp_path), formats=["html"])
    page = open_report(paths["html"])

    assert page.locator("#rows tr").count() == reports.HTML_ROWS_PER_PAGE
    page.click("#more")
    wait_rows(page, 1200)
    assert page.locator("#more").is_hidden()
    # A sort draws the first page again, in the new order.
    header(page, "object").click()
    header(page, "object").click()
    wait_rows(page, reports.HTML_ROWS_PER_PAGE)
    assert column(page, "object")[:2] == ["CN=user01199,DC=contoso,DC=com", "CN=user01198,DC=contoso,DC=com"]
