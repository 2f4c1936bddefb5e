# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The links the sync-conflict scan proposes, and how sure it is of each.  Internal to this
collection: not a public API.  Pure code: no I/O.

Linking an AD user to a cloud user hands the AD side that identity (its mailbox, groups, app
access and roles), so a scan never decides it: it proposes, with its evidence, and a person
confirms (``proposal.confirmed``).  What counts, compared without case and surrounding spaces:

- ``primary SMTP``: the AD user's primary ``SMTP:`` address (its ``mail`` when it has no SMTP
  proxy address) equals the cloud user's primary ``SMTP:`` address (its ``mail`` when it has
  none).  This is what soft match compares ("How to use SMTP matching", KB 2641663).
- ``UPN``: the two ``userPrincipalName`` values are equal (what ``softMatchOnUpnEnabled`` matches).
- ``account name``: the AD user's mailNickname or sAMAccountName equals the cloud user's
  ``mailNickname`` or ``onPremisesSamAccountName``.
- ``display name``: the two ``displayName`` values are equal.

Confidence:

- ``high``: primary SMTP, and at least one other of UPN, account name or display name.
- ``medium``: primary SMTP alone, or UPN (with or without account name or display name) without primary SMTP.
- ``low``: neither, but one side's primary SMTP address is the other side's UPN.
- no proposal: anything else.  A secondary ``smtp:`` address (on either side) is never evidence:
  soft match ignores it ("When you have an existing tenant": only the SMTP: value is
  evaluated) and an alias is often left on a mailbox that changed hands.  A soft-deleted cloud
  user is never proposed at all (the scan says how to restore it on purpose): resurrecting it
  would hand its groups, app assignments and licences to whoever the AD user is now.

Every proposal says ``confirmed: false``; the evidence lists every attribute that agrees, and a
secondary address they share as not counted.
"""

import collections

from ansible_collections.syncfix.entra.plugins.module_utils._rules.proxy_address import primary_smtp, smtp_address

HIGH, MEDIUM, LOW = "high", "medium", "low"
CONFIDENCES = (HIGH, MEDIUM, LOW)

# The AD user as the proposal rule reads it: lower-cased, stripped, None when unset.
AdIdentity = collections.namedtuple("AdIdentity", ["primary", "upn", "nickname", "sam", "display", "addresses"])
# The cloud user likewise; ``addresses`` every SMTP address it holds (proxies and mail).
CloudIdentity = collections.namedtuple("CloudIdentity", ["id", "primary", "upn", "nickname", "sam", "display",
                                                         "addresses"])


def _key(value):
    if not isinstance(value, str):
        return None
    value = " ".join(value.split()).lower()
    return value or None


def _bare(proxy):
    return _key(smtp_address(proxy))


def ad_identity(primary=None, upn=None, nickname=None, sam=None, display=None, addresses=()):
    """An ``AdIdentity``; ``addresses`` every SMTP address the AD user brings (aliases included)."""
    return AdIdentity(_key(primary), _key(upn), _key(nickname), _key(sam), _key(display),
                      frozenset(a for a in (_key(x) for x in addresses or ()) if a))


def cloud_identity(user):
    """A cloud user (a Graph user dict) as a ``CloudIdentity``."""
    proxies = [p for p in user.get("proxyAddresses") or [] if isinstance(p, str)]
    primary = _key(primary_smtp(proxies))
    if primary is None:
        primary = _key(user.get("mail"))
    addresses = set(a for a in (_bare(p) for p in proxies) if a)
    if _key(user.get("mail")):
        addresses.add(_key(user.get("mail")))
    return CloudIdentity(user.get("id"), primary, _key(user.get("userPrincipalName")), _key(user.get("mailNickname")),
                         _key(user.get("onPremisesSamAccountName")), _key(user.get("displayName")),
                         frozenset(addresses))


def shared_addresses(ad, cloud):
    """Every address (UPN or SMTP) both hold, sorted."""
    mine = ad.addresses | set(a for a in (ad.primary, ad.upn) if a)
    theirs = cloud.addresses | set(a for a in (cloud.primary, cloud.upn) if a)
    return sorted(mine & theirs)


def evidence_and_confidence(ad, cloud):
    """``(confidence or None, [evidence sentence])`` for AD user ``ad`` (``AdIdentity``) and
    active cloud user ``cloud`` (``CloudIdentity``), by the rule in this module's docstring."""
    evidence = []
    primary = bool(ad.primary and ad.primary == cloud.primary)
    if primary:
        evidence.append("primary SMTP address %s is the cloud user's primary SMTP address" % ad.primary)
    upn = bool(ad.upn and ad.upn == cloud.upn)
    if upn:
        evidence.append("userPrincipalName %s is the cloud user's userPrincipalName" % ad.upn)
    account = False
    for ad_name, ad_value in (("mailNickname", ad.nickname), ("sAMAccountName", ad.sam)):
        for cloud_name, cloud_value in (("mailNickname", cloud.nickname), ("onPremisesSamAccountName", cloud.sam)):
            if ad_value and ad_value == cloud_value:
                account = True
                evidence.append("%s %s is the cloud user's %s" % (ad_name, ad_value, cloud_name))
    display = bool(ad.display and ad.display == cloud.display)
    if display:
        evidence.append("displayName %r is the cloud user's displayName" % ad.display)
    crossed = set()
    if not primary and not upn:
        if ad.primary and ad.primary == cloud.upn:
            crossed.add(ad.primary)
            evidence.append("primary SMTP address %s is the cloud user's userPrincipalName" % ad.primary)
        if ad.upn and ad.upn == cloud.primary:
            crossed.add(ad.upn)
            evidence.append("userPrincipalName %s is the cloud user's primary SMTP address" % ad.upn)
    counted = crossed | set(a for a, agree in ((ad.primary, primary), (ad.upn, upn)) if agree)
    for address in shared_addresses(ad, cloud):
        if address not in counted:
            evidence.append("%s is a secondary (smtp:) address on one side: not counted, soft match ignores it"
                            % address)
    if primary and (upn or account or display):
        return HIGH, evidence
    if primary or upn:
        return MEDIUM, evidence
    if crossed:
        return LOW, evidence
    return None, evidence


def proposed_link(ad_object, ad, cloud):
    """The ``remediation_links`` entry proposing AD object ``ad_object`` (its DN) for the active
    cloud user ``cloud`` (``CloudIdentity``), or None when the evidence does not carry one."""
    confidence, evidence = evidence_and_confidence(ad, cloud)
    if confidence is None or not ad_object or not cloud.id:
        return None
    return {"ad": ad_object, "cloud": cloud.id,
            "proposal": {"confidence": confidence, "evidence": evidence, "confirmed": False}}


def no_proposal_reason(ad, cloud):
    """Why no link is proposed between them, for the finding's message."""
    shared = shared_addresses(ad, cloud)
    if shared:
        return ("they share only %s, a secondary (smtp:) address on one side, which soft match ignores and which "
                "is no evidence that they are one person" % ", ".join(shared))
    return "neither the primary SMTP address nor the UPN of the two agree"
