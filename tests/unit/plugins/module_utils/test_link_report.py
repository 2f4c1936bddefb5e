"""link_plan's reports (issue 26, findings 7 and 8): written by the one private-file writer, the
CSV formula-neutralised, the Markdown escaped as the scan's is."""

import csv
import io
import json
import os
import re
import stat

import pytest

from ansible_collections.syncfix.entra.plugins.module_utils._report import link_plan as report
from ansible_collections.syncfix.entra.plugins.module_utils._report.private_file import PrivateFileError
from ansible_collections.syncfix.entra.plugins.module_utils._report.text import csv_cell, markdown_text

FORMULA = '=HYPERLINK("http://x")'
MARKUP = "<img src=x onerror=alert(1)>\r|x"


def link(name="vp", cloud_name=FORMULA, reason=MARKUP):
    """One link as plan_rows shapes it, with directory values an attacker could have chosen."""
    return {
        "name": name, "state": "blocked", "method": "hard",
        "ad": {"dn": "CN=%s,OU=Staff,DC=contoso,DC=com" % name, "anchor": "+AbC==", "primary_smtp": "@vp@contoso.com"},
        "cloud": {"id": "0a0a0a0a-0000-4000-8000-0000000000a1", "upn": "-2+3@contoso.com", "immutable_id": None},
        "current": {"outcome": "soft", "target": "c1", "target_name": cloud_name},
        "predicted": {"outcome": "soft", "target": "c1", "target_name": cloud_name},
        "actions": [{"phase": "stamp", "module": "syncfix.entra.entra_immutable_id", "why": "stamp " + cloud_name,
                     "item": {"user": "vp@contoso.com", "immutable_id": "x"}}],
        "blockers": [{"rule": "role-holder", "reason": reason, "way_out": "# declare\nit", "source": "`MC1262584`"}],
    }


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.mark.parametrize("value, cell", [
    ("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("vp@contoso.com", "vp@contoso.com"), ("a=b", "a=b"), ("", ""), (None, ""),
])
def test_a_cell_that_would_start_a_formula_gets_an_apostrophe(value, cell):
    assert csv_cell(value) == cell


def test_the_csv_has_no_cell_a_spreadsheet_reads_as_a_formula():
    text = report.to_csv([link()])
    header, row = list(csv.reader(io.StringIO(text)))
    assert all(not cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row), row
    cells = dict(zip(header, row))
    assert cells["next_sync_now"] == "soft -> " + FORMULA, "only a leading formula character matters"
    assert cells["ad_anchor"] == "'+AbC==" and cells["ad_primary_smtp"] == "'@vp@contoso.com"
    assert cells["cloud_upn"] == "'-2+3@contoso.com"


def test_a_display_name_that_is_a_formula_is_text_in_its_own_cell():
    text = report.to_csv([link(name=FORMULA)])
    row = list(csv.DictReader(io.StringIO(text)))[0]
    assert row["link"] == "'" + FORMULA


def test_the_markdown_carries_no_raw_html_no_cr_and_no_extra_cell():
    text = report.to_markdown([link(cloud_name=MARKUP)], {"blocked": 1})
    assert not re.search(r"(?<!\\)<img", text) and "\r" not in text
    assert "\\<img src=x onerror=alert(1)\\><br>\\|x" in text
    rows = [line for line in text.splitlines() if line.startswith("| vp |")]
    assert len(rows) == 1
    # A cell's | is escaped, so the row keeps its seven cells (eight pipes that are not escaped).
    assert rows[0].replace("\\|", "").count("|") == 8
    assert "Way out: \\# declare<br>it" in text and "Source: \\`MC1262584\\`" in text


def test_a_link_named_with_markup_heads_its_section_as_text():
    text = report.to_markdown([link(name="## <b>x</b>\nnext")], {"blocked": 1})
    assert "## \\#\\# \\<b\\>x\\</b\\><br>next" in text.splitlines()


def test_markdown_text_matches_the_scan_escapes_and_drops_control_characters():
    assert markdown_text("a*b_c _d [e](f) ~g~ & \\") == "a\\*b_c \\_d \\[e\\](f) \\~g\\~ \\& \\\\"
    assert markdown_text("\x1b[31mred\x07") == "\ufffd\\[31mred\ufffd"
    assert markdown_text(None) == ""


def test_the_reports_are_private_files_whatever_was_there(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir(mode=0o700)
    (folder / "plan.csv").write_text("old")
    os.chmod(folder / "plan.csv", 0o644)
    written = report.write_reports(str(folder / "plan"), [link()], {"blocked": 1})
    assert sorted(written) == ["csv", "json", "md"]
    assert all(mode(path) == 0o600 for path in written.values())
    assert open(written["csv"], newline="").read() == report.to_csv([link()])
    assert json.load(open(written["json"]))["links"][0]["cloud"]["upn"] == "-2+3@contoso.com", "the JSON is exact"
    assert sorted(os.listdir(folder)) == ["plan.csv", "plan.json", "plan.md"], "no temporary left"


def test_a_new_report_folder_is_0700(tmp_path):
    report.write_reports(str(tmp_path / "a" / "b" / "plan.json"), [link()], {"blocked": 1})
    assert mode(tmp_path / "a") == 0o700 and mode(tmp_path / "a" / "b") == 0o700


def test_a_planted_symlink_is_not_followed_and_nothing_is_written(tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("keep")
    folder = tmp_path / "out"
    folder.mkdir(mode=0o700)
    (folder / "plan.md").symlink_to(victim)
    with pytest.raises(PrivateFileError, match="plan.md exists and is not a regular file"):
        report.write_reports(str(folder / "plan"), [link()], {"blocked": 1})
    assert victim.read_text() == "keep"
    assert sorted(os.listdir(folder)) == ["plan.md"], "checked before the first report is written"


def test_a_shared_folder_is_refused_as_an_oserror_link_plan_already_reports(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with pytest.raises(OSError, match="can be written by others"):
        report.write_reports(str(shared / "plan"), [link()], {"blocked": 1})
    assert os.listdir(shared) == []


def test_a_failure_mid_write_leaves_the_old_report(tmp_path, monkeypatch):
    folder = tmp_path / "out"
    folder.mkdir(mode=0o700)
    (folder / "plan.md").write_text("the old plan")

    def broken(links, counts, out=None):
        out.write("# half a plan")
        raise RuntimeError("stopped")

    monkeypatch.setattr(report, "to_markdown", broken)
    with pytest.raises(RuntimeError):
        report.write_reports(str(folder / "plan"), [link()], {"blocked": 1})
    assert (folder / "plan.md").read_text() == "the old plan"
    assert not [name for name in os.listdir(folder) if name.endswith(".tmp")]
