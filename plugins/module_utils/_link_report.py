# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""link_plan's output for people: the table in the task output and the reports a change-window
reviewer reads (JSON, CSV, Markdown).  Pure code, apart from ``write_reports``.
Internal to this collection: not a public API."""

import csv
import io
import json
import os

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
        writer.writerow(_row(link))
    return None if out else target.getvalue()


def _md(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


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
        line("| %s |" % " | ".join(_md(row[k]) for k in (
            "link", "ad_dn", "cloud_upn", "state", "method", "next_sync_now", "next_sync_after_plan")))
    for link in links:
        if link["actions"] or link["blockers"]:
            line()
            line("## %s" % _md(link["name"]))
            line()
            for i, a in enumerate(link["actions"]):
                line("%d. `%s` %s: %s" % (i + 1, a["module"], a["phase"], _md(a["why"])))
            for b in link["blockers"]:
                line("- **blocked** (%s): %s. Way out: %s. Source: %s" % (
                    b["rule"], _md(b["reason"]), _md(b["way_out"]), _md(b["source"])))
    return None if out else target.getvalue()


def _to_json(links, counts, out):
    json.dump({"counts": counts, "links": links}, out, indent=2, sort_keys=True)


def write_reports(path, links, counts):
    """``<path>.json``, ``<path>.csv`` and ``<path>.md``, each 0600 (they hold directory data),
    each written to its file as it is made."""
    written = {}
    base = path[:-len(".json")] if path.endswith(".json") else path
    folder = os.path.dirname(os.path.abspath(base))
    if not os.path.isdir(folder):
        os.makedirs(folder)
    for suffix, write in ((".json", lambda out: _to_json(links, counts, out)), (".csv", lambda out: to_csv(links, out)),
                          (".md", lambda out: to_markdown(links, counts, out))):
        target = base + suffix
        handle = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(handle, "w") as out:
            write(out)
        os.chmod(target, 0o600)
        written[suffix.lstrip(".")] = target
    return written
