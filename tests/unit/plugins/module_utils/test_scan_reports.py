"""The scan's reports: IdFix CSV, JSON, Markdown, HTML; escaping, file modes, streaming."""

import csv
import gc
import json
import os
import re
import stat
import tracemalloc
import weakref

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._report import scan as reports
from ansible_collections.syncfix.entra.plugins.module_utils._scan.findings import finding

HEADER = "DISTINGUISHEDNAME,COMMONNAME,OBJECTCLASS,ATTRIBUTE,ERROR,VALUE,UPDATE,PROPOSEDACTION,ACTION"


def sample():
    return [
        finding("idfix_character", "error", "ad", "CN=Lee\\, Ann,OU=Staff,DC=contoso,DC=com", "mail",
                "ann lee@contoso.com", "a space", action="EDIT", update="ann.lee@contoso.com", object_class="user",
                common_name="Lee, Ann"),
        finding("duplicate_address", "warning", "ad", "CN=Bob,DC=contoso,DC=com", "proxyAddresses",
                "=HYPERLINK(\"http://x\")", "pipe | in \"message\"\nsecond line", action="REMOVE",
                conflicts_with="CN=Bob2,DC=contoso,DC=com", object_class="contact"),
        finding("cloud_orphan", "info", "cloud", "0f2c", "onPremisesImmutableId", "<script>alert(1)</script>",
                "no AD object", link={"ad": "CN=x", "cloud": "0f2c"}),
    ]


def read_csv(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def test_csv_header_is_idfix_and_holds_ad_findings_only(tmp_path):
    paths = reports.write_reports(sample(), str(tmp_path), formats=["csv"])
    assert paths == {"csv": str(tmp_path / "scan.csv")}
    with open(paths["csv"], "rb") as handle:
        raw = handle.read()
    assert raw.startswith(HEADER.encode() + b"\r\n")  # no byte order mark, CRLF as IdFix writes
    rows = read_csv(paths["csv"])
    assert rows[0] == HEADER.split(",")
    assert rows[1:] == [
        ["CN=Lee\\, Ann,OU=Staff,DC=contoso,DC=com", "Lee, Ann", "user", "mail", "character", "ann lee@contoso.com",
         "ann.lee@contoso.com", "EDIT", ""],
        # Not neutralised with a leading apostrophe: IdFix would write it back to AD.
        ["CN=Bob,DC=contoso,DC=com", "", "contact", "proxyAddresses", "duplicate_address", "=HYPERLINK(\"http://x\")",
         "", "REMOVE", ""],
    ]


def test_idfix_csv_row_maps_rules_to_idfix_flags():
    row = reports.idfix_csv_row(finding("idfix_topleveldomain", "error", "ad", "CN=a", "mail", "a@b.local", "m",
                                        action="EDIT", update="a@b.com", object_class="user", common_name="a"))
    assert row == ["CN=a", "a", "user", "mail", "topleveldomain", "a@b.local", "a@b.com", "EDIT", ""]
    assert reports.idfix_csv_row(finding("upn_suffix_unverified", "error", "ad", "CN=a", "userPrincipalName", "a@x.com",
                                         "m"))[4:] == ["upn_suffix_unverified", "a@x.com", "", "COMPLETE", ""]
    assert len(reports.IDFIX_COLUMNS) == 9 and ",".join(reports.IDFIX_COLUMNS) == HEADER


def test_json_is_one_document_with_summary_counts_and_every_finding(tmp_path):
    paths = reports.write_reports(iter(sample()), str(tmp_path / "nightly.json"), formats=["json"],
                                  summary={"tenant": "contoso", "objects_scanned": 3, "rules": ["a", "b"]})
    assert paths == {"json": str(tmp_path / "nightly.json")}
    with open(paths["json"], encoding="utf-8") as handle:
        document = json.load(handle)
    assert list(document)[:2] == ["summary", "total"]
    assert document["summary"] == {"tenant": "contoso", "objects_scanned": 3, "rules": ["a", "b"]}
    assert document["counts_by_rule"] == {"cloud_orphan": 1, "duplicate_address": 1, "idfix_character": 1}
    assert document["counts_by_severity"] == {"error": 1, "warning": 1, "info": 1}
    assert document["counts_by_side"] == {"ad": 2, "cloud": 1}
    assert document["findings"] == sample()


def test_json_of_no_findings(tmp_path):
    paths = reports.write_reports([], str(tmp_path), formats=["json"])
    with open(paths["json"], encoding="utf-8") as handle:
        document = json.load(handle)
    assert document["findings"] == [] and document["total"] == 0 and document["counts_by_rule"] == {}


def test_markdown_escapes_table_cells(tmp_path):
    paths = reports.write_reports(sample(), str(tmp_path), formats=["markdown"], summary={"base_dn": "DC=contoso,DC=com"})
    with open(paths["markdown"], encoding="utf-8") as handle:
        text = handle.read()
    assert "- **base_dn**: DC=contoso,DC=com" in text
    assert reports._markdown_cell("_edge_") == "\\_edge\\_" and reports._markdown_cell("a_b") == "a_b"
    assert "| idfix_character | 1 | 0 | 0 | 1 |" in text
    assert "| **total** | 1 | 1 | 1 | **3** |" in text
    assert "pipe \\| in \"message\"<br>second line" in text
    assert "\\<script\\>alert(1)\\</script\\>" in text
    # The collection's one Markdown escaping (_report_text): a terminal escape and a carriage return
    # in a display name stay out of the file.
    assert reports._markdown_cell("Vera\x1b[2J\rPrice # x") == "Vera\ufffd\\[2J<br>Price \\# x"
    table = [line for line in text.splitlines() if line.startswith("| ") and ("CN=" in line or "0f2c" in line)]
    # Every findings row has exactly the table's cell count once escaped pipes are set aside.
    for line in table:
        assert len(re.split(r"(?<!\\)\|", line)) == len(reports.MARKDOWN_COLUMNS) + 2


def test_html_escapes_values_and_the_embedded_json(tmp_path):
    findings = sample() + [finding("x", "error", "cloud", "id", "a", "</script><script>alert(2)</script>", "<b>m</b> & co")]
    paths = reports.write_reports(findings, str(tmp_path), formats=["html"],
                                  summary={"tenant": "<img src=x onerror=alert(3)>"})
    with open(paths["html"], encoding="utf-8") as handle:
        page = handle.read()
    assert "<script>alert" not in page and "<img" not in page and "<b>m" not in page
    assert "&lt;img src=x onerror=alert(3)&gt;" in page
    # Two script elements only: the data and the code.
    assert page.count("<script") == 2 and page.count("</script>") == 2
    data = re.search(r'<script type="application/json" id="scan-data">(.*?)</script>', page, re.S).group(1)
    assert "<" not in data and ">" not in data and "&" not in data
    embedded = json.loads(data)
    value = embedded["columns"].index("value")
    values = [row[value] for row in embedded["rows"]]
    assert values[-2:] == ["<script>alert(1)</script>", "</script><script>alert(2)</script>"]
    assert '<tr data-rule="idfix_character"><th scope="row">idfix_character</th><td>1</td><td>0</td><td>0</td>' in page


def test_html_names_no_url_and_pins_its_script_by_hash(tmp_path):
    paths = reports.write_reports(sample(), str(tmp_path), formats=["html"])
    with open(paths["html"], encoding="utf-8") as handle:
        page = handle.read()
    # The page itself, without the findings' data (one of them holds a URL as a value).
    page = re.sub(r'(id="scan-data">).*?(</script>)', r"\1\2", page, flags=re.S)
    assert not re.search(r"(https?:)?//[a-z0-9]", page.replace("file://", ""), re.I)
    assert not re.search(r"\b(src|href)=", page)
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"', page).group(1)
    assert "default-src 'none'" in csp and "connect-src 'none'" in csp and "unsafe-inline" not in csp


def test_report_path_directory_or_stem(tmp_path):
    assert reports.report_files(str(tmp_path / "out")) == dict(
        (name, str(tmp_path / "out" / ("scan" + suffix))) for name, suffix in reports.SUFFIXES.items())
    assert reports.report_files(str(tmp_path / "nightly.HTML"), ["csv", "html"]) == {
        "csv": str(tmp_path / "nightly.csv"), "html": str(tmp_path / "nightly.html")}
    folder = tmp_path / "dir.json"
    folder.mkdir()
    assert reports.report_files(str(folder), ["json"]) == {"json": str(folder / "scan.json")}
    with pytest.raises(ValueError, match="unknown report format 'xlsx'"):
        reports.report_files(str(tmp_path), ["xlsx"])


def test_folders_are_created_private_and_files_0600(tmp_path):
    target = tmp_path / "a" / "b"
    paths = reports.write_reports(sample(), str(target))
    assert sorted(paths) == sorted(reports.FORMATS)
    for folder in (tmp_path / "a", target):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    for path in paths.values():
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert sorted(os.listdir(target)) == ["scan.csv", "scan.html", "scan.json", "scan.md"]


def test_a_failing_scan_leaves_earlier_reports_and_no_temporary_file(tmp_path):
    reports.write_reports(sample(), str(tmp_path))
    before = dict((name, (tmp_path / name).read_bytes()) for name in os.listdir(tmp_path))

    def broken():
        yield sample()[0]
        raise RuntimeError("LDAP went away")

    with pytest.raises(RuntimeError, match="LDAP went away"):
        reports.write_reports(broken(), str(tmp_path))
    assert dict((name, (tmp_path / name).read_bytes()) for name in os.listdir(tmp_path)) == before


def test_reports_go_through_the_private_file_writer_refusing_unsafe_folders_before_any_write(tmp_path):
    """Issue 26, finding 7 for the scan: a symlinked, shared or foreign folder is refused, and a
    planted symlink in place of a report is never written through."""
    from ansible_collections.syncfix.entra.plugins.module_utils._report.private_file import PrivateFileError
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (tmp_path / "link").symlink_to(elsewhere, target_is_directory=True)
    with pytest.raises(PrivateFileError, match="symbolic link"):
        reports.write_reports(iter(sample()), str(tmp_path / "link"))
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with pytest.raises(PrivateFileError, match="can be written by others"):
        reports.write_reports(iter(sample()), str(shared))
    assert os.listdir(elsewhere) == [] and os.listdir(shared) == []

    own = tmp_path / "own"
    own.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (own / "scan.json").symlink_to(victim)
    with pytest.raises(PrivateFileError, match="not a regular file"):
        reports.write_reports(iter(sample()), str(own), formats=["json"])
    assert victim.read_text() == "keep me"
    assert sorted(os.listdir(own)) == ["scan.json"], "no temporary file left behind"

    # An earlier report readable by others is replaced by a new 0600 file, not rewritten in place.
    (own / "scan.json").unlink()
    earlier = own / "scan.md"
    earlier.write_text("old")
    os.chmod(earlier, 0o644)
    inode = os.stat(earlier).st_ino
    reports.write_reports(iter(sample()), str(own), formats=["markdown"])
    assert stat.S_IMODE(os.stat(earlier).st_mode) == 0o600 and os.stat(earlier).st_ino != inode


def test_summary_callable_is_read_after_the_findings(tmp_path):
    seen = {"objects": 0}

    def scan():
        for item in sample():
            seen["objects"] += 1
            yield item

    paths = reports.write_reports(scan(), str(tmp_path), formats=["json"], summary=lambda: {"objects_scanned": seen["objects"]})
    with open(paths["json"], encoding="utf-8") as handle:
        assert json.load(handle)["summary"] == {"objects_scanned": 3}


def test_writer_exposes_counts_for_the_module(tmp_path):
    with reports.ScanReports(str(tmp_path), ["csv"]) as writer:
        for item in sample() + sample()[:1]:
            writer.add(item)
        assert writer.total == 4
        assert writer.counts_by_rule == {"cloud_orphan": 1, "duplicate_address": 1, "idfix_character": 2}
        assert writer.counts_by_severity == {"error": 2, "warning": 1, "info": 1}
        writer.finish()
    assert len(read_csv(str(tmp_path / "scan.csv"))) == 4


class Tracked(dict):
    """A finding that can be watched with a weak reference (a plain dict cannot)."""

    __hash__ = object.__hash__


def generated(count, alive):
    """``count`` findings, one at a time, each registered in the WeakSet ``alive``."""
    for number in range(count):
        item = Tracked(finding("idfix_character" if number % 3 else "duplicate_address", "error" if number % 2 else "warning",
                               "ad" if number % 5 else "cloud", "CN=user%06d,OU=Staff,DC=contoso,DC=com" % number, "mail",
                               "user %06d@contoso.com" % number, "a space in the address", action="EDIT",
                               update="user%06d@contoso.com" % number, object_class="user", common_name="user%06d" % number))
        alive.add(item)
        alive.most = max(alive.most, len(alive))
        yield item
        del item


class Alive(weakref.WeakSet):
    most = 0


def test_two_hundred_thousand_findings_are_never_held(tmp_path):
    count, alive = 200000, Alive()
    paths = reports.write_reports(generated(count, alive), str(tmp_path))
    # A list of what was read would keep every finding alive; streamed, the last one at most.
    assert alive.most <= 2
    with open(paths["json"], encoding="utf-8") as handle:
        document = json.load(handle)
    assert document["total"] == count == len(document["findings"])
    assert document["counts_by_rule"] == {"duplicate_address": 66667, "idfix_character": 133333}
    assert document["counts_by_side"] == {"ad": 160000, "cloud": 40000}
    assert document["findings"][-1]["object"] == "CN=user199999,OU=Staff,DC=contoso,DC=com"
    assert len(read_csv(paths["csv"])) == 160000 + 1
    with open(paths["markdown"], encoding="utf-8") as handle:
        assert sum(1 for line in handle if line.startswith("| ") and "CN=user" in line) == count
    with open(paths["html"], encoding="utf-8") as handle:
        data = re.search(r'id="scan-data">(.*?)</script>', handle.read(), re.S).group(1)
    assert len(json.loads(data)["rows"]) == count


def test_peak_memory_does_not_grow_with_the_findings(tmp_path):
    """tracemalloc's peak while writing all four reports: flat from 2,000 to 20,000 findings
    (20,000 findings held in a list would take about 20 MiB)."""
    peaks = []
    for count in (2000, 20000):
        gc.collect()
        tracemalloc.start()
        try:
            reports.write_reports(generated(count, Alive()), str(tmp_path / str(count)))
            peaks.append(tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
    assert peaks[1] < 3 * 1024 * 1024, peaks
    assert peaks[1] < peaks[0] + 1024 * 1024, peaks
