"""Directory content the base Samba schema lacks: Exchange-style attributes and UPN suffixes.

Samba's base schema has ``proxyAddresses`` and ``mail`` but not ``mailNickname`` or
``targetAddress`` (LAB-NOTES). On a real forest they arrive with the Exchange schema
extension; here they are added as attributeSchema entries under a customer-extension OID arc
and made optional (``mayContain``) on the auxiliary class ``Mail-Recipient``, which ``user``,
``contact`` and ``group`` already include. The work is done offline with ``ldbadd`` /
``ldbmodify`` on ``private/sam.ldb`` while Samba is stopped, with
``dsdb:schema update allowed = true`` (Samba refuses schema writes otherwise).
"""

from __future__ import annotations

import dataclasses
import subprocess

from .settings import DcPaths, DcSettings

# Microsoft's documented base for customer-generated OIDs ("Obtaining an Object Identifier
# from Microsoft": 1.2.840.113556.1.8000.2554 followed by parts of a GUID). This arc is the
# lab's own, fixed so that every provisioned DC carries the same attributeIDs.
CUSTOMER_ARC = "1.2.840.113556.1.8000.2554.47185.20740.18006.41271.52398.10915837.8722173"


@dataclasses.dataclass(frozen=True)
class ExtensionAttribute:
    """One attributeSchema entry. Sizes follow the Exchange schema (mailNickname 64 per IdFix)."""

    cn: str
    ldap_display_name: str
    oid_suffix: int
    range_upper: int
    description: str
    indexed: bool = False


EXCHANGE_ATTRIBUTES = (
    ExtensionAttribute(
        cn="ms-Exch-Mail-Nickname", ldap_display_name="mailNickname", oid_suffix=1,
        range_upper=64, description="Exchange alias (lab copy of the Exchange schema attribute)",
        indexed=True,
    ),
    ExtensionAttribute(
        cn="ms-Exch-Target-Address", ldap_display_name="targetAddress", oid_suffix=2,
        range_upper=1123, description="Forwarding address of a mail user or contact (lab copy)",
    ),
)

MAY_CONTAIN_CLASS = "CN=Mail-Recipient"


def _schema_dn(settings: DcSettings) -> str:
    return "CN=Schema,CN=Configuration,%s" % settings.base_dn


def attribute_ldif(settings: DcSettings) -> str:
    blocks = []
    for attribute in EXCHANGE_ATTRIBUTES:
        blocks.append("\n".join([
            "dn: CN=%s,%s" % (attribute.cn, _schema_dn(settings)),
            "objectClass: top",
            "objectClass: attributeSchema",
            "cn: %s" % attribute.cn,
            "attributeID: %s.%d" % (CUSTOMER_ARC, attribute.oid_suffix),
            "lDAPDisplayName: %s" % attribute.ldap_display_name,
            "adminDisplayName: %s" % attribute.cn,
            "adminDescription: %s" % attribute.description,
            # Unicode string, single-valued, as in the Exchange schema.
            "attributeSyntax: 2.5.5.12",
            "oMSyntax: 64",
            "isSingleValued: TRUE",
            "rangeLower: 1",
            "rangeUpper: %d" % attribute.range_upper,
            "searchFlags: %d" % (1 if attribute.indexed else 0),
            "systemOnly: FALSE",
            "showInAdvancedViewOnly: TRUE",
        ]))
    return "\n\n".join(blocks) + "\n"


def may_contain_ldif(settings: DcSettings) -> str:
    lines = [
        "dn: %s,%s" % (MAY_CONTAIN_CLASS, _schema_dn(settings)),
        "changetype: modify",
        "add: mayContain",
    ]
    lines += ["mayContain: %s" % attribute.ldap_display_name for attribute in EXCHANGE_ATTRIBUTES]
    return "\n".join(lines) + "\n"


# Reload the schema inside the same offline session, so the class change can name the new
# attributes ("schemaUpdateNow" on the rootDSE, as after any schema extension).
SCHEMA_UPDATE_NOW_LDIF = "dn:\nchangetype: modify\nadd: schemaUpdateNow\nschemaUpdateNow: 1\n"


def upn_suffix_ldif(settings: DcSettings) -> str:
    """Alternative UPN suffixes live in ``uPNSuffixes`` on the Partitions container."""
    lines = [
        "dn: CN=Partitions,CN=Configuration,%s" % settings.base_dn,
        "changetype: modify",
        "add: uPNSuffixes",
    ]
    lines += ["uPNSuffixes: %s" % suffix for suffix in settings.upn_suffixes]
    return "\n".join(lines) + "\n"


def _ldb(tool: str, paths: DcPaths, ldif: str) -> None:
    command = [
        tool, "-H", str(paths.sam_ldb),
        "--configfile=%s" % paths.smb_conf,
        "--option=dsdb:schema update allowed = true",
    ]
    result = subprocess.run(command, input=ldif, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(
            "%s on %s failed (exit %d): %s\nLDIF:\n%s"
            % (tool, paths.sam_ldb, result.returncode, (result.stderr or result.stdout).strip(), ldif)
        )


def extend(settings: DcSettings, paths: DcPaths) -> None:
    """Add the Exchange-style attributes and the UPN suffixes. Samba must be stopped."""
    _ldb("ldbadd", paths, attribute_ldif(settings))
    _ldb("ldbmodify", paths, SCHEMA_UPDATE_NOW_LDIF)
    _ldb("ldbmodify", paths, may_contain_ldif(settings))
    if settings.upn_suffixes:
        _ldb("ldbmodify", paths, upn_suffix_ldif(settings))
