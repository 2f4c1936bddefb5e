# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The sync-conflict scan's reports: an IdFix CSV, JSON, Markdown and one offline HTML page.
Internal to this collection: not a public API.

Where they go (``report_path``):

- a path whose last part ends in ``.csv``, ``.json``, ``.md`` or ``.html`` (and is not an existing
  directory) names the reports by that stem: ``/srv/scan/nightly.json`` writes
  ``nightly.csv``, ``nightly.json``, ``nightly.md`` and ``nightly.html`` in ``/srv/scan``;
- anything else is a directory that holds ``scan.csv``, ``scan.json``, ``scan.md`` and
  ``scan.html``.

A missing folder is created 0700 and every report file is written 0600: they hold directory
data (names, addresses, anchors).  Both go through the collection's one private-file writer
(``_report.private_file``): each file is written under a temporary name beside its final place
(``mkstemp``, so a planted symlink is never followed), synced and renamed over it at the end, so a
scan that fails half-way leaves the previous reports as they were; a folder that is a symbolic
link, is owned by another user or that others may write into is refused before anything is
written.

Memory is bounded whatever the number of findings: ``findings`` may be a generator of 100,000 or
more dicts, read once.  Each finding is written at once to a temporary file per report (the CSV
straight to its own file) and only the counts (per rule and severity) are kept; once the
findings are exhausted each report is assembled from its heading, its counts and its rows, copied
in chunks.  The summary may be a callable, called then, so a scan generator can report how many
objects it read.

Formats (``FORMATS``):

``csv``
    The AD-side findings only (``side == "ad"``), in IdFix's columns
    ``DISTINGUISHEDNAME,COMMONNAME,OBJECTCLASS,ATTRIBUTE,ERROR,VALUE,UPDATE,PROPOSEDACTION,ACTION``,
    so IdFix's *Import* opens it: IdFix can only show and edit AD objects, and a cloud finding has
    no DN.  UTF-8 without a byte order mark, CRLF line ends, fields quoted only when they hold a
    comma, a quote or a line break, as IdFix's own export (IdFix reads it with a quote-aware
    parser).  ACTION is left blank for the administrator, as in IdFix.  Values are written as
    they are in the directory: no apostrophe is put before a value starting with ``=``, ``+``,
    ``-`` or ``@`` (OWASP's defence against CSV formula injection), because IdFix would read the
    apostrophe as part of the value and write it back to AD on *Apply*.  Open this file with IdFix
    or a script, not by double-clicking it into a spreadsheet; people read the HTML or Markdown
    report, which cannot run anything.
``json``
    ``{"summary", "total", "counts_by_rule", "counts_by_severity", "counts_by_side",
    "findings": [...]}``, the findings as they came (every key kept).
``markdown``
    The summary, a table of counts by rule and severity, then one table row per finding; ``|``,
    backslashes, ``#`` and Markdown's inline markup characters are escaped, line breaks become
    ``<br>``, other control characters U+FFFD (``_report.text.markdown_text``).
``html``
    One self-contained page: inline CSS and JavaScript, no URL of any kind, a Content Security
    Policy that allows only its own script and style (by hash) and no connection, so it works
    from ``file://`` on a machine with no network.  The summary and the counts by rule are
    HTML-escaped text; the findings are embedded as JSON in a ``<script type="application/json">``
    (every ``<``, ``>`` and ``&`` written as ``\\u003c``, ``\\u003e``, ``\\u0026``, so a value can
    never close the tag) and the table is built with ``textContent`` (a value is always text).
    Clicking a column header sorts by it (again: the other way); a text box filters on every
    column (all words must appear), and two lists filter by severity and by rule.  Rows are
    drawn a thousand at a time ("Show more") so 100,000 findings stay responsive.
"""

import base64
import csv
import hashlib
import html
import json
import os
import re
import shutil
import tempfile

from ansible_collections.syncfix.entra.plugins.module_utils._report.private_file import ensure_folder, private_file
from ansible_collections.syncfix.entra.plugins.module_utils._report.text import markdown_text
from ansible_collections.syncfix.entra.plugins.module_utils._scan.findings import AD, FIELDS, SEVERITIES

FORMATS = ("csv", "json", "markdown", "html")
SUFFIXES = {"csv": ".csv", "json": ".json", "markdown": ".md", "html": ".html"}
DEFAULT_STEM = "scan"

IDFIX_COLUMNS = ("DISTINGUISHEDNAME", "COMMONNAME", "OBJECTCLASS", "ATTRIBUTE", "ERROR", "VALUE", "UPDATE",
                 "PROPOSEDACTION", "ACTION")
# Rules that carry one of IdFix's own checks are named idfix_<flag> (idfix_character,
# idfix_topleveldomain, ...): the flag is what IdFix writes in its ERROR column.
IDFIX_RULE_PREFIX = "idfix_"

# The finding keys the Markdown table shows (the JSON and HTML reports show every field).
MARKDOWN_COLUMNS = ("severity", "rule", "side", "object", "attribute", "value", "action", "update", "conflicts_with",
                    "message")
HTML_ROWS_PER_PAGE = 1000

# Parts are copied into the reports this much at a time (the bound on the assembly's memory).
_CHUNK = 1 << 18


def idfix_csv_row(finding):
    """One finding as a row of IdFix's CSV (``IDFIX_COLUMNS``).

    ERROR is IdFix's flag for rules named ``idfix_<flag>``, else the rule's name; UPDATE is the
    proposed value or empty; PROPOSEDACTION is EDIT, REMOVE or COMPLETE; ACTION stays empty (the
    administrator's choice in IdFix).  Values are not altered (see the module's notes on formula
    injection)."""
    rule = finding.get("rule") or ""
    error = rule[len(IDFIX_RULE_PREFIX):] if rule.startswith(IDFIX_RULE_PREFIX) else rule
    return [_text(finding.get("object")), _text(finding.get("common_name")), _text(finding.get("object_class")),
            _text(finding.get("attribute")), error, _text(finding.get("value")), _text(finding.get("update")),
            _text(finding.get("action")), ""]


def report_files(report_path, formats=FORMATS):
    """``{format: path}`` of the files ``write_reports`` writes for ``report_path`` (see the module
    notes), without touching the disk; useful in check mode."""
    formats = _check_formats(formats)
    path = os.path.abspath(os.fspath(report_path))
    stem, suffix = os.path.splitext(path)
    if suffix.lower() in SUFFIXES.values() and not os.path.isdir(path):
        prefix = stem
    else:
        prefix = os.path.join(path, DEFAULT_STEM)
    return dict((name, prefix + SUFFIXES[name]) for name in formats)


def write_reports(findings, report_path, formats=FORMATS, summary=None):
    """Write the reports of ``findings`` (any iterable of finding dicts, read once) and return
    ``{format: path}``.  ``summary`` is a dict of scan facts shown at the top of each report
    (started, objects scanned, rules run, tenant, base DN, ...) or a callable returning one,
    called after the last finding is read."""
    with ScanReports(report_path, formats) as reports:
        for item in findings:
            reports.add(item)
        return reports.finish(summary)


class ScanReports(object):
    """The streaming writer behind ``write_reports``, for a caller that also wants each finding
    or the counts (a module returning them): ``add`` each finding, read ``total``,
    ``counts_by_rule``, ``counts_by_severity``, then ``finish(summary)``.  Use it as a context
    manager: leaving it without ``finish`` (an error) removes its temporary files and leaves any
    earlier reports untouched."""

    def __init__(self, report_path, formats=FORMATS):
        self.paths = report_files(report_path, formats)
        self.total = 0
        self._by_rule = {}
        self._by_side = {}
        self._temporary = []
        self._parts = {}
        self._csv_file = None
        for folder in sorted(set(os.path.dirname(p) for p in self.paths.values())):
            ensure_folder(folder)
        try:
            if "csv" in self.paths:
                self._csv_file = self._open_final("csv", newline="")
                self._csv = csv.writer(self._csv_file, lineterminator="\r\n")
                self._csv.writerow(IDFIX_COLUMNS)
            for name in ("json", "markdown", "html"):
                if name in self.paths:
                    self._parts[name] = tempfile.TemporaryFile("w+", encoding="utf-8", newline="",
                                                               dir=os.path.dirname(self.paths[name]))
        except BaseException:
            self.abort()
            raise

    def __enter__(self):
        return self

    def __exit__(self, kind, value, traceback):
        if kind is not None:
            self.abort()
        return False

    def add(self, finding):
        """Write one finding to every report and count it."""
        rule, severity, side = _text(finding.get("rule")), _text(finding.get("severity")), _text(finding.get("side"))
        per_severity = self._by_rule.setdefault(rule, {})
        per_severity[severity] = per_severity.get(severity, 0) + 1
        self._by_side[side] = self._by_side.get(side, 0) + 1
        first = self.total == 0
        self.total += 1
        if self._csv_file is not None and side == AD:
            self._csv.writerow(idfix_csv_row(finding))
        part = self._parts.get("json")
        if part is not None:
            part.write((" " if first else ",\n ") + json.dumps(finding, ensure_ascii=False, default=_json_default))
        part = self._parts.get("markdown")
        if part is not None:
            part.write("| %s |\n" % " | ".join(_markdown_cell(finding.get(key)) for key in MARKDOWN_COLUMNS))
        part = self._parts.get("html")
        if part is not None:
            row = [_text(finding.get(key)) for key in FIELDS]
            part.write(("" if first else ",\n") + _script_json(row))

    @property
    def counts_by_rule(self):
        """``{rule: count}``, rules sorted."""
        return dict((rule, sum(per.values())) for rule, per in sorted(self._by_rule.items()))

    @property
    def counts_by_severity(self):
        """``{severity: count}`` for every severity (zero included), in severity order."""
        counts = dict((severity, 0) for severity in SEVERITIES)
        for per in self._by_rule.values():
            for severity, count in per.items():
                counts[severity] = counts.get(severity, 0) + count
        return counts

    @property
    def counts_by_rule_and_severity(self):
        """``{rule: {severity: count}}``, rules sorted, every severity present."""
        return dict((rule, dict((s, per.get(s, 0)) for s in _severity_order(per)))
                    for rule, per in sorted(self._by_rule.items()))

    def finish(self, summary=None):
        """Assemble the reports, move them into place and return ``{format: path}``."""
        if callable(summary):
            summary = summary()
        summary = dict(summary or {})
        try:
            if self._csv_file is not None:
                self._close_final("csv", self._csv_file)
                self._csv_file = None
            for name, assemble in (("json", self._assemble_json), ("markdown", self._assemble_markdown),
                                   ("html", self._assemble_html)):
                part = self._parts.pop(name, None)
                if part is None:
                    continue
                with part:
                    part.seek(0)
                    out = self._open_final(name)
                    assemble(out, part, summary)
                    self._close_final(name, out)
        except BaseException:
            self.abort()
            raise
        return dict(self.paths)

    def abort(self):
        """Drop every temporary file; reports already in place stay as they were."""
        if self._csv_file is not None:
            self._csv_file.close()
            self._csv_file = None
        for part in self._parts.values():
            part.close()
        self._parts = {}
        for dummy, writer in self._temporary:
            try:
                # private_file drops its temporary file when its block ends with an error.
                writer.__exit__(_Aborted, _Aborted(), None)
            except _Aborted:
                pass
        self._temporary = []

    # -- files --------------------------------------------------------------------------------

    def _open_final(self, name, newline=None):
        """The report's ``private_file``, held open across ``add`` calls (the CSV streams into
        it); ``_close_final`` puts it in place, ``abort`` drops it."""
        writer = private_file(self.paths[name], newline=newline)
        out = writer.__enter__()
        self._temporary.append((out, writer))
        return out

    def _close_final(self, name, out):
        for index, (handle, writer) in enumerate(self._temporary):
            if handle is out:
                del self._temporary[index]
                writer.__exit__(None, None, None)
                return
        raise ValueError("not a report file of this writer")

    # -- assembly -----------------------------------------------------------------------------

    def _counts(self):
        return {"total": self.total, "counts_by_rule": self.counts_by_rule,
                "counts_by_severity": self.counts_by_severity, "counts_by_side": dict(sorted(self._by_side.items()))}

    def _assemble_json(self, out, part, summary):
        head = dict(summary=summary, **self._counts())
        text = json.dumps(head, ensure_ascii=False, indent=1, default=_json_default)
        # The heading without its closing brace, then the findings array, streamed.
        out.write(text[:text.rindex("}")].rstrip() + ',\n "findings": [')
        if self.total:
            out.write("\n")
            shutil.copyfileobj(part, out, _CHUNK)
            out.write("\n ]\n}\n")
        else:
            out.write("]\n}\n")

    def _assemble_markdown(self, out, part, summary):
        out.write("# Sync conflict scan\n\n")
        for key, value in summary.items():
            out.write("- **%s**: %s\n" % (_markdown_cell(key), _markdown_cell(value)))
        severities = self._severities()
        out.write("- **findings**: %d (%s)\n\n" % (self.total, ", ".join(
            "%d %s" % (self.counts_by_severity.get(s, 0), _markdown_cell(s)) for s in severities)))
        out.write("## Findings by rule and severity\n\n")
        if self.total:
            names = " | ".join(_markdown_cell(s) for s in severities)
            out.write("| rule | %s | total |\n|%s\n" % (names, "---|" * (len(severities) + 2)))
            for rule, per in self.counts_by_rule_and_severity.items():
                cells = " | ".join(str(per.get(s, 0)) for s in severities)
                out.write("| %s | %s | %d |\n" % (_markdown_cell(rule), cells, sum(per.values())))
            cells = " | ".join(str(self.counts_by_severity.get(s, 0)) for s in severities)
            out.write("| **total** | %s | **%d** |\n\n" % (cells, self.total))
        else:
            out.write("No findings.\n\n")
        out.write("## Findings\n\n")
        if self.total:
            out.write("| %s |\n|%s\n" % (" | ".join(MARKDOWN_COLUMNS).replace("_", " "), "---|" * len(MARKDOWN_COLUMNS)))
            shutil.copyfileobj(part, out, _CHUNK)
        else:
            out.write("No findings.\n")

    def _assemble_html(self, out, part, summary):
        severities = self._severities()
        title = "Sync conflict scan"
        where = " ".join(_text(summary[key]) for key in ("tenant", "base_dn") if summary.get(key))
        out.write(_HTML_HEAD % {"title": html.escape(title + (": " + where if where else "")), "csp": _CSP,
                                "style": _STYLE})
        out.write("<h1>%s</h1>\n" % html.escape(title))
        if summary:
            out.write('<dl id="summary">\n')
            for key, value in summary.items():
                out.write("<dt>%s</dt><dd>%s</dd>\n" % (html.escape(_text(key)), html.escape(_text(value))))
            out.write("</dl>\n")
        out.write('<h2>Findings by rule</h2>\n<table id="counts">\n<thead><tr><th scope="col">rule</th>%s'
                  '<th scope="col">total</th></tr></thead>\n<tbody>\n'
                  % "".join('<th scope="col">%s</th>' % html.escape(s) for s in severities))
        for rule, per in self.counts_by_rule_and_severity.items():
            out.write('<tr data-rule="%s"><th scope="row">%s</th>%s<td class="total">%d</td></tr>\n' % (
                html.escape(rule), html.escape(rule), "".join("<td>%d</td>" % per.get(s, 0) for s in severities),
                sum(per.values())))
        out.write('</tbody>\n<tfoot><tr><th scope="row">total</th>%s<td class="total" id="total">%d</td></tr></tfoot>\n'
                  '</table>\n' % ("".join("<td>%d</td>" % self.counts_by_severity.get(s, 0) for s in severities),
                                  self.total))
        out.write('<h2>Findings</h2>\n<div id="controls">\n'
                  '<label>Filter <input id="filter" type="search" placeholder="text in any column" autocomplete="off"></label>\n'
                  '<label>Severity <select id="severity"><option value="">all</option>%s</select></label>\n'
                  '<label>Rule <select id="rule"><option value="">all</option>%s</select></label>\n'
                  '<span id="shown" aria-live="polite"></span>\n</div>\n'
                  % ("".join('<option value="%s">%s</option>' % (html.escape(s), html.escape(s)) for s in severities),
                     "".join('<option value="%s">%s</option>' % (html.escape(r), html.escape(r)) for r in self.counts_by_rule)))
        out.write('<noscript><p>The findings table needs JavaScript; the JSON, CSV and Markdown reports hold the same '
                  'findings.</p></noscript>\n')
        out.write('<table id="findings">\n<thead><tr>%s</tr></thead>\n<tbody id="rows"></tbody>\n</table>\n'
                  '<p><button id="more" type="button" hidden>Show more</button></p>\n'
                  % "".join('<th scope="col" aria-sort="none"><button type="button" data-column="%d">%s</button></th>'
                            % (index, html.escape(key.replace("_", " "))) for index, key in enumerate(FIELDS)))
        out.write('<script type="application/json" id="scan-data">{"columns": %s, "severities": %s, "page": %d, "rows": [\n'
                  % (_script_json(list(FIELDS)), _script_json(list(SEVERITIES)), HTML_ROWS_PER_PAGE))
        shutil.copyfileobj(part, out, _CHUNK)
        out.write("\n]}</script>\n<script>%s</script>\n</body>\n</html>\n" % _SCRIPT)

    def _severities(self):
        """The known severities in order, then any other one seen."""
        seen = set()
        for per in self._by_rule.values():
            seen.update(per)
        return list(SEVERITIES) + sorted(seen - set(SEVERITIES))


def _severity_order(per):
    return list(SEVERITIES) + sorted(set(per) - set(SEVERITIES))


def _check_formats(formats):
    if isinstance(formats, str):
        formats = [formats]
    formats = list(formats)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise ValueError("unknown report format %s: choose from %s" % (", ".join(map(repr, unknown)), ", ".join(FORMATS)))
    return [f for f in FORMATS if f in formats]


class _Aborted(Exception):
    """Thrown into a report's ``private_file`` to drop it (``ScanReports.abort``)."""


def _text(value):
    """A report cell: None is empty, bytes are Base64 (anchors), lists and dicts compact JSON."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=_json_default)
    return str(value)


def _json_default(value):
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=str)
    return str(value)


def _markdown_cell(value):
    """A Markdown table cell that stays text: the collection's one Markdown escaping
    (``_report.text.markdown_text``: markup characters, raw HTML and entities escaped, line
    breaks as ``<br>``, other control characters replaced)."""
    return markdown_text(_text(value))


# JSON that is safe inside <script>: no "<" (so no "</script>" or "<!--"), no ">" or "&", and
# the two line separators JavaScript once refused in string literals.
_SCRIPT_UNSAFE = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_SCRIPT_UNSAFE_RE = re.compile("[<>&\u2028\u2029]")


def _script_json(value):
    return _SCRIPT_UNSAFE_RE.sub(lambda match: _SCRIPT_UNSAFE[match.group(0)], json.dumps(value, ensure_ascii=False))


_STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5em; color: #1b1b1b; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.5em; }
dl#summary { display: grid; grid-template-columns: max-content auto; gap: .2em 1em; }
dl#summary dt { font-weight: 600; } dl#summary dd { margin: 0; word-break: break-word; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ccc; padding: .25em .5em; text-align: left; vertical-align: top; }
#counts td { text-align: right; }
#findings { width: 100%; font-size: 13px; table-layout: fixed; }
#findings td { overflow-wrap: anywhere; }
#findings th:nth-child(1) { width: 5em; } #findings th:nth-child(3) { width: 3.5em; }
#findings th:nth-child(10) { width: 6.5em; }
#findings thead th { position: sticky; top: 0; background: #f3f3f3; }
#findings th button { font: inherit; font-weight: 600; border: 0; background: none; cursor: pointer; padding: 0; }
#findings th[aria-sort=ascending] button::after { content: " \\25B2"; }
#findings th[aria-sort=descending] button::after { content: " \\25BC"; }
#controls { display: flex; flex-wrap: wrap; gap: 1em; align-items: center; margin-bottom: .5em; }
#filter { min-width: 20em; }
tr.sev-error td:first-child { color: #a4000f; font-weight: 600; }
tr.sev-warning td:first-child { color: #8a5300; }
tr.sev-info td:first-child { color: #3a5a80; }
""".strip()

_SCRIPT = """
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("scan-data").textContent);
  var columns = data.columns, rows = data.rows, page = data.page;
  var rank = Object.create(null);
  data.severities.forEach(function (name, index) { rank[name] = index; });
  var severityColumn = columns.indexOf("severity"), ruleColumn = columns.indexOf("rule");
  var body = document.getElementById("rows"), shown = document.getElementById("shown");
  var filterBox = document.getElementById("filter"), severityBox = document.getElementById("severity");
  var ruleBox = document.getElementById("rule"), more = document.getElementById("more");
  var headers = Array.prototype.slice.call(document.querySelectorAll("#findings thead th"));
  var collator = new Intl.Collator(undefined, {numeric: true, sensitivity: "base"});
  var order = rows.map(function (row, index) { return index; });
  var lowered = new Array(rows.length);
  var state = {column: -1, direction: 1, limit: page, matching: order};

  function haystack(index) {
    if (lowered[index] === undefined) { lowered[index] = rows[index].join("\\u0000").toLowerCase(); }
    return lowered[index];
  }
  function compare(a, b) {
    var x = rows[a][state.column], y = rows[b][state.column], result;
    if (state.column === severityColumn) {
      result = (x in rank ? rank[x] : 99) - (y in rank ? rank[y] : 99) || collator.compare(x, y);
    } else {
      result = collator.compare(x, y);
    }
    return result * state.direction || a - b;
  }
  function filter() {
    var words = filterBox.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var severity = severityBox.value, rule = ruleBox.value;
    state.matching = order.filter(function (index) {
      var row = rows[index];
      if (severity && row[severityColumn] !== severity) { return false; }
      if (rule && row[ruleColumn] !== rule) { return false; }
      if (!words.length) { return true; }
      var text = haystack(index);
      return words.every(function (word) { return text.indexOf(word) !== -1; });
    });
  }
  function render() {
    var fragment = document.createDocumentFragment();
    var count = Math.min(state.matching.length, state.limit);
    for (var n = 0; n < count; n++) {
      var row = rows[state.matching[n]], line = document.createElement("tr");
      line.className = "sev-" + row[severityColumn];
      for (var c = 0; c < row.length; c++) {
        var cell = document.createElement("td");
        cell.textContent = row[c];
        line.appendChild(cell);
      }
      fragment.appendChild(line);
    }
    if (!rows.length) {
      var empty = document.createElement("tr"), note = document.createElement("td");
      note.colSpan = columns.length;
      note.textContent = "No findings.";
      empty.appendChild(note);
      fragment.appendChild(empty);
    }
    body.replaceChildren(fragment);
    shown.textContent = "showing " + count + " of " + state.matching.length + " matching (" + rows.length + " findings)";
    more.hidden = count >= state.matching.length;
  }
  function refresh() { state.limit = page; filter(); render(); }
  var pending = null;
  function later() {
    if (pending !== null) { clearTimeout(pending); }
    pending = setTimeout(function () { pending = null; refresh(); }, rows.length > 20000 ? 250 : 0);
  }
  headers.forEach(function (header, column) {
    header.querySelector("button").addEventListener("click", function () {
      state.direction = state.column === column ? -state.direction : 1;
      state.column = column;
      order.sort(compare);
      headers.forEach(function (other, index) {
        other.setAttribute("aria-sort", index !== column ? "none" : state.direction > 0 ? "ascending" : "descending");
      });
      refresh();
    });
  });
  filterBox.addEventListener("input", later);
  severityBox.addEventListener("change", refresh);
  ruleBox.addEventListener("change", refresh);
  more.addEventListener("click", function () { state.limit += page; render(); });
  refresh();
})();
""".strip()


def _csp_hash(text):
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")


# Nothing but this page's own style and script may run or load, and nothing may connect anywhere.
_CSP = ("default-src 'none'; script-src %s; style-src %s; img-src 'none'; connect-src 'none'; form-action 'none'; "
        "base-uri 'none'" % (_csp_hash(_SCRIPT), _csp_hash(_STYLE)))

_HTML_HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="%(csp)s">
<meta name="referrer" content="no-referrer">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>%(title)s</title>
<style>%(style)s</style>
</head>
<body>
"""
