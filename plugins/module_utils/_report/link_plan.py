# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""link_plan's output for people: the table in the task output and the reports a change-window
reviewer reads (JSON, CSV, Markdown).  Pure code, apart from ``write_reports``.
Internal to this collection: not a public API.

The CSV is for reviewers in a spreadsheet (unlike the scan's, which IdFix reads back), so a cell
that would start a formula gets an apostrophe (``_report.text.csv_cell``, OWASP's advice); the
Markdown escapes as the scan's does (``_report.text.markdown_text``).  The JSON keeps every value
exactly.  The files are written by the one private-file writer (``_report.private_file``).
"""

import csv
import io
import json

from ansible_collections.syncfix.entra.plugins.module_utils._report.private_file import (
    PrivateFileError, file_problem, private_file,
)
from ansible_collections.syncfix.entra.plugins.module_utils._report.text import csv_cell, markdown_text

CSV_COLUMNS = ("link", "ad_dn", "ad_anchor", "ad_primary_smtp", "cloud_id", "cloud_upn", "cloud_immutable_id",
               "state", "method", "next_sync_now", "next_sync_after_plan", "actions", "blockers")


def outcome_text(prediction):
    """One prediction in a few words: ``hard -> vp@contoso.com``, ``error InvalidSoftMatch``."""
    if not prediction:
        return ""
    outcome = prediction.get("outcome")
    if outcome == "error":
        return "error %s" % prediction.get("error")
    if outcome == "provision":
        quarantined = prediction.get("quarantined") or []
        return "provision %s%s" % (prediction.get("upn") or "", " (quarantines %s)" % ", ".join(
            "%s %s" % tuple(q) for q in quarantined) if quarantined else "")
    target = prediction.get("target_name") or prediction.get("target")
    return "%s%s" % (outcome, " -> %s" % target if target else "")


def action_text(action):
    item = action["item"]
    what = item.get("state") or item.get("primary") or item.get("immutable_id") or ""
    return "%s %s %s" % (action["phase"], item.get("object") or item.get("user") or "", what)


def _row(link):
    ad, cloud = link.get("ad") or {}, link.get("cloud") or {}
    return {
        "link": link["name"], "ad_dn": ad.get("dn") or "", "ad_anchor": ad.get("anchor") or "",
        "ad_primary_smtp": ad.get("primary_smtp") or "", "cloud_id": cloud.get("id") or "",
        "cloud_upn": cloud.get("upn") or "", "cloud_immutable_id": cloud.get("immutable_id") or "",
        "state": link["state"], "method": link["method"], "next_sync_now": outcome_text(link.get("current")),
        "next_sync_after_plan": outcome_text(link.get("predicted")),
        "actions": "; ".join(action_text(a) for a in link["actions"]),
        "blockers": "; ".join("%s: %s (way out: %s)" % (b["rule"], b["reason"], b["way_out"])
                              for b in link["blockers"]),
    }


def table(links, counts, left_out=0, report=None):
    """The plan as fixed-width text: one line per link, then each link's actions in order and
    its blockers, then the counts; ``left_out`` links not shown are said, with where they are."""
    header = ("link", "cloud user", "state", "method", "next sync after the plan")
    rows = [(r["link"], r["cloud_upn"] or r["cloud_id"] or "-", r["state"], r["method"], r["next_sync_after_plan"])
            for r in (_row(link) for link in links)]
    widths = [max([len(header[i])] + [len(str(row[i])) for row in rows]) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(line)).rstrip()
             for line in [header] + rows]
    for link in links:
        for number, made in enumerate(link["actions"], 1):
            lines.append("%s: %d. %s" % (link["name"], number, made["why"]))
        for blocker in link["blockers"]:
            lines.append("%s: blocked by %s: %s. Way out: %s (%s)" % (
                link["name"], blocker["rule"], blocker["reason"], blocker["way_out"], blocker["source"]))
    if left_out:
        lines.append("%d more link(s) not shown (return_links); %s" % (
            left_out, "every link is in the reports at %s (.json, .csv, .md)" % report if report
            else "set report_path to have every link in a report"))
    lines.append(", ".join("%d %s" % (counts[k], k) for k in sorted(counts)))
    return "\n".join(lines)


def to_csv(links, out=None):
    """The rows as CSV, into ``out`` (a text stream) or, left out, as a string."""
    target = out or io.StringIO()
    writer = csv.DictWriter(target, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for link in links:
        writer.writerow(dict((key, csv_cell(value)) for key, value in _row(link).items()))
    return None if out else target.getvalue()


def to_markdown(links, counts, out=None):
    """The plan as Markdown, into ``out`` (a text stream) or, left out, as a string: written as
    it goes, so a plan of 10,000 links is never one string in memory."""
    target = out or io.StringIO()

    def line(text=""):
        target.write(text + "\n")

    line("# Link plan")
    line()
    line(", ".join("%d %s" % (counts[k], k) for k in sorted(counts)))
    line()
    line("| link | AD user | cloud user | state | method | next sync now | after the plan |")
    line("|---|---|---|---|---|---|---|")
    for row in (_row(link) for link in links):
        line("| %s |" % " | ".join(markdown_text(row[k]) for k in (
            "link", "ad_dn", "cloud_upn", "state", "method", "next_sync_now", "next_sync_after_plan")))
    for link in links:
        if link["actions"] or link["blockers"]:
            line()
            line("## %s" % markdown_text(link["name"]))
            line()
            for i, a in enumerate(link["actions"]):
                line("%d. `%s` %s: %s" % (i + 1, a["module"], markdown_text(a["phase"]), markdown_text(a["why"])))
            for b in link["blockers"]:
                line("- **blocked** (%s): %s. Way out: %s. Source: %s" % (
                    markdown_text(b["rule"]), markdown_text(b["reason"]), markdown_text(b["way_out"]), markdown_text(b["source"])))
    return None if out else target.getvalue()


def _to_json(links, counts, out):
    json.dump({"counts": counts, "links": links}, out, indent=2, sort_keys=True)


def write_reports(path, links, counts):
    """``<path>.json``, ``<path>.csv`` and ``<path>.md``, each streamed into a private file
    (``_report.private_file.private_file``: 0600 in a 0700 folder, never through a symlink, in place
    only once whole).  Every target is checked before the first is written, so a refused one
    leaves all three as they were; PrivateFileError (an OSError) names it."""
    base = path[:-len(".json")] if path.endswith(".json") else path
    writers = ((".json", lambda out: _to_json(links, counts, out)), (".csv", lambda out: to_csv(links, out)),
               (".md", lambda out: to_markdown(links, counts, out)))
    for suffix, dummy in writers:
        problem = file_problem(base + suffix)
        if problem:
            raise PrivateFileError(problem)
    written = {}
    for suffix, write in writers:
        target = base + suffix
        # The csv module writes its own line ends and keeps a CR inside a quoted cell as it is.
        with private_file(target, newline="" if suffix == ".csv" else None) as out:
            write(out)
        written[suffix.lstrip(".")] = target
    return written
