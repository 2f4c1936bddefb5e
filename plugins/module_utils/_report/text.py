# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Directory values as text in reports people open: a spreadsheet cell that can't run a formula,
a Markdown cell that can't carry markup or HTML.  Pure code.  Internal to this collection: not a
public API.

The values come from the directories (a cloud user's display name, an AD user's DN), so anyone
who can name an object writes into the report: ``=HYPERLINK("http://x")`` runs in a spreadsheet,
``<img src=x onerror=alert(1)>`` runs in a Markdown viewer that renders HTML, a CR or ``|`` breaks
the table, an ESC sequence rewrites the terminal of whoever ``cat``s the file.
"""

import re

# OWASP, "CSV Injection": a cell starting with one of these is read as a formula by Excel,
# LibreOffice or Google Sheets; an apostrophe before it makes the cell text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

# The scan's Markdown escapes (_scan_reports._markdown_cell), kept the same: CommonMark's
# backslash escape for every character that opens or closes inline markup, a raw HTML tag or an
# entity (GFM reads \| as a literal pipe inside a table); ``#`` too, as a heading holds values.
_MARKDOWN_ESCAPES = str.maketrans(dict((c, "\\" + c) for c in "\\`*[]<>|&~#"))
# An underscore inside a word never emphasises in GFM, so only one at a word's edge is escaped.
_MARKDOWN_UNDERSCORE = re.compile(r"(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
# Other control characters (ESC starts a terminal sequence) are shown as U+FFFD, not written.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def csv_cell(value):
    """``value`` (None is empty) as a CSV cell a spreadsheet shows as text: an apostrophe before
    a leading ``=``, ``+``, ``-``, ``@``, tab or CR.  The csv module quotes what holds a comma,
    a quote or a line break."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def markdown_text(value):
    """``value`` (None is empty) as Markdown text that stays text: markup characters escaped,
    line breaks as ``<br>`` (one table cell, one heading), other control characters as U+FFFD."""
    text = ("" if value is None else str(value)).translate(_MARKDOWN_ESCAPES)
    if "_" in text:
        text = _MARKDOWN_UNDERSCORE.sub(r"\\_", text)
    if "\n" in text or "\r" in text:
        text = _LINE_BREAK.sub("<br>", text)
    return _CONTROL.sub("\ufffd", text)
