# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""proxyAddresses as values, and the planner that changes them safely.

Facts this module encodes (Exchange "Email address policies" / Entra "How to use soft match"):

* A value is ``PREFIX:address``.  The prefix names the address type (SMTP, X500, X400, SIP,
  EUM, ...); an *uppercase* prefix marks the primary address of that type, so ``SMTP:`` is
  the primary SMTP address, the one Entra Connect soft-matches on, and ``smtp:`` a secondary.
* Two values name the same address when type and address agree ignoring case
  (``SMTP:Ann@Contoso.com`` and ``smtp:ann@contoso.com``); Entra compares addresses
  case-insensitively tenant-wide.  But the case of the prefix is a real difference: turning
  ``smtp:`` into ``SMTP:`` promotes the address, and it must be written to AD.
* A mail-enabled object (one with any SMTP address) has exactly one primary SMTP address.
* What is written is spelled as the request spells it: ``primary: vp@contoso.com`` on an
  object holding ``smtp:VP@contoso.com`` writes ``SMTP:vp@contoso.com`` (and ``mail``
  ``vp@contoso.com``); run again, it is no change.
* Only values that are written are checked: a value that fails the IdFix rules or an
  ``*.onmicrosoft.com`` address can always be removed (removing it is the fix), never added.

Writing: AD refuses to ADD a value it already holds and to DELETE one it lacks, and applies
a DELETE+ADD in one modify atomically, so the planner returns the exact values to delete and
to add; a primary swap is one such pair.  Pure code: no I/O.
"""

from ansible_collections.syncfix.entra.plugins.module_utils._rules import idfix as idfix_rules
from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import InputError

SMTP = "SMTP"
STATES = ("present", "absent", "exact")
# Domains Microsoft reserves for the tenant itself (the initial domain, the MOERA
# mailNickname@<tenant>.onmicrosoft.com, the mail.onmicrosoft.com routing domain).
RESERVED_DOMAIN_SUFFIX = ".onmicrosoft.com"


class ProxyAddressError(InputError):
    """Input or a requested change that would break a proxyAddresses rule; says which value."""


class ProxyAddress:
    """One proxyAddresses value.  ``==`` compares the exact text; ``key`` is its identity."""

    __slots__ = ("prefix", "address")

    def __init__(self, prefix, address):
        self.prefix = prefix
        self.address = address

    @classmethod
    def parse(cls, value):
        """``PREFIX:address``; a bare address is refused because its primary flag is unknown."""
        if isinstance(value, ProxyAddress):
            return value
        if not isinstance(value, str) or ":" not in value:
            raise ProxyAddressError(
                "%r is not a proxy address: expected PREFIX:address such as "
                "'SMTP:ann@contoso.com' (primary) or 'smtp:ann@contoso.com' (secondary)" % (value,)
            )
        prefix, address = value.split(":", 1)
        if not prefix or not prefix.isalnum():
            raise ProxyAddressError(
                "%r is not a proxy address: the prefix before ':' must be an address type "
                "such as SMTP, smtp, X500, SIP or EUM" % (value,)
            )
        return cls(prefix, address)

    @classmethod
    def smtp(cls, address, primary=False):
        """An SMTP value from a bare address; a prefixed one keeps its address part."""
        if isinstance(address, ProxyAddress) or (isinstance(address, str) and ":" in address):
            parsed = cls.parse(address)
            if not parsed.is_smtp:
                raise ProxyAddressError(
                    "%r is not an SMTP address; only an SMTP address can be the primary "
                    "email address" % (address,)
                )
            address = parsed.address
        return cls(SMTP if primary else SMTP.lower(), address)

    @property
    def type(self):
        return self.prefix.upper()

    @property
    def is_smtp(self):
        return self.type == SMTP

    @property
    def is_primary(self):
        # Only SMTP primaries matter to Entra; the primary of other types is left as written.
        return self.prefix == SMTP

    @property
    def key(self):
        return (self.type, self.address.lower())

    @property
    def value(self):
        return "%s:%s" % (self.prefix, self.address)

    def as_primary(self):
        return ProxyAddress(SMTP, self.address) if self.is_smtp else self

    def as_secondary(self):
        return ProxyAddress(SMTP.lower(), self.address) if self.is_smtp else self

    def findings(self):
        """IdFix findings for this value, as ``_rules.idfix.Finding`` tuples."""
        return idfix_rules.proxy_address_findings(self.prefix, self.address)

    def __eq__(self, other):
        return isinstance(other, ProxyAddress) and self.value == other.value

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self.value)

    def __repr__(self):
        return "ProxyAddress(%r)" % self.value

    def __str__(self):
        return self.value


# Reading directory data, where a value is as AD or Graph holds it (never refused here, unlike
# ProxyAddress.parse for what a user asks to write): the one place a "smtp:" prefix is taken apart.
def smtp_address(value):
    """The address of an SMTP proxy address (``SMTP:``/``smtp:``, any case), else None."""
    if not value or len(value) < 5 or value[:5].lower() != "smtp:":
        return None
    return value[5:]


def smtp_addresses(values):
    """The addresses of the SMTP proxy addresses among ``values``, in their order."""
    return [address for address in (smtp_address(v) for v in values or ()) if address]


def primary_smtp(values):
    """The primary SMTP address (the ``SMTP:`` one, upper case: "Add or remove email addresses
    for a mailbox"), else None."""
    return next((v[5:] for v in values or () if v.startswith("SMTP:")), None)


def sorted_values(values):
    """The stable order used in diffs and results: by address, then exact text."""
    return sorted(values, key=lambda v: (v.lower(), v))


class ProxyAddressSet:
    """An ordered collection of proxy addresses, as read from (or to be written to) AD."""

    def __init__(self, values=()):
        self._items = [ProxyAddress.parse(v) for v in values]

    def __iter__(self):
        return iter(self._items)

    def __len__(self):
        return len(self._items)

    @property
    def values(self):
        return [item.value for item in self._items]

    @property
    def primaries(self):
        return [item for item in self._items if item.is_primary]

    @property
    def primary(self):
        """The primary SMTP address, or None (none, or several: see ``primary_problem``)."""
        primaries = self.primaries
        return primaries[0] if len(primaries) == 1 else None

    @property
    def is_mail_enabled(self):
        return any(item.is_smtp for item in self._items)

    def find(self, address):
        wanted = ProxyAddress.parse(address).key
        return next((item for item in self._items if item.key == wanted), None)

    def primary_problem(self):
        """Why this set breaks the one-primary rule, or None when it keeps it."""
        primaries = self.primaries
        if len(primaries) > 1:
            return "has %d primary SMTP addresses (%s); exactly one may be SMTP:" % (
                len(primaries), ", ".join(sorted_values(p.value for p in primaries)))
        if not primaries and self.is_mail_enabled:
            return "has SMTP addresses but no primary (SMTP:) one"
        return None

    def findings(self):
        """IdFix findings per value, duplicates included: ``{value: [Finding, ...]}``."""
        result = dict((item.value, list(item.findings())) for item in self._items)
        duplicates = idfix_rules.duplicate_findings([item.key for item in self._items])
        for item in self._items:
            if item.key in duplicates:
                result[item.value].append(duplicates[item.key])
        return dict((value, found) for value, found in result.items() if found)

    # -- operations: each returns a new set --------------------------------------------

    def with_present(self, addresses):
        """Ensure each address is present exactly as written; a new SMTP: demotes the old."""
        wanted = _distinct(addresses)
        items = list(self._items)
        for address in wanted:
            position = _position(items, address.key)
            if position is None:
                items.append(address)
            else:
                items[position] = address
        promoted = [a for a in wanted if a.is_primary]
        if promoted:
            items = _demote_all_but(items, promoted[0].key)
        return ProxyAddressSet(items)

    def without(self, addresses):
        """Remove each address, whatever the case of its prefix or address."""
        keys = set(a.key for a in _distinct(addresses))
        return ProxyAddressSet([item for item in self._items if item.key not in keys])

    def exactly(self, addresses):
        """Exactly these addresses; values already held keep their position."""
        wanted = _distinct(addresses)
        wanted_by_key = dict((a.key, a) for a in wanted)
        kept = [wanted_by_key.pop(item.key) for item in self._items if item.key in wanted_by_key]
        added = [a for a in wanted if a.key in wanted_by_key]
        return ProxyAddressSet(kept + added)

    def with_primary(self, address):
        """Make ``address`` (bare or prefixed SMTP) the primary, spelled as given; the old
        primary becomes smtp:.  A held address written in another case is rewritten, so the
        primary (and ``mail``) is what the admin asked for, and asking again is no change."""
        return self.with_present([ProxyAddress.smtp(address, primary=True)])

    def change_to(self, desired):
        """The minimal LDAP change from this set to ``desired``."""
        current, target = self.values, desired.values
        return ProxyAddressChange(
            delete=[v for v in current if v not in target],
            add=[v for v in target if v not in current],
        )


class ProxyAddressChange:
    """Exact values to delete and to add, sent together in one atomic modify."""

    __slots__ = ("delete", "add")

    def __init__(self, delete, add):
        self.delete = list(delete)
        self.add = list(add)

    def __bool__(self):
        return bool(self.delete or self.add)

    def operations(self):
        """``[('delete', values), ('add', values)]`` without empty steps; delete goes first."""
        return [(op, sorted_values(values)) for op, values in (("delete", self.delete), ("add", self.add)) if values]

    def to_dict(self):
        return {"delete": sorted_values(self.delete), "add": sorted_values(self.add)}


class ProxyAddressPlan:
    """What a request does to one object's proxyAddresses: before, after, change, primary."""

    def __init__(self, before, after):
        self.before = before
        self.after = after
        self.change = before.change_to(after)

    @property
    def changed(self):
        return bool(self.change)

    @property
    def primary_address(self):
        """The bare primary SMTP address after the change (what ``mail`` should hold), or None."""
        primary = self.after.primary
        return primary.address if primary else None


def plan_proxy_addresses(current, addresses=(), state="present", primary=None, allow_primary_removal=False):
    """Plan the change of one object's proxyAddresses, or raise ProxyAddressError saying why not.

    ``state``: ``present`` adds or rewrites the given values, ``absent`` removes them,
    ``exact`` makes the attribute hold exactly them.  ``primary`` then makes that address
    the primary SMTP.  Every given value is validated (IdFix rules) first, and the result must
    keep exactly one primary SMTP address on a mail-enabled object.  Removing the current
    primary address altogether needs ``allow_primary_removal``.
    """
    if state not in STATES:
        raise ProxyAddressError("state %r is not one of %s" % (state, ", ".join(STATES)))
    before = current if isinstance(current, ProxyAddressSet) else ProxyAddressSet(current)
    requested = _distinct(addresses)
    new_primary = ProxyAddress.smtp(primary, primary=True) if primary else None
    # Only what is written is checked: removing a bad or reserved value is the fix.
    written = ([] if state == "absent" else requested) + ([new_primary] if new_primary else [])
    _refuse_invalid(written)
    _refuse_reserved([a for a in written if a is new_primary or before.find(a) is None])
    if state != "absent" and len([a for a in requested if a.is_primary]) > 1:
        raise ProxyAddressError(
            "two primaries requested: %s; only one address may be SMTP:, write the others as smtp:"
            % ", ".join(sorted_values(a.value for a in requested if a.is_primary))
        )
    if state == "absent" and new_primary and new_primary.key in set(a.key for a in requested):
        raise ProxyAddressError("%s cannot be both removed and made primary" % new_primary.address)

    if state == "present":
        after = before.with_present(requested)
    elif state == "absent":
        after = before.without(requested)
    else:
        after = before.exactly(requested)
    if new_primary:
        after = after.with_primary(new_primary)

    old_primary = before.primary
    if old_primary and after.find(old_primary) is None and not allow_primary_removal:
        raise ProxyAddressError(
            "this would remove the primary SMTP address %s; set allow_primary_removal: true "
            "to remove it (the object's mail then changes), or keep it as smtp: and name a new "
            "primary" % old_primary.value
        )
    problem = after.primary_problem()
    if problem and after.values != before.values:
        raise ProxyAddressError(
            "the result %s; name the primary address with the primary option, or list exactly "
            "one SMTP: value (result would be: %s)" % (problem, ", ".join(sorted_values(after.values)))
        )
    return ProxyAddressPlan(before, after)


def _distinct(addresses):
    """Parse the given addresses and refuse the same address listed twice."""
    parsed = [ProxyAddress.parse(a) for a in addresses]
    seen = {}
    for address in parsed:
        if address.key in seen:
            raise ProxyAddressError(
                "%s and %s are the same address listed twice (addresses compare ignoring case); "
                "keep one" % (seen[address.key].value, address.value)
            )
        seen[address.key] = address
    return parsed


def _refuse_invalid(addresses):
    problems = ["%s %s [%s]" % (a.value, f.message, f.flag) for a in addresses for f in a.findings()]
    if problems:
        raise ProxyAddressError("invalid proxy address: %s; to remove such a value from AD, use state: absent"
                                % "; ".join(problems))


def reserved_domain_refusal(address):
    """Why an SMTP address in a ``*.onmicrosoft.com`` domain must not be added on-premises, or None.

    Microsoft Learn, "How the proxyAddresses attribute is populated in Microsoft Entra ID"
    (troubleshoot/entra/entra-id/user-prov-sync/proxyaddresses-attribute-populate): Entra's
    proxy calculation discards on-premises addresses with a reserved domain suffix
    (``@*.onmicrosoft.com``) and adds the MOERA itself, so such a value never reaches the
    cloud and can't soft-match anything.
    """
    domain = "." + address.address.rpartition("@")[2].strip().rstrip(".").lower()
    if not address.is_smtp or not domain.endswith(RESERVED_DOMAIN_SUFFIX):
        return None
    return ("%s is in an onmicrosoft.com domain: Entra manages those addresses itself and its sync discards "
            "them from on-premises proxyAddresses (Microsoft Learn, \"How the proxyAddresses attribute is "
            "populated in Microsoft Entra ID\"), so writing it changes nothing in the cloud. Add an address in "
            "a verified domain instead; removing this one (state: absent) is allowed" % address.value)


def _refuse_reserved(addresses):
    reasons = [reason for reason in (reserved_domain_refusal(a) for a in addresses) if reason]
    if reasons:
        raise ProxyAddressError("; ".join(reasons))


def _position(items, key):
    return next((i for i, item in enumerate(items) if item.key == key), None)


def _demote_all_but(items, key):
    return [item if item.key == key or not item.is_primary else item.as_secondary() for item in items]


# -- one object's request and plan (what ad_proxy_addresses sends in one modify) ---------


class Request:
    """One object's request: its identity as given, the addresses, the state and the primary."""

    def __init__(self, identity, addresses, state, primary):
        self.identity = identity
        self.addresses = addresses
        self.state = state
        self.primary = primary


def parse_requests(entries, default_state):
    """A ``Request`` per item; InputError naming every item that can't be used, before any read."""
    requests, problems, seen = [], [], set()
    for entry in entries:
        identity = (entry.get("object") or "").strip()
        if not identity:
            problems.append("an item has no object")
            continue
        if identity.lower() in seen:
            problems.append("%s: listed twice" % identity)
        seen.add(identity.lower())
        try:
            addresses = [ProxyAddress.parse(a).value for a in entry.get("addresses") or []]
        except ProxyAddressError as e:
            problems.append("%s: %s" % (identity, e))
            continue
        requests.append(Request(identity, addresses, entry.get("state") or default_state, entry.get("primary")))
    if problems:
        raise InputError("invalid input, nothing was changed: " + "; ".join(problems))
    return requests


def entry_state(entry):
    """An AD entry's ``proxyAddresses`` (sorted) and ``mail``, as results and diffs show them."""
    attributes = entry["attributes"]
    return {"proxyAddresses": sorted_values(attributes.get("proxyAddresses") or []),
            "mail": _single(attributes.get("mail"))}


class ObjectPlan:
    """The proxyAddresses plan of one AD entry plus the mail value to write, if any.

    ``options`` holds ``allow_primary_removal`` and ``update_mail``.  Raises ProxyAddressError
    when the request would break a rule of ``plan_proxy_addresses``.
    """

    def __init__(self, request, entry, options):
        self.entry = entry
        current = entry["attributes"].get("proxyAddresses") or []
        self.mail_before = _single(entry["attributes"].get("mail"))
        self.proxy = plan_proxy_addresses(current, request.addresses, state=request.state, primary=request.primary,
                                          allow_primary_removal=options["allow_primary_removal"])
        primary = self.proxy.primary_address
        # With no primary left (every SMTP address removed) mail is left as it is, not cleared.
        self.mail_after = primary if options["update_mail"] and primary else self.mail_before

    @property
    def dn(self):
        return self.entry["dn"]

    @property
    def changed(self):
        return self.proxy.changed or self.mail_after != self.mail_before

    @property
    def removed_other_types(self):
        """Non-SMTP values (X500:, SIP:, ...) the change removes: ``exact`` drops whatever it is
        not given, and these are easy to lose without noticing (X500 keeps old mail replies working)."""
        return sorted_values(v for v in self.proxy.change.delete if not v.lower().startswith("smtp:")
                             and v not in self.proxy.change.add)

    @property
    def action(self):
        """The write, as a result's ``msg`` names it."""
        mail = self.mail_after != self.mail_before
        if self.proxy.changed:
            text = "modify proxyAddresses and mail" if mail else "modify proxyAddresses"
            if self.removed_other_types:
                text += " (removes non-SMTP addresses %s)" % ", ".join(self.removed_other_types)
            return text
        return "set mail"

    def changes(self):
        """The LDAP modify: proxyAddresses delete/add steps and the mail replace, as needed."""
        changes = {}
        operations = self.proxy.change.operations()
        if operations:
            changes["proxyAddresses"] = operations
        if self.mail_after != self.mail_before:
            changes["mail"] = [("replace", [self.mail_after] if self.mail_after else [])]
        return changes

    def modification(self):
        """What the results show of the modify: the values deleted and added, and the new mail."""
        return dict(self.proxy.change.to_dict(), mail=self.mail_after)

    def new_smtp_values(self):
        """SMTP values this plan adds that the object does not hold in any case: the ones another
        object could already hold (a case rewrite of an address it holds is not new)."""
        return [value for value in self.proxy.change.add
                if ProxyAddress.parse(value).is_smtp and not self.proxy.before.find(value)]

    def state(self, after):
        return {"proxyAddresses": sorted_values((self.proxy.after if after else self.proxy.before).values),
                "mail": self.mail_after if after else self.mail_before}


def _single(value):
    if isinstance(value, list):
        return value[0] if value else None
    return value or None
