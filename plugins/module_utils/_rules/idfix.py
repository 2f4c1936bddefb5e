# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""IdFix's per-value rules, so a bad address is refused before it reaches AD or the cloud.

Source: "Errors supported by the IdFix tool" (microsoft.github.io/idfix) and, for
userPrincipalName, mailNickname and displayName, "Prepare for directory synchronization to
Microsoft 365" (its attribute table).  For proxyAddresses:
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


# -- userPrincipalName, mailNickname and displayName ("Prepare for directory synchronization to
#    Microsoft 365", attribute table) ---------------------------------------------------------

UPN_MAX_LENGTH = 113
UPN_DOMAIN_MAX_LENGTH = 48
MAIL_NICKNAME_MAX_LENGTH = 64
DISPLAY_NAME_MAX_LENGTH = 255
# userPrincipalName "can't contain": space \ % & * + / = ? { } | < > ( ) ; : , [ ] " and umlauts.
UPN_INVALID_CHARACTERS = frozenset('\\%&*+/=?{}|<>();:,[]"' + "\u00e4\u00eb\u00ef\u00f6\u00fc\u00ff\u00c4\u00cb\u00cf\u00d6\u00dc\u0178")
# mailNickname (the Exchange alias): RFC 2822 atext and inner dots.
_MAIL_NICKNAME_CHARACTER = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]")


def upn_findings(upn):
    """Rules for a userPrincipalName: at most 113 characters, 64 before the @ and 48 after; no
    space \\ % & * + / = ? { } | < > ( ) ; : , [ ] " or umlaut; RFC 2822 otherwise."""
    if not upn or not upn.strip():
        return [Finding(BLANK, "is blank")]
    findings = []
    bad = sorted(set(c for c in upn if c.isspace() or c in UPN_INVALID_CHARACTERS))
    if bad:
        findings.append(Finding(CHARACTER, "contains characters a UPN can't hold: %s" % _show(bad)))
    if len(upn) > UPN_MAX_LENGTH:
        findings.append(Finding(LENGTH, "is %d characters long, at most %d are allowed" % (len(upn), UPN_MAX_LENGTH)))
    domain = upn.rpartition("@")[2]
    if "@" in upn and len(domain) > UPN_DOMAIN_MAX_LENGTH:
        findings.append(Finding(LENGTH, "has %d characters after '@', at most %d are allowed"
                                % (len(domain), UPN_DOMAIN_MAX_LENGTH)))
    findings += [f for f in smtp_address_findings(upn, max_length=None) if f.flag != CHARACTER]
    return findings


def mail_nickname_findings(nickname):
    """Rules for mailNickname: not blank, at most 64 characters, atext and inner dots only."""
    if not nickname.strip():
        return [Finding(BLANK, "is blank")]
    findings = []
    if len(nickname) > MAIL_NICKNAME_MAX_LENGTH:
        findings.append(Finding(LENGTH, "is %d characters long, at most %d are allowed"
                                % (len(nickname), MAIL_NICKNAME_MAX_LENGTH)))
    bad = sorted(set(c for c in nickname if not _MAIL_NICKNAME_CHARACTER.match(c)))
    if bad:
        findings.append(Finding(CHARACTER, "contains characters an alias can't hold: %s" % _show(bad)))
    if nickname.startswith(".") or nickname.endswith(".") or ".." in nickname:
        findings.append(Finding(FORMAT, "starts or ends with a dot, or has two dots in a row"))
    return findings


def display_name_findings(display_name):
    """Rules for a displayName that is set: not blank, no leading or trailing white space, at most
    255 characters.  ``[(Finding, proposed value or None)]``."""
    if not display_name.strip():
        return [(Finding(BLANK, "is blank"), None)]
    findings = []
    trimmed = display_name.strip()[:DISPLAY_NAME_MAX_LENGTH]
    if display_name != display_name.strip():
        findings.append((Finding(CHARACTER, "starts or ends with white space"), trimmed))
    if len(display_name) > DISPLAY_NAME_MAX_LENGTH:
        findings.append((Finding(LENGTH, "is %d characters long, at most %d are allowed"
                                 % (len(display_name), DISPLAY_NAME_MAX_LENGTH)), trimmed))
    return findings


# -- proposed fixes (IdFix's UPDATE column): the cleaned value, only when it passes every rule ----

def smtp_address_fix(address, finding):
    candidate = _cleaned(address, finding, PROXY_ADDRESS_INVALID_CHARACTERS)
    if candidate and not smtp_address_findings(candidate):
        return candidate
    return None


def proxy_address_fix(prefix, address, finding):
    """The fixed value of an ``SMTP``/``smtp`` proxy address (``PREFIX:address``); None for other types."""
    if prefix.upper() != "SMTP":
        return None
    candidate = _cleaned(address, finding, PROXY_ADDRESS_INVALID_CHARACTERS)
    if candidate and not proxy_address_findings(prefix, candidate):
        return "%s:%s" % (prefix, candidate)
    return None


def upn_fix(upn, finding):
    candidate = _cleaned(upn, finding, UPN_INVALID_CHARACTERS)
    return candidate if candidate and not upn_findings(candidate) else None


def mail_nickname_fix(nickname, finding):
    if finding.flag == FORMAT:
        candidate = re.sub(r"\.{2,}", ".", nickname.strip()).strip(".")
    elif finding.flag == CHARACTER:
        candidate = "".join(c for c in nickname if _MAIL_NICKNAME_CHARACTER.match(c))
    else:
        return None
    return candidate if candidate and not mail_nickname_findings(candidate) else None


def _cleaned(value, finding, invalid):
    """Surrounding white space trimmed; for a character finding, the offending characters removed."""
    candidate = value.strip()
    if finding.flag == CHARACTER:
        candidate = "".join(c for c in candidate if not c.isspace() and c not in invalid)
    return candidate if candidate != value else None


def _show(characters):
    return " ".join("space" if c == " " else repr(c) for c in characters)
