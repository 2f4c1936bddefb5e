# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Finding AD users, contacts and groups by any name an admin uses for them.

An identity is a distinguished name, an objectGUID, a UPN or SMTP address, a proxy address
with its prefix, or a sAMAccountName.  Many identities are looked up with OR filters, a few
hundred per search, so a list of 10,000 objects costs twenty searches, not ten thousand.
"""

from ansible_collections.syncfix.entra.plugins.module_utils._rules.dn import DnError, dn_key, same_dn
from ansible_collections.syncfix.entra.plugins.module_utils._rules.anchor import AnchorError, SourceAnchor
from ansible_collections.syncfix.entra.plugins.module_utils._rules.proxy_address import smtp_address, smtp_addresses

OBJECT_CLASSES = ("user", "contact", "group")
# Identities per OR-filtered search.  Samba and AD answer a 500-way OR on indexed attributes
# as fast per entry as a 50-way one; the answers are matched back through an index, not by
# comparing every identity with every entry.
LOOKUP_CHUNK = 500
BASE_ATTRIBUTES = ["objectClass", "objectGUID", "distinguishedName", "sAMAccountName", "userPrincipalName", "mail",
                   "proxyAddresses", "uSNChanged"]


def escape_filter_value(value):
    """RFC 4515 escaping for a filter assertion value."""
    out = []
    for char in value:
        if char in "*()\\\x00":
            out.append("\\%02x" % ord(char))
        else:
            out.append(char)
    return "".join(out)


def identity_filter(identity):
    """The LDAP filter that matches one identity, by the form it is written in."""
    text = identity.strip()
    if _is_dn_form(text):
        dn_key(text)  # a malformed DN fails here, named, before any search
        return "(distinguishedName=%s)" % escape_filter_value(text)
    try:
        anchor = SourceAnchor.from_guid(text)
        return "(objectGUID=%s)" % anchor.ldap_filter_value
    except AnchorError:
        pass
    if ":" in text and "@" in text.split(":", 1)[1] or text.lower().startswith(("x500:", "x400:", "sip:", "eum:")):
        return "(proxyAddresses=%s)" % escape_filter_value(text)
    if "@" in text:
        value = escape_filter_value(text)
        return "(|(userPrincipalName=%s)(mail=%s)(proxyAddresses=smtp:%s))" % (value, value, value)
    return "(sAMAccountName=%s)" % escape_filter_value(text)


def _is_dn_form(text):
    return "=" in text and "," in text and ":" not in text.split("=", 1)[0]


def identity_matches(identity, entry):
    """Whether an entry found by an OR filter answers this identity (case-insensitive, as AD compares;
    a DN as a DN: ``CN=Doe\\, John`` and ``cn=doe\\2c john`` are one name)."""
    return bool(set(identity_keys(identity)) & set(entry_keys(entry)))


def identity_keys(identity):
    """The keys an identity is matched on: its DN, its GUID, and its text (lowercased)."""
    text = identity.strip().lower()
    keys = [("text", text)]
    if _is_dn_form(text):
        try:
            keys.append(("dn", dn_key(text)))
        except DnError:
            pass
    try:
        keys.append(("guid", SourceAnchor.from_guid(text).guid))
    except AnchorError:
        pass
    return keys


def entry_keys(entry):
    """The keys an entry answers to: its DN, its objectGUID, every proxy address (with and without
    an ``smtp:`` prefix), its UPN, mail and sAMAccountName - lowercased, as AD compares."""
    attributes = entry["attributes"]
    keys = [("dn", dn_key(entry["dn"]))]
    if attributes.get("objectGUID"):
        try:
            keys.append(("guid", SourceAnchor.parse(_raw_guid(entry)).guid))
        except AnchorError:
            pass
    for proxy in attributes.get("proxyAddresses") or []:
        keys.append(("text", proxy.lower()))
        if smtp_address(proxy) is not None:
            keys.append(("text", smtp_address(proxy).lower()))
    for name in ("userPrincipalName", "mail", "sAMAccountName"):
        value = attributes.get(name)
        if isinstance(value, list):
            value = value[0] if value else None
        if value:
            keys.append(("text", value.lower()))
    return keys


def _raw_guid(entry):
    raw = entry["raw"].get("objectGUID")
    return raw[0] if isinstance(raw, list) else raw


class ObjectLookup:
    def __init__(self):
        self.found = {}
        self.missing = []
        self.ambiguous = {}


def find_objects(connection, identities, attributes=(), classes=OBJECT_CLASSES, convert=None):
    """Resolve identities to entries: ``found`` (one each), ``missing``, ``ambiguous`` (candidate DNs).

    ``convert`` turns each entry into what ``found`` holds as the entry arrives, so the ldap3
    entries go with their page: 10,000 of them held at once are about 75 MiB."""
    wanted = list(dict.fromkeys(i for i in identities))
    class_filter = "(|%s)" % "".join("(objectClass=%s)" % c for c in classes)
    fetch = sorted(set(BASE_ATTRIBUTES) | set(attributes))
    candidates = dict((identity, {}) for identity in wanted)
    for start in range(0, len(wanted), LOOKUP_CHUNK):
        chunk = wanted[start:start + LOOKUP_CHUNK]
        search_filter = "(&%s(|%s))" % (class_filter, "".join(identity_filter(i) for i in chunk))
        by_key = {}
        for identity in chunk:
            for key in identity_keys(identity):
                by_key.setdefault(key, []).append(identity)
        for entry in connection.search(search_filter, fetch):
            kept = convert(entry) if convert else entry
            for identity in set(i for key in entry_keys(entry) for i in by_key.get(key, ())):
                candidates[identity][dn_key(entry["dn"])] = (entry["dn"], kept)
    lookup = ObjectLookup()
    for identity, entries in candidates.items():
        if len(entries) == 1:
            lookup.found[identity] = list(entries.values())[0][1]
        elif entries:
            lookup.ambiguous[identity] = sorted(dn for dn, kept in entries.values())
        else:
            lookup.missing.append(identity)
    return lookup


def lookup_unknown(lookup, classes=OBJECT_CLASSES):
    """``[(identity, why)]`` for each identity that matched nothing or several objects."""
    noun = "AD %s" % ", ".join(classes[:-1]) + (" or %s" % classes[-1] if len(classes) > 1 else classes[0])
    unknown = [(i, "no %s has this name" % noun) for i in lookup.missing]
    unknown += [(i, "matches several objects (%s); name one by DN or objectGUID" % "; ".join(dns))
                for i, dns in lookup.ambiguous.items()]
    return unknown


def lookup_problems(lookup, classes=OBJECT_CLASSES):
    """One line per identity that matched nothing or several objects, with the way out."""
    return ["%s: %s" % pair for pair in lookup_unknown(lookup, classes)]


def holders_of(connection, values, exclude_dns=()):
    """AD objects other than ``exclude_dns`` holding any of these proxy addresses or their bare SMTP address.

    Returns ``{value: [dn, ...]}``; AD compares proxyAddresses case-insensitively.
    """
    excluded = set(dn_key(dn) for dn in exclude_dns)
    result = dict((value, []) for value in values)
    values = list(values)
    for start in range(0, len(values), LOOKUP_CHUNK):
        chunk = values[start:start + LOOKUP_CHUNK]
        clauses, by_address = [], {}
        for value in chunk:
            address = value if smtp_address(value) is None else smtp_address(value)
            by_address.setdefault(address.lower(), []).append(value)
            clauses.append("(proxyAddresses=smtp:%s)(mail=%s)" % (escape_filter_value(address), escape_filter_value(address)))
        for entry in connection.search("(|%s)" % "".join(clauses), ["proxyAddresses", "mail"]):
            if dn_key(entry["dn"]) in excluded:
                continue
            held = set(address.lower() for address in smtp_addresses(entry["attributes"].get("proxyAddresses")))
            mail = entry["attributes"].get("mail")
            mail = (mail[0] if isinstance(mail, list) and mail else mail) or ""
            held.add(mail.lower())
            for address in held:
                for value in by_address.get(address, ()):
                    result[value].append(entry["dn"])
    return result


def _escape_bytes(raw):
    return "".join("\\%02x" % byte for byte in bytearray(raw))


def anchor_holders(connection, anchors):
    """``{immutable_id: [dn, ...]}``: the AD objects whose sourceAnchor is one of ``anchors``
    (GUID SourceAnchors): their mS-DS-ConsistencyGuid holds it, or they have none and their
    objectGUID is it.  One OR search per chunk, across the naming context."""
    result = dict((anchor.immutable_id, []) for anchor in anchors)
    by_raw = dict((anchor.raw, anchor.immutable_id) for anchor in anchors)
    anchors = list(anchors)
    for start in range(0, len(anchors), LOOKUP_CHUNK):
        chunk = anchors[start:start + LOOKUP_CHUNK]
        clauses = "".join("(mS-DS-ConsistencyGuid=%s)(objectGUID=%s)" % (_escape_bytes(a.raw), _escape_bytes(a.raw))
                          for a in chunk)
        for entry in connection.search("(|%s)" % clauses, ["objectGUID", "mS-DS-ConsistencyGuid"]):
            consistency = entry["raw"].get("mS-DS-ConsistencyGuid")
            consistency = consistency[0] if isinstance(consistency, list) and consistency else consistency
            anchor = consistency or _raw_guid(entry)
            if anchor in by_raw:
                result[by_raw[anchor]].append(entry["dn"])
    return result


def uniqueness_refusals(connection, plans):
    """``{label: reason}`` for each ``(label, ObjectPlan)`` that adds an SMTP address another AD
    object already holds (in proxyAddresses or mail).

    AD does not enforce this; Entra does, and quarantines the duplicate ("Microsoft Entra Connect:
    Identity synchronization and duplicate attribute resiliency"), so ``forest_unique`` refuses it
    before the write.
    """
    wanted = {}
    for label, plan in plans:
        for value in plan.new_smtp_values():
            wanted.setdefault(value, []).append((label, plan))
    refusals = {}
    holders = holders_of(connection, list(wanted))
    for value, owners in wanted.items():
        for label, plan in owners:
            others = [dn for dn in holders.get(value, []) if not same_dn(dn, plan.dn)]
            if others:
                refusals.setdefault(label, []).append("%s is already held by %s (forest_unique)" % (
                    value, ", ".join(sorted(others))))
    return dict((label, "; ".join(reasons)) for label, reasons in refusals.items())
