# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Distinguished names compared the way Active Directory compares them.  Internal to this
collection: not a public API.

AD matches DNs attribute by attribute, without case, after escapes are undone, so
``CN=Doe\\, John,OU=Sales,DC=contoso,DC=com``, ``cn = Doe\\2C JOHN, ou=sales,DC=Contoso,DC=com``
and the DN AD returns for that user are one object (RFC 4514 "String Representation of
Distinguished Names": ``\\,`` and ``\\2C`` are one character; spaces around ``=`` and ``,`` are
not part of the value).  Comparing lower-cased strings takes them for three objects.

The parsing is ldap3's (``ldap3.utils.dn.parse_dn``); ldap3 is imported when a DN is first
compared, so modules that never compare a DN don't need it.
"""

import binascii
import re

from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import InputError

try:
    from ldap3.core.exceptions import LDAPInvalidDnError
    from ldap3.utils.dn import parse_dn
except ImportError:  # dn_key says which package is missing and how to install it
    parse_dn = None
    LDAPInvalidDnError = ValueError

_HEX_PAIRS = re.compile(r"((?:\\[0-9A-Fa-f]{2})+)|\\(.)", re.DOTALL)
_ESCAPED_SPACE = re.compile(r"\\(.)", re.DOTALL)
_SPECIAL = set(',+"\\<>;=')


class DnError(InputError):
    """A string that is not a distinguished name; the message names it and the expected form."""

    kind = "dn"


def _unescape(value, dn):
    """An RFC 4514 attribute value with its escapes undone (``\\,`` and ``\\2C`` both give ``,``;
    runs of ``\\HH`` are UTF-8 bytes)."""
    def one(match):
        if match.group(1):
            try:
                return binascii.unhexlify(match.group(1).replace("\\", "")).decode("utf-8")
            except UnicodeDecodeError:
                raise DnError("%r is not a distinguished name: %s is not UTF-8 text; escape each byte of a UTF-8 "
                              "character as \\HH" % (dn, match.group(1)))
        return match.group(2)
    return _HEX_PAIRS.sub(one, value)


def _escape(value):
    """One canonical RFC 4514 spelling of a value: specials as ``\\c``, leading ``#``/space and
    trailing space escaped."""
    out = "".join("\\" + char if char in _SPECIAL else char for char in value)
    if out.startswith(("#", " ")):
        out = "\\" + out
    if value.endswith(" "):
        out = out[:-1] + "\\ "
    return out


def rdns(dn):
    """The RDNs of ``dn``, leaf first, each a sorted tuple of ``(type, value)`` pairs: types
    lower-cased, values unescaped and case-folded.  ``DnError`` names a string that is no DN."""
    if parse_dn is None:
        raise DnError("comparing the distinguished name %r needs the Python package ldap3: "
                      "pip install 'ldap3>=2.9.1'" % (dn,))
    if not isinstance(dn, str) or not dn.strip():
        raise DnError("%r is not a distinguished name; write one as CN=Doe\\, John,OU=Sales,DC=contoso,DC=com"
                      % (dn,))
    # ldap3 strips the spaces around each value before it reads escapes, so an escaped
    # trailing space (``CN=Doe\ ``) would lose its space: spell it \20 first.
    text = _ESCAPED_SPACE.sub(lambda m: "\\20" if m.group(1) == " " else m.group(0), dn.strip())
    try:
        avas = parse_dn(text, escape=False, strip=True)
    except LDAPInvalidDnError as error:
        raise DnError("%r is not a distinguished name (%s); write one as CN=Doe\\, John,OU=Sales,DC=contoso,DC=com, "
                      "escaping , + \" \\ < > ; = in values with a backslash" % (dn, error))
    result, current = [], []
    for attribute_type, value, separator in avas:
        if not attribute_type:
            raise DnError("%r is not a distinguished name: %r has no attribute type" % (dn, value))
        current.append((attribute_type.lower(), _unescape(value, dn).casefold()))
        if separator != "+":
            result.append(tuple(sorted(current)))
            current = []
    if current:
        result.append(tuple(sorted(current)))
    return tuple(result)


def dn_key(dn):
    """A canonical string for ``dn``: two DNs of one object give one key (``cn=doe\\, john,ou=sales,...``)."""
    return ",".join("+".join("%s=%s" % (name, _escape(value)) for name, value in rdn) for rdn in rdns(dn))


def same_dn(a, b):
    """Whether two DNs name one object."""
    return rdns(a) == rdns(b)


def is_under(dn, ou):
    """Whether ``dn`` lies somewhere below ``ou`` (the OU itself is not under itself)."""
    inner, outer = rdns(dn), rdns(ou)
    return len(inner) > len(outer) and inner[len(inner) - len(outer):] == outer
