# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The AD side of the sync-conflict scan: IdFix's rules and what IdFix misses, one entry at a time.
Internal to this collection: not a public API.

``ADScan.add(entry)`` takes one entry as ``_ldap.client.search`` yields it and returns that object's
own findings at once (streamed); ``finish()`` returns the cross-object findings (duplicates) when
every entry was added; ``index()`` is what the cloud rules look AD objects up in.  Memory stays
bounded for 100,000 objects: no entry is kept, only ``{value: first DN}`` dictionaries (the
index), and one small record per duplicate found.

The rules, and the Microsoft documents they come from (cited by title next to each rule):

* IdFix's per-value rules (character, format, length, top-level domain, domain part, local
  part, blank, duplicate within one object) on mail, SMTP proxyAddresses, userPrincipalName,
  mailNickname and displayName ("Errors supported by the IdFix tool"; "Prepare for directory
  synchronization to Microsoft 365"): the rules and the fixes they propose are
  ``_rules.idfix``'s; this file turns them into findings.
* What IdFix misses: one address held by two objects across UPN, mail and proxyAddresses
  (IdFix compares within one attribute only), zero or several primary ``SMTP:`` addresses,
  ``mail`` not the primary, ``*.onmicrosoft.com`` values, UPN suffixes that are not verified
  tenant domains, duplicate mailNickname, and one source anchor held by two objects.

Exclusions follow IdFix's ``Skip`` (its ``WellKnownExclusions`` and system-object tests) plus
Entra Connect's default user scoping filter (adminDescription ``User_``); the caller overrides
any part of them.  Pure code: no I/O, no Ansible, no LDAP.
"""

import base64
import collections

from ansible_collections.syncfix.entra.plugins.module_utils._scan import findings as scan
from ansible_collections.syncfix.entra.plugins.module_utils._rules import idfix as idfix_rules
from ansible_collections.syncfix.entra.plugins.module_utils._rules import sync_scope
from ansible_collections.syncfix.entra.plugins.module_utils._rules.anchor import AnchorError, SourceAnchor
from ansible_collections.syncfix.entra.plugins.module_utils._rules.proxy_address import (
    RESERVED_DOMAIN_SUFFIX, SMTP, ProxyAddress, ProxyAddressError)

# -- what to read ---------------------------------------------------------------------------

ATTRIBUTES = ["objectClass", "distinguishedName", "cn", "userPrincipalName", "mail", "proxyAddresses", "mailNickname",
              "sAMAccountName", "displayName", "objectGUID", "mS-DS-ConsistencyGuid", "isCriticalSystemObject",
              "msExchRecipientTypeDetails", "msExchHideFromAddressLists", "adminDescription"]

# IdFix reads (|(objectCategory=Person)(objectCategory=Group)): users, inetOrgPersons, contacts and
# groups.  The same set by objectClass, which every AD and Samba answer alike; computers are users
# too, so they are left out by name.
SEARCH_FILTER = "(|(&(objectClass=user)(!(objectClass=computer)))(objectClass=contact)(objectClass=group))"

USER, CONTACT, GROUP = "user", "contact", "group"

# -- rule names -----------------------------------------------------------------------------

IDFIX_CHARACTER = "idfix_" + idfix_rules.CHARACTER
IDFIX_FORMAT = "idfix_" + idfix_rules.FORMAT
IDFIX_LENGTH = "idfix_" + idfix_rules.LENGTH
IDFIX_TOP_LEVEL_DOMAIN = "idfix_" + idfix_rules.TOP_LEVEL_DOMAIN
IDFIX_DOMAIN_PART = "idfix_" + idfix_rules.DOMAIN_PART
IDFIX_LOCAL_PART = "idfix_" + idfix_rules.LOCAL_PART
IDFIX_BLANK = "idfix_" + idfix_rules.BLANK
IDFIX_DUPLICATE = "idfix_" + idfix_rules.DUPLICATE
DUPLICATE_ADDRESS = scan.DUPLICATE_ADDRESS
PRIMARY_SMTP_MISSING = "primary_smtp_missing"
PRIMARY_SMTP_SEVERAL = "primary_smtp_several"
MAIL_NOT_PRIMARY = "mail_not_primary"
ONMICROSOFT_ADDRESS = "onmicrosoft_address"
UPN_ONMICROSOFT = "upn_onmicrosoft"
UPN_SUFFIX_UNVERIFIED = "upn_suffix_unverified"
DUPLICATE_MAIL_NICKNAME = "duplicate_mail_nickname"
DUPLICATE_ANCHOR = "duplicate_anchor"

RULES = (IDFIX_CHARACTER, IDFIX_FORMAT, IDFIX_LENGTH, IDFIX_TOP_LEVEL_DOMAIN, IDFIX_DOMAIN_PART, IDFIX_LOCAL_PART,
         IDFIX_BLANK, IDFIX_DUPLICATE, DUPLICATE_ADDRESS, PRIMARY_SMTP_MISSING, PRIMARY_SMTP_SEVERAL, MAIL_NOT_PRIMARY,
         ONMICROSOFT_ADDRESS, UPN_ONMICROSOFT, UPN_SUFFIX_UNVERIFIED, DUPLICATE_MAIL_NICKNAME, DUPLICATE_ANCHOR)

# The Microsoft documents the messages cite.
DOC_IDFIX = "Errors supported by the IdFix tool"
DOC_PREPARE = "Prepare for directory synchronization to Microsoft 365"
DOC_RESILIENCY = "Microsoft Entra Connect: Identity synchronization and duplicate attribute resiliency"
DOC_PROXY = "How the proxyAddresses attribute is populated in Microsoft Entra ID"
DOC_NON_ROUTABLE = "Prepare a non-routable domain for directory synchronization"
DOC_DESIGN = "Microsoft Entra Connect: Design concepts"

# Exchange hybrid stamps the remote routing address smtp:alias@<tenant>.mail.onmicrosoft.com on
# premises; it is needed there (targetAddress), and Entra discards it anyway.
HYBRID_ROUTING_SUFFIX = ".mail" + RESERVED_DOMAIN_SUFFIX

# -- exclusions -----------------------------------------------------------------------------

# IdFix's Skip (src/Rules/*RuleCollection.cs, Constants.WellKnownExclusions): an object is left out
# when its cn ends with $ or starts with a well-known system name, its DN is a replication conflict
# (\0ACNF:), it is a critical system object; a user also when its sAMAccountName or mailNickname
# starts with a system prefix, it is a hidden MSOL account, or msExchRecipientTypeDetails names a
# system recipient.  Entra Connect's "In from AD - User Join" skips users whose adminDescription
# starts with User_ (``_rules.sync_scope.excluded_by_admin_description``, its one owner).  Keys
# the caller leaves out keep these defaults.
DEFAULT_EXCLUSIONS = {
    "cn_prefixes": ("Admini", "CAS_{", "DiscoverySearchMailbox", "FederatedEmail", "Guest", "HTTPConnector", "krbtgt",
                    "iusr_", "iwam", "msol", "support_", "SystemMailbox", "WWIOadmini", "HealthMailbox",
                    "Exchange Online-ApplicationAccount"),
    "cn_suffixes": ("$",),
    "dn_fragments": ("\\0ACNF:", "\nCNF:"),
    "critical_system_objects": True,
    "sam_account_name_prefixes": ("CAS_", "SUPPORT_", "MSOL_"),
    "mail_nickname_prefixes": ("CAS_", "SystemMailbox"),
    "hidden_display_name_prefixes": ("MSOL",),
    # PublicFolder, SystemAttendantMailbox, SystemMailbox, MicrosoftExchange, ArbitrationMailbox,
    # MailboxPlan, DiscoveryMailbox (IdFix compared hex text, which AD never returns; we compare numbers).
    "recipient_type_details": (0x1000, 0x2000, 0x4000, 0x400000, 0x800000, 0x1000000, 0x20000000),
    "user_admin_description_prefixes": (sync_scope.EXCLUDE_PREFIX,),
}

Subject = collections.namedtuple("Subject", ["dn", "object_class", "common_name"])


class ADIndex:
    """What the cloud rules look AD objects up in (the scan's own dictionaries, not copies).

    ``addresses`` {lowercase UPN / mail / SMTP proxy address: DN of its first holder};
    ``anchors`` {ImmutableId: DN}; ``names`` {DN: sAMAccountName or None};
    ``classes`` {DN: 'user' | 'contact' | 'group'}; ``soft_keys`` {DN of a user: (lowercase
    primary SMTP address or None, lowercase UPN or None)}, what soft match compares;
    ``object_guids`` {DN: objectGUID text}; ``identities`` {DN of a user: (lowercase mailNickname
    or None, displayName or None)}, what a proposed link's evidence compares besides the soft
    keys and the sAMAccountName (``_scan.proposals``).  Excluded objects are in none of them.
    """

    __slots__ = ("addresses", "anchors", "names", "classes", "soft_keys", "object_guids", "identities")

    def __init__(self, addresses, anchors, names, classes, soft_keys=None, object_guids=None, identities=None):
        self.addresses = addresses
        self.anchors = anchors
        self.names = names
        self.classes = classes
        self.soft_keys = {} if soft_keys is None else soft_keys
        self.object_guids = {} if object_guids is None else object_guids
        self.identities = {} if identities is None else identities


class ADScan:
    """Feed every entry of the scope to ``add``, then call ``finish`` once."""

    def __init__(self, verified_domains=None, exclusions=None):
        self.verified_domains = None if verified_domains is None else frozenset(
            d.strip().rstrip(".").lower() for d in verified_domains if d and d.strip())
        self.exclusions = merged_exclusions(exclusions)
        self._lowered_exclusions = _lowered(self.exclusions)
        self.counts = {"read": 0, "objects": 0, "excluded": 0, "excluded_by": {}}
        self._addresses = {}          # address -> first DN (the index)
        self._address_attribute = {}  # address -> the attribute the first holder has it in
        self._anchors = {}            # ImmutableId -> first DN
        self._names = {}
        self._classes = {}
        self._nicknames = {}          # lowercase mailNickname -> first DN
        self._soft_keys = {}          # user DN -> (primary SMTP, UPN), lowercase: what soft match compares
        self._object_guids = {}       # DN -> objectGUID text
        self._identities = {}         # user DN -> (mailNickname, displayName): a proposal's evidence
        self._duplicates = []         # (rule, key, later Subject, attribute, value, first DN)

    # -- the three calls ------------------------------------------------------------------

    def add(self, entry):
        """This object's own findings, right away; duplicates are kept for ``finish``."""
        self.counts["read"] += 1
        attributes = _normalized(entry.get("attributes") or {})
        raw = _lower_keys(entry.get("raw") or {})
        dn = entry["dn"]
        subject = Subject(dn, object_class_of(attributes), _first(attributes, "cn") or leaf_name(dn))
        reason = exclusion_reason(subject, attributes, self._lowered_exclusions)
        if reason:
            self.counts["excluded"] += 1
            self.counts["excluded_by"][reason] = self.counts["excluded_by"].get(reason, 0) + 1
            return []
        self.counts["objects"] += 1
        self._classes[dn] = subject.object_class
        self._names[dn] = _first(attributes, "sAMAccountName")
        proxies = _values(attributes, "proxyAddresses")
        parsed = _parsed_proxies(proxies)
        findings = self._own_findings(subject, attributes, proxies, parsed)
        self._record_addresses(subject, _own_addresses(_first(attributes, "userPrincipalName"), _first(attributes, "mail"), parsed))
        self._record_nickname(subject, attributes)
        self._record_anchor(subject, raw)
        self._record_soft_keys(subject, attributes, parsed)
        guid = _first_raw(raw, "objectGUID")
        if guid and len(guid) == 16:
            self._object_guids[dn] = str(SourceAnchor.from_bytes(guid).guid)
        return findings

    def finish(self):
        """The cross-object findings: each later holder, and each first holder once per value."""
        findings, reported_first = [], set()
        holders = collections.Counter((record[0], record[1]) for record in self._duplicates)
        for rule, key, later, attribute, value, first_dn in self._duplicates:
            findings.append(_duplicate_finding(rule, later, attribute, value, first_dn))
            if (rule, key) not in reported_first:
                reported_first.add((rule, key))
                first = Subject(first_dn, self._classes.get(first_dn), leaf_name(first_dn))
                findings.append(_duplicate_finding(rule, first, self._first_attribute(rule, key), key, later.dn,
                                                   first_holder=True, holders=1 + holders[(rule, key)]))
        return findings

    def index(self):
        return ADIndex(self._addresses, self._anchors, self._names, self._classes, self._soft_keys, self._object_guids,
                       self._identities)

    # -- one object's own rules -------------------------------------------------------------

    def _own_findings(self, subject, attributes, proxies, parsed):
        mail = _first(attributes, "mail")
        upn = _first(attributes, "userPrincipalName")
        findings = []
        if mail is not None:
            findings += mail_findings(subject, mail)
        findings += proxy_value_findings(subject, proxies)
        findings += primary_findings(subject, parsed, mail)
        findings += mail_not_primary_findings(subject, parsed, mail)
        findings += onmicrosoft_findings(subject, parsed, mail)
        if upn is not None:
            findings += upn_findings(subject, upn, self.verified_domains)
        nickname = _first(attributes, "mailNickname")
        if nickname is not None:
            findings += mail_nickname_findings(subject, nickname)
        findings += display_name_findings(subject, _first(attributes, "displayName"), bool(mail or proxies))
        return findings

    # -- what the cross-object rules remember -------------------------------------------------

    def _record_addresses(self, subject, own):
        for address, (attribute, value) in own.items():
            holder = self._addresses.get(address)
            if holder is None:
                self._addresses[address] = subject.dn
                self._address_attribute[address] = attribute
            elif holder != subject.dn:
                self._duplicates.append((DUPLICATE_ADDRESS, address, subject, attribute, value, holder))

    def _record_nickname(self, subject, attributes):
        nickname = (_first(attributes, "mailNickname") or "").strip()
        if not nickname:
            return
        key = nickname.lower()
        holder = self._nicknames.get(key)
        if holder is None:
            self._nicknames[key] = subject.dn
        elif holder != subject.dn:
            self._duplicates.append((DUPLICATE_MAIL_NICKNAME, key, subject, "mailNickname", nickname, holder))

    def _record_anchor(self, subject, raw):
        attribute, immutable_id = source_anchor_of(raw)
        if immutable_id is None:
            return
        holder = self._anchors.get(immutable_id)
        if holder is None:
            self._anchors[immutable_id] = subject.dn
        elif holder != subject.dn:
            self._duplicates.append((DUPLICATE_ANCHOR, immutable_id, subject, attribute, immutable_id, holder))

    def _record_soft_keys(self, subject, attributes, parsed):
        """A user's primary SMTP address (its mail when it has no SMTP proxy address, as Entra
        makes mail the primary then) and UPN: the values soft match compares (KB 2641663 "How to
        use SMTP matching"; softMatchOnUpnEnabled)."""
        if subject.object_class != "user":
            return
        primaries = [p.address for p in parsed if p.is_smtp and p.is_primary]
        smtp = [p for p in parsed if p.is_smtp]
        primary = primaries[0] if len(primaries) == 1 else (None if smtp else _first(attributes, "mail"))
        upn = _first(attributes, "userPrincipalName")
        self._soft_keys[subject.dn] = ((primary or "").strip().lower() or None, (upn or "").strip().lower() or None)
        nickname, display = _first(attributes, "mailNickname"), _first(attributes, "displayName")
        if nickname or display:
            self._identities[subject.dn] = ((nickname or "").strip().lower() or None, display or None)

    def _first_attribute(self, rule, key):
        if rule == DUPLICATE_ADDRESS:
            return self._address_attribute.get(key)
        return "mailNickname" if rule == DUPLICATE_MAIL_NICKNAME else "sourceAnchor"


# -- exclusions -----------------------------------------------------------------------------

def merged_exclusions(exclusions):
    """The exclusions a scan uses.

    None: the defaults.  A mapping: the defaults with the caller's keys replacing theirs.  A list
    of strings (the module's ``exclusions`` option) replaces them all: a string with ``=`` is a
    DN part, any other a name the cn starts with, both without case; ``[]`` scans everything.
    """
    merged = dict(DEFAULT_EXCLUSIONS)
    if exclusions is None or exclusions is DEFAULT_EXCLUSIONS:
        return merged
    if isinstance(exclusions, (list, tuple)):
        texts = [str(text) for text in exclusions if text]
        exclusions = dict((key, ()) for key in DEFAULT_EXCLUSIONS)
        exclusions.update(critical_system_objects=False, cn_prefixes=[t for t in texts if "=" not in t],
                          dn_fragments=[t for t in texts if "=" in t])
    unknown = sorted(set(exclusions) - set(DEFAULT_EXCLUSIONS))
    if unknown:
        raise ValueError("unknown exclusion key(s) %s; the keys are %s" % (", ".join(unknown), ", ".join(sorted(DEFAULT_EXCLUSIONS))))
    for key, value in exclusions.items():
        if key == "critical_system_objects":
            merged[key] = bool(value)
        elif key == "recipient_type_details":
            merged[key] = tuple(int(str(number), 0) for number in value or ())
        else:
            merged[key] = tuple(value or ())
    return merged


def _lowered(exclusions):
    """The exclusions as ``exclusion_reason`` compares them: texts lower-cased, numbers a set."""
    lowered = dict((key, tuple(v.lower() for v in value)) for key, value in exclusions.items()
                   if key not in ("critical_system_objects", "recipient_type_details"))
    lowered["critical_system_objects"] = exclusions["critical_system_objects"]
    lowered["recipient_type_details"] = frozenset(exclusions["recipient_type_details"])
    return lowered


def exclusion_reason(subject, attributes, exclusions):
    """The exclusion key that leaves this object out, or None (IdFix's Skip order); ``exclusions``
    as ``_lowered`` gives them."""
    cn = (subject.common_name or "").lower()
    if cn.endswith(exclusions["cn_suffixes"]):
        return "cn_suffixes"
    if cn.startswith(exclusions["cn_prefixes"]):
        return "cn_prefixes"
    dn = subject.dn.lower()
    if any(fragment in dn for fragment in exclusions["dn_fragments"]):
        return "dn_fragments"
    if exclusions["critical_system_objects"] and _is_true(_first(attributes, "isCriticalSystemObject")):
        return "critical_system_objects"
    if subject.object_class == USER:
        return _user_exclusion_reason(attributes, exclusions)
    return None


def _user_exclusion_reason(attributes, exclusions):
    if _starts_with_any(_first(attributes, "sAMAccountName"), exclusions["sam_account_name_prefixes"]):
        return "sam_account_name_prefixes"
    if _starts_with_any(_first(attributes, "mailNickname"), exclusions["mail_nickname_prefixes"]):
        return "mail_nickname_prefixes"
    if _is_true(_first(attributes, "msExchHideFromAddressLists")) and _starts_with_any(
            _first(attributes, "displayName"), exclusions["hidden_display_name_prefixes"]):
        return "hidden_display_name_prefixes"
    if _number(_first(attributes, "msExchRecipientTypeDetails")) in exclusions["recipient_type_details"]:
        return "recipient_type_details"
    if sync_scope.excluded_by_admin_description(_first(attributes, "adminDescription"),
                                                exclusions["user_admin_description_prefixes"]):
        return "user_admin_description_prefixes"
    return None


# -- IdFix per-value rules ------------------------------------------------------------------

def mail_findings(subject, mail):
    """IdFix on ``mail`` (256 characters, RFC 2822, routable domain)."""
    problems = idfix_rules.smtp_address_findings(mail, max_length=idfix_rules.MAIL_MAX_LENGTH)
    return [_idfix_finding(subject, "mail", mail, problem, idfix_rules.smtp_address_fix(mail, problem)) for problem in problems]


def proxy_value_findings(subject, proxies):
    """IdFix on each proxyAddresses value, and the same address listed twice on one object."""
    findings, seen = [], {}
    for value in proxies:
        try:
            proxy = ProxyAddress.parse(value)
        except ProxyAddressError:
            findings.append(_idfix_finding(subject, "proxyAddresses", value, idfix_rules.Finding(
                idfix_rules.FORMAT, "is not PREFIX:address (such as SMTP:ann@contoso.com)"), None))
            continue
        for problem in proxy.findings():
            update = idfix_rules.proxy_address_fix(proxy.prefix, proxy.address, problem)
            findings.append(_idfix_finding(subject, "proxyAddresses", value, problem, update))
        if proxy.key in seen:
            findings.append(_within_object_duplicate(subject, value, seen[proxy.key]))
        else:
            seen[proxy.key] = value
    return findings


def upn_findings(subject, upn, verified_domains):
    """IdFix's UPN rules, the onmicrosoft.com case and the verified-domain rule."""
    problems = idfix_rules.upn_findings(upn)
    findings = [_idfix_finding(subject, "userPrincipalName", upn, problem, idfix_rules.upn_fix(upn, problem)) for problem in problems]
    domain = upn.rpartition("@")[2].strip().rstrip(".").lower()
    if "@" not in upn or any(p.flag in (idfix_rules.DOMAIN_PART, idfix_rules.TOP_LEVEL_DOMAIN, idfix_rules.BLANK) for p in problems):
        return findings  # the suffix is already reported; Entra treats it as unverified too
    if ("." + domain).endswith(RESERVED_DOMAIN_SUFFIX):
        findings.append(_upn_onmicrosoft(subject, upn))
    if verified_domains is not None and not is_verified(domain, verified_domains):
        findings.append(_upn_suffix_unverified(subject, upn, domain))
    return findings


def mail_nickname_findings(subject, nickname):
    """IdFix on ``mailNickname``: not blank, at most 64 characters, atext and inner dots only."""
    return [_idfix_finding(subject, "mailNickname", nickname, problem, idfix_rules.mail_nickname_fix(nickname, problem),
                           severity=scan.WARNING)
            for problem in idfix_rules.mail_nickname_findings(nickname)]


def display_name_findings(subject, display_name, mail_enabled):
    """IdFix on ``displayName``: at most 255 characters, no leading or trailing space, not blank;
    Entra Connect leaves a mail-enabled group without one out of the sync."""
    if display_name is None:
        if subject.object_class == GROUP and mail_enabled:
            return [_idfix_finding(subject, "displayName", None, idfix_rules.Finding(
                idfix_rules.BLANK, "is missing on a mail-enabled group, which Entra Connect does not synchronise"),
                None, severity=scan.WARNING)]
        return []
    return [_idfix_finding(subject, "displayName", display_name, problem, update, severity=scan.WARNING)
            for problem, update in idfix_rules.display_name_findings(display_name)]


# -- primary SMTP, mail and onmicrosoft.com ("How the proxyAddresses attribute is populated in
#    Microsoft Entra ID") -----------------------------------------------------------------------

def primary_findings(subject, parsed, mail):
    """A mail-enabled object has exactly one ``SMTP:``; Entra soft-matches on it."""
    smtp = [p for p in parsed if p.is_smtp]
    primaries = [p for p in smtp if p.is_primary]
    if len(primaries) > 1:
        return _several_primaries(subject, primaries, mail)
    if not primaries and (smtp or (mail and parsed)):
        return [_primary_missing(subject, smtp, mail)]
    return []


def _several_primaries(subject, primaries, mail):
    keep = next((p for p in primaries if mail and p.address.lower() == mail.strip().lower()), primaries[0])
    return [_ad_finding(subject, PRIMARY_SMTP_SEVERAL, scan.ERROR, "proxyAddresses", p.value,
                        "is one of %d primary SMTP addresses; an object has exactly one SMTP: (the one Entra soft-matches "
                        "on and Exchange Online sends from), so which one wins is undefined; keep %s and make this one "
                        "secondary (Microsoft Learn, \"%s\")" % (len(primaries), keep.value, DOC_PROXY),
                        action=scan.EDIT, update=p.as_secondary().value)
            for p in primaries if p is not keep]


def _primary_missing(subject, smtp, mail):
    wanted = (mail or "").strip() or smtp[0].address
    held = next((p for p in smtp if p.address.lower() == wanted.lower()), None)
    return _ad_finding(subject, PRIMARY_SMTP_MISSING, scan.WARNING, "proxyAddresses", held.value if held else None,
                       "proxyAddresses hold no primary SMTP: address, so Entra picks the primary itself (from mail, "
                       "or none) and soft match may not find the cloud object you expect; make %s the primary "
                       "(Microsoft Learn, \"%s\")" % (wanted, DOC_PROXY),
                       action=scan.EDIT, update="%s:%s" % (SMTP, held.address if held else wanted))


def mail_not_primary_findings(subject, parsed, mail):
    """``mail`` differs from the one primary SMTP address."""
    primaries = [p for p in parsed if p.is_primary]
    if not mail or len(primaries) != 1 or primaries[0].address.strip().lower() == mail.strip().lower():
        return []
    return [_ad_finding(subject, MAIL_NOT_PRIMARY, scan.WARNING, "mail", mail,
                        "is not the primary SMTP address %s; Entra takes the primary from proxyAddresses and mail "
                        "from mail, so the cloud object shows two different addresses and soft match uses the "
                        "primary (Microsoft Learn, \"%s\")" % (primaries[0].address, DOC_PROXY),
                        action=scan.EDIT, update=primaries[0].address)]


def onmicrosoft_findings(subject, parsed, mail):
    """SMTP values and mail in ``*.onmicrosoft.com``: Entra's sync discards them."""
    findings = [_onmicrosoft(subject, "proxyAddresses", p.value, p.is_primary, _is_hybrid_routing(p.address))
                for p in parsed if p.is_smtp and _is_onmicrosoft(p.address)]
    if mail and _is_onmicrosoft(mail):
        findings.append(_onmicrosoft(subject, "mail", mail, True, False))
    return findings


def _onmicrosoft(subject, attribute, value, primary, hybrid_routing):
    why = ("is in an onmicrosoft.com domain: Entra manages those addresses itself and discards them from "
           "on-premises values (Microsoft Learn, \"%s\")" % DOC_PROXY)
    if hybrid_routing and not primary:
        return _ad_finding(subject, ONMICROSOFT_ADDRESS, scan.INFO, attribute, value,
                           why + "; this is Exchange hybrid's remote routing address, keep it on premises")
    if primary:
        return _ad_finding(subject, ONMICROSOFT_ADDRESS, scan.WARNING, attribute, value,
                           why + ", so the cloud object gets another primary address and soft match on it finds "
                           "nothing; make an address in a verified domain the primary first")
    return _ad_finding(subject, ONMICROSOFT_ADDRESS, scan.WARNING, attribute, value,
                       why + ", so it soft-matches nothing; remove it", action=scan.REMOVE)


def _upn_onmicrosoft(subject, upn):
    return _ad_finding(subject, UPN_ONMICROSOFT, scan.INFO, "userPrincipalName", upn,
                       "is in an onmicrosoft.com domain; Entra accepts only the tenant's own initial domain there, "
                       "and users usually sign in with a custom domain (Microsoft Learn, \"%s\")" % DOC_NON_ROUTABLE)


def _upn_suffix_unverified(subject, upn, domain):
    return _ad_finding(subject, UPN_SUFFIX_UNVERIFIED, scan.WARNING, "userPrincipalName", upn,
                       "has suffix %s, which is not a verified domain of the tenant: Entra replaces it with the "
                       "initial onmicrosoft.com domain, so the user signs in with another name and UPN soft match "
                       "fails; add and verify the domain or change the suffix (Microsoft Learn, \"%s\")"
                       % (domain, DOC_NON_ROUTABLE))


def is_verified(domain, verified_domains):
    """A verified domain, or a subdomain of one (Graph "Add a domain": subdomains of a verified
    root domain are verified automatically)."""
    labels = domain.split(".")
    return any(".".join(labels[i:]) in verified_domains for i in range(len(labels) - 1))


# -- the source anchor ("Microsoft Entra Connect: Design concepts") ----------------------------

def source_anchor_of(raw):
    """``(attribute, ImmutableId)``: Base64 of mS-DS-ConsistencyGuid when set, else of objectGUID;
    ``(None, None)`` without either."""
    for attribute in ("mS-DS-ConsistencyGuid", "objectGUID"):
        value = _first_raw(raw, attribute)
        if value:
            try:
                return attribute, SourceAnchor.from_bytes(value).immutable_id
            except AnchorError:
                # Not 16 bytes: Connect Base64-encodes whatever bytes it finds.
                return attribute, base64.b64encode(bytes(value)).decode("ascii")
    return None, None


# -- duplicates across objects -----------------------------------------------------------------

def _own_addresses(upn, mail, parsed):
    """``{lowercase address: (attribute, value as written)}`` for one object: UPN, mail and SMTP
    proxy addresses in one namespace; the object's own repeats are one address.  onmicrosoft.com
    mail and proxy values are left out: Entra discards them, so they collide with nothing."""
    own = {}
    upn = (upn or "").strip()
    if upn:
        own[upn.lower()] = ("userPrincipalName", upn)
    mail = (mail or "").strip()
    if mail and not _is_onmicrosoft(mail):
        own.setdefault(mail.lower(), ("mail", mail))
    for proxy in parsed:
        address = proxy.address.strip()
        if proxy.is_smtp and address and not _is_onmicrosoft(address):
            own.setdefault(address.lower(), ("proxyAddresses", proxy.value))
    return own


def _duplicate_finding(rule, subject, attribute, value, other_dn, first_holder=False, holders=2):
    if rule == DUPLICATE_ADDRESS:
        severity, why = scan.ERROR, (
            "UPN and SMTP addresses are unique tenant-wide across users, groups and contacts: Entra quarantines the "
            "value on the object synchronised later (the UPN becomes <prefix><4 digits>@<initial domain>, the proxy "
            "address is dropped) and reports a PropertyConflict (Microsoft Learn, \"%s\")" % DOC_RESILIENCY)
    elif rule == DUPLICATE_MAIL_NICKNAME:
        severity, why = scan.WARNING, (
            "IdFix reports duplicate aliases: Exchange Online derives addresses from mailNickname, so one of the "
            "objects gets another alias (Microsoft Learn, \"%s\")" % DOC_IDFIX)
    else:
        severity, why = scan.ERROR, (
            "the sourceAnchor links one AD object to one cloud object, so the second object can't be provisioned "
            "(or hard-matches the first one's cloud object) (Microsoft Learn, \"%s\")" % DOC_DESIGN)
    if first_holder:
        what = "is also held by %s%s" % (other_dn, " and %d more objects" % (holders - 2) if holders > 2 else "")
    else:
        what = "is already held by %s" % other_dn
    return _ad_finding(subject, rule, severity, attribute, value, "%s; %s" % (what, why), conflicts_with=other_dn)


def _within_object_duplicate(subject, value, first_value):
    return _ad_finding(subject, IDFIX_DUPLICATE, scan.WARNING, "proxyAddresses", value,
                       "names the same address as %s on this object (addresses compare without case); keep one "
                       "(Microsoft Learn, \"%s\")" % (first_value, DOC_IDFIX), action=scan.REMOVE)


# -- building findings -------------------------------------------------------------------------

def _ad_finding(subject, rule, severity, attribute, value, message, action=scan.COMPLETE, update=None, conflicts_with=None):
    label = "%s %s" % (attribute, value) if value is not None else attribute
    return scan.finding(rule, severity, scan.AD, subject.dn, attribute, value, "%s %s" % (label, message),
                        action=action, update=update, conflicts_with=conflicts_with,
                        object_class=subject.object_class, common_name=subject.common_name)


def _idfix_finding(subject, attribute, value, problem, update, severity=None):
    """One IdFix flag on one value: an error (the export fails or the value is quarantined), but a
    non-routable top-level domain only changes the outcome (a warning)."""
    if severity is None:
        severity = scan.WARNING if problem.flag == idfix_rules.TOP_LEVEL_DOMAIN else scan.ERROR
    if update is not None:
        action = scan.EDIT
    elif problem.flag == idfix_rules.BLANK and attribute in ("mail", "proxyAddresses", "mailNickname"):
        action = scan.REMOVE
    else:
        action = scan.COMPLETE
    why = _IDFIX_WHY.get(attribute, "")
    return _ad_finding(subject, "idfix_" + problem.flag, severity, attribute, value,
                       "%s%s (Microsoft Learn, \"%s\"; \"%s\")" % (problem.message, why, DOC_IDFIX, DOC_PREPARE),
                       action=action, update=update)


_IDFIX_WHY = {
    "mail": "; Entra refuses or drops an invalid mail value",
    "proxyAddresses": "; Entra drops an invalid proxy address, so it can't soft-match or receive mail",
    "userPrincipalName": "; Entra refuses an invalid UPN and replaces a non-routable suffix with the initial "
                         "onmicrosoft.com domain",
    "mailNickname": "; Exchange Online builds addresses from the alias",
    "displayName": "; Entra shows this name in the address book and a mail-enabled group needs one",
}


# -- reading an entry --------------------------------------------------------------------------

def object_class_of(attributes):
    """'contact', 'group' or 'user' (inetOrgPerson is a user)."""
    classes = set(c.lower() for c in _values(attributes, "objectClass"))
    if CONTACT in classes:
        return CONTACT
    if GROUP in classes:
        return GROUP
    return USER


def leaf_name(dn):
    """The value of the DN's first RDN, simple escapes undone (``CN=Doe\\, Ann,...`` -> ``Doe, Ann``)."""
    out, escaped = [], False
    for char in dn.partition("=")[2]:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",+":
            break
        else:
            out.append(char)
    return "".join(out).strip() or dn


def _parsed_proxies(proxies):
    parsed = []
    for value in proxies:
        try:
            parsed.append(ProxyAddress.parse(value))
        except ProxyAddressError:
            continue  # reported by proxy_value_findings
    return parsed


def _lower_keys(mapping):
    return dict((str(key).lower(), value) for key, value in mapping.items())


_READ = frozenset(name.lower() for name in ATTRIBUTES)


def _normalized(attributes):
    """``{lowercase name: [text, ...]}`` for the attributes the scan reads, each converted once
    (ldap3 gives lists without a schema, single values with one, bytes for unknown syntaxes)."""
    result = {}
    for key, value in attributes.items():
        name = str(key).lower()
        if name not in _READ or value is None:
            continue
        if not isinstance(value, (list, tuple)):
            value = [value]
        result[name] = [_text(v) for v in value if v is not None]
    return result


def _values(attributes, name):
    return attributes.get(name.lower()) or []


def _first(attributes, name):
    values = _values(attributes, name)
    return values[0] if values else None


def _first_raw(raw, name):
    value = raw.get(name.lower())
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    return value if isinstance(value, (bytes, bytearray)) else None


def _text(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "replace")
    return value if isinstance(value, str) else str(value)


def _is_true(value):
    return (value or "").strip().lower() == "true"


def _number(value):
    try:
        return int((value or "").strip(), 0)
    except ValueError:
        return None


def _starts_with_any(value, prefixes):
    return bool(value) and value.lower().startswith(prefixes)


def _is_onmicrosoft(address):
    return ("." + address.rpartition("@")[2].strip().rstrip(".").lower()).endswith(RESERVED_DOMAIN_SUFFIX)


def _is_hybrid_routing(address):
    return ("." + address.rpartition("@")[2].strip().rstrip(".").lower()).endswith(HYBRID_ROUTING_SUFFIX)
