# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""IdFix's per-value rules, so a bad address is refused before it reaches AD or the cloud.

Source: "Errors supported by the IdFix tool" (microsoft.github.io/idfix).  For proxyAddresses:
invalid characters whitespace < > ( ) ; , [ ] ", RFC 2822 and a routable namespace (SMTP only),
no duplicates, at most 256 characters a value.  IdFix 2.2 also flagged parentheses in X500
values, which its maintainers called a false error and fixed (microsoft/idfix issue 16), so
the character rule applies to SMTP values only.

Each rule yields ``Finding(flag, message)``; the flags are IdFix's ERROR column values.
Pure code: no I/O.
"""

import collections
import re

CHARACTER = "character"
FORMAT = "format"
LENGTH = "length"
TOP_LEVEL_DOMAIN = "topleveldomain"
DOMAIN_PART = "domainpart"
LOCAL_PART = "localpart"
BLANK = "blank"
DUPLICATE = "duplicate"

PROXY_ADDRESS_MAX_LENGTH = 256
MAIL_MAX_LENGTH = 256
# RFC 5321 section 4.5.3.1.1: a local part holds at most 64 octets.
LOCAL_PART_MAX_LENGTH = 64

PROXY_ADDRESS_INVALID_CHARACTERS = '<>();,[]"'

# Names that never resolve on the internet, so Exchange Online cannot route mail to them:
# RFC 2606 / RFC 6761 special-use names, RFC 6762 (.local) and ICANN's .internal
# (2024), plus the private suffixes ("Prepare a non-routable domain for directory
# synchronization") that Microsoft names as the usual culprits.
NON_ROUTABLE_TOP_LEVEL_DOMAINS = frozenset(
    ["test", "example", "invalid", "localhost", "local", "internal", "localdomain", "lan",
     "intranet", "corp", "home", "private"]
)

# RFC 2822 section 3.2.4: atext; dots separate atoms (dot-atom), never lead, trail or double.
_ATEXT = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$")
_DOMAIN_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_TOP_LEVEL_DOMAIN = re.compile(r"^(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})$")

Finding = collections.namedtuple("Finding", ["flag", "message"])


def smtp_address_findings(address, max_length=MAIL_MAX_LENGTH):
    """Rules for an SMTP address (``mail``, or the part after ``SMTP:``)."""
    if not address or not address.strip():
        return [Finding(BLANK, "the address is blank")]
    findings = []
    bad = sorted(set(c for c in address if c.isspace() or c in PROXY_ADDRESS_INVALID_CHARACTERS))
    if bad:
        findings.append(Finding(CHARACTER, "contains characters IdFix refuses: %s" % _show(bad)))
    if max_length is not None and len(address) > max_length:
        findings.append(Finding(LENGTH, "is %d characters long, at most %d are allowed" % (len(address), max_length)))
    if address.count("@") != 1:
        findings.append(Finding(FORMAT, "needs exactly one '@' between local part and domain"))
        return findings
    local, domain = address.split("@")
    findings.extend(_local_part_findings(local))
    findings.extend(_domain_findings(domain))
    return findings


def proxy_address_findings(prefix, address):
    """Rules for one proxyAddresses value, split into its prefix and address."""
    if not address.strip():
        return [Finding(BLANK, "has a %s: prefix but no address" % prefix)]
    findings = []
    value_length = len(prefix) + 1 + len(address)
    if value_length > PROXY_ADDRESS_MAX_LENGTH:
        findings.append(Finding(LENGTH, "is %d characters long, at most %d are allowed" % (value_length, PROXY_ADDRESS_MAX_LENGTH)))
    if prefix.upper() == "SMTP":
        findings.extend(smtp_address_findings(address, max_length=None))
    return findings


def duplicate_findings(keys):
    """Mark every key that occurs more than once; ``keys`` is an ordered list of identity keys."""
    counts = collections.Counter(keys)
    return dict((key, Finding(DUPLICATE, "is listed %d times" % count)) for key, count in counts.items() if count > 1)


def _local_part_findings(local):
    if not local:
        return [Finding(LOCAL_PART, "has an empty local part before '@'")]
    if len(local) > LOCAL_PART_MAX_LENGTH:
        return [Finding(LOCAL_PART, "has a local part of %d characters, at most %d are allowed" % (len(local), LOCAL_PART_MAX_LENGTH))]
    if local.startswith(".") or local.endswith(".") or ".." in local:
        return [Finding(LOCAL_PART, "has a local part that starts or ends with a dot, or has two dots in a row")]
    bad = sorted(set(c for atom in local.split(".") if not _ATEXT.match(atom) for c in atom if not _ATEXT.match(c)))
    if bad:
        return [Finding(LOCAL_PART, "has characters RFC 2822 does not allow in a local part: %s" % _show(bad))]
    return []


def _domain_findings(domain):
    if not domain:
        return [Finding(DOMAIN_PART, "has an empty domain after '@'")]
    labels = domain.split(".")
    if len(labels) < 2:
        return [Finding(DOMAIN_PART, "has domain %r with no top-level domain" % domain)]
    if len(domain) > 255 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        return [Finding(DOMAIN_PART, "has domain %r that is not a valid DNS name (letters, digits and inner hyphens, labels of 1-63)" % domain)]
    tld = labels[-1]
    if not _TOP_LEVEL_DOMAIN.match(tld) or tld.lower() in NON_ROUTABLE_TOP_LEVEL_DOMAINS:
        return [Finding(TOP_LEVEL_DOMAIN, "has top-level domain %r, which is not routable on the internet" % tld)]
    return []


def _show(characters):
    return " ".join("space" if c == " " else repr(c) for c in characters)
