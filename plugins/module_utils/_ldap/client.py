# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""An LDAP connection to Active Directory on ldap3: TLS by default, readable failures.

* ``tls_mode``: ``ldaps`` (636, TLS from the first byte), ``starttls`` (389, upgraded before
  the bind) or ``none``, which must be asked for by name: AD refuses a simple bind without TLS
  unless "LDAP server signing requirements" was lowered, and the password would cross the
  network in clear text.
* Certificates are validated against the system store or ``ca_path`` unless
  ``validate_certs`` is false; ``check_hostname`` false checks the chain but not the name.
* Several servers fail over in order (an ldap3 server pool).
* ``auth: kerberos`` uses SASL GSSAPI (Python package ``gssapi``).  ldap3's NTLM is not offered:
  Samba refuses it, so it could not be tested.
* Referrals (result 10, "referral", RFC 4511 4.1.10) are followed only with ``referrals`` on,
  only to a host of ``servers`` or ``referral_hosts``, and never in clear text from a TLS
  connection: an ``ldap://`` referral from an LDAPS or StartTLS connection is opened with
  StartTLS and the same certificate checks.  This client follows them itself, not through
  ldap3's ``auto_referrals``: ldap3 sends the bind credentials to any host a referral names
  (``allowed_referral_hosts`` defaults to ``('*', True)``), opens an ``ldap://`` referral from
  an LDAPS connection without TLS, upgrades a StartTLS referral with a default ``Tls()`` that
  does not validate the certificate, and follows a referral's own referrals on a connection
  made with ``auto_referrals=True`` that no option of ours reaches.  Continuation references
  (``searchResRef``) in a subtree search are not followed: search a global catalog for the
  forest.

No Ansible imports: callers turn ``LdapError`` into a failed task.
"""

import os
import re
import ssl
from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import InputError, SyncfixError

try:
    import ldap3
    from ldap3.core import exceptions as ldap3_exceptions
    from ldap3.utils.dn import safe_rdn
    from ldap3.utils.uri import parse_uri
except ImportError:  # reported by the module base with the package name and install hint
    ldap3 = None

DEFAULT_PORTS = {"ldaps": 636, "starttls": 389, "none": 389}
# AD's default MaxPageSize ("View and set LDAP policy in Active Directory by using Ntdsutil.exe"):
# the largest page a DC with default policies returns, so each page is one full round trip, and
# one lookup chunk (ad_objects.LOOKUP_CHUNK identities) comes back in one page, not a full page
# and an empty one.
PAGE_SIZE = 1000
RESULT_NO_SUCH_ATTRIBUTE = 16
RESULT_ATTRIBUTE_OR_VALUE_EXISTS = 20
RESULT_INVALID_CREDENTIALS = 49
RESULT_STRONGER_AUTH_REQUIRED = 8
RESULT_REFERRAL = 10


class LdapError(SyncfixError):
    """A failed LDAP operation; the message names server, operation, what AD said and the fix."""

    kind = "ldap"

    def __init__(self, message, code=None):
        self.code = code
        super(LdapError, self).__init__(message)

    def details(self):
        return {"kind": self.kind, "message": str(self), "result": self.code}


class ReferralRefused(LdapError, InputError):
    """A referral this client will not follow; the message names it and the way out."""

    kind = "input"


def referral_endpoint(uri, tls_mode, allowed_hosts):
    """Where to follow the referral ``uri`` from a connection in ``tls_mode``: (host, port, mode,
    base DN or None), or a ReferralRefused naming the URI, why, and the fix.

    The host must be in ``allowed_hosts`` (compared case-insensitively); ``ldaps://`` stays
    LDAPS; ``ldap://`` is StartTLS unless the connection itself is plain LDAP (tls_mode none,
    asked for by name), so a referral never takes the bind from TLS to clear text.
    """
    parsed = parse_uri(uri) if isinstance(uri, str) else None
    if not parsed or not parsed.get("host"):
        return ReferralRefused("referral %r is not an ldap:// or ldaps:// URL with a host; it was not followed" % (uri,))
    host = parsed["host"]
    allowed = sorted(set(h.lower() for h in allowed_hosts))
    if host.lower() not in allowed:
        return ReferralRefused(
            "referral to %s not followed: %s is not one of the allowed hosts (%s); the bind credentials would go to "
            "it. Add it to referral_hosts if it is a domain controller you trust, or connect to that domain's DC "
            "(server) directly" % (uri, host, ", ".join(allowed)))
    mode = "ldaps" if parsed["ssl"] else ("none" if tls_mode == "none" else "starttls")
    return host, parsed.get("port") or DEFAULT_PORTS[mode], mode, parsed.get("base") or None


def parse_server(value, tls_mode, port):
    """``host``, ``host:port``, ``ldaps://host`` or ``ldap://host:389`` -> (host, port, tls_mode)."""
    mode = tls_mode
    rest = value.strip()
    if "://" in rest:
        scheme, rest = rest.split("://", 1)
        scheme = scheme.lower()
        if scheme == "ldaps":
            mode = "ldaps"
        elif scheme == "ldap":
            # ldap:// carries StartTLS unless plain LDAP was asked for by name.
            mode = "none" if tls_mode == "none" else "starttls"
        else:
            raise LdapError("server %r: unknown scheme %r; use ldaps://, ldap:// or a host name" % (value, scheme))
    rest = rest.rstrip("/")
    host, _sep, port_text = rest.partition(":") if rest.count(":") == 1 else (rest, "", "")
    if port_text:
        try:
            port = int(port_text)
        except ValueError:
            raise LdapError("server %r: port %r is not a number" % (value, port_text))
    if not host:
        raise LdapError("server %r: no host name" % value)
    return host, port or DEFAULT_PORTS[mode], mode


class DirectoryConnection:
    """One bound LDAP connection, opened by ``connect()``."""

    def __init__(self, servers, bind_dn=None, bind_password=None, tls_mode="ldaps", port=None,
                 validate_certs=True, ca_path=None, auth="simple", base_dn=None, connect_timeout=10,
                 receive_timeout=60, referrals=False, check_hostname=True, referral_hosts=()):
        if ldap3 is None:
            raise LdapError("the Python package ldap3 is needed: pip install 'ldap3>=2.9.1'")
        if tls_mode not in DEFAULT_PORTS:
            raise LdapError("tls_mode %r is not one of ldaps, starttls, none" % tls_mode)
        self.endpoints = [parse_server(s, tls_mode, port) for s in servers]
        self.bind_dn = bind_dn
        self.bind_password = bind_password
        self.validate_certs = validate_certs
        self.check_hostname = check_hostname
        self.ca_path = ca_path
        self.auth = auth
        self.base_dn = base_dn
        self.connect_timeout = connect_timeout
        self.receive_timeout = receive_timeout
        self.referrals = referrals
        # A referral may lead to a configured server or a host named in referral_hosts, no other.
        self.referral_hosts = tuple(host for host, _port, _mode in self.endpoints) + tuple(referral_hosts or ())
        self.tls_mode = tls_mode
        self._referred = {}
        self.connection = None
        self.server_used = None
        self.stats = {"searches": 0, "modifies": 0, "moves": 0}

    # -- connecting -----------------------------------------------------------------------

    def _tls(self):
        return ldap3.Tls(
            validate=ssl.CERT_REQUIRED if self.validate_certs else ssl.CERT_NONE,
            ca_certs_file=self.ca_path,
            version=ssl.PROTOCOL_TLS_CLIENT,
            # ldap3 accepts any name when '*' is among the valid names: the chain is still checked.
            valid_names=None if self.check_hostname else ["*"],
        )

    def connect(self):
        """Bind to the first server that answers; the error lists every server that failed."""
        if self.ca_path and not (os.path.isfile(self.ca_path) and os.access(self.ca_path, os.R_OK)):
            raise LdapError("ldap_ca_path %s is not a readable file; give the PEM file of the CA that issued the "
                            "domain controllers' certificates" % self.ca_path)
        failures = []
        for host, port, mode in self.endpoints:
            label = "%s://%s:%d" % ("ldaps" if mode == "ldaps" else "ldap", host, port)
            try:
                self.connection = self._bind(host, port, mode)
                self.server_used = label + (" (StartTLS)" if mode == "starttls" else "")
                break
            except LdapError as e:
                if e.code in (RESULT_INVALID_CREDENTIALS,):
                    # The same credentials fail on every server; trying them all locks the account faster.
                    raise LdapError("%s: %s" % (label, e), e.code)
                failures.append("%s: %s" % (label, e))
        else:
            raise LdapError("could not connect to any LDAP server: " + "; ".join(failures))
        if not self.base_dn:
            self.base_dn = self._default_naming_context()
        return self

    def _bind(self, host, port, mode):
        server = ldap3.Server(host, port=port, use_ssl=(mode == "ldaps"), tls=self._tls(),
                              get_info=ldap3.NONE, connect_timeout=self.connect_timeout)
        # auto_referrals stays off: referrals are followed by _referred_connection (module docstring).
        options = dict(receive_timeout=self.receive_timeout, raise_exceptions=False, read_only=False,
                       auto_referrals=False)
        if self.auth == "kerberos":
            options.update(authentication=ldap3.SASL, sasl_mechanism=ldap3.KERBEROS)
        else:
            options.update(user=self.bind_dn, password=self.bind_password, authentication=ldap3.SIMPLE)
        connection = ldap3.Connection(server, **options)
        try:
            connection.open()
            if mode == "starttls" and not connection.start_tls():
                raise LdapError("StartTLS was refused: %s" % _describe(connection.result))
            if not connection.bind():
                result = connection.result or {}
                code = result.get("result")
                if code == RESULT_INVALID_CREDENTIALS:
                    raise LdapError("bind as %s failed: invalid credentials (49); check bind_dn and bind_password "
                                    "(DN, user@domain or DOMAIN\\user forms are accepted)" % self.bind_dn, code)
                if code == RESULT_STRONGER_AUTH_REQUIRED:
                    raise LdapError("bind as %s failed: the server requires a stronger authentication (8); "
                                    "use tls_mode ldaps or starttls" % self.bind_dn, code)
                raise LdapError("bind as %s failed: %s" % (self.bind_dn, _describe(result)), code)
        except ldap3_exceptions.LDAPSocketOpenError as e:
            raise LdapError(_socket_problem(e))
        except ldap3_exceptions.LDAPStartTLSError as e:
            raise LdapError(_socket_problem(e))
        except ldap3_exceptions.LDAPException as e:
            raise LdapError("%s: %s" % (type(e).__name__, e))
        return connection

    def _default_naming_context(self):
        self.connection.search("", "(objectClass=*)", search_scope=ldap3.BASE, attributes=["defaultNamingContext"])
        entries = [e for e in self.connection.response or [] if e.get("type") == "searchResEntry"]
        value = entries[0]["attributes"].get("defaultNamingContext") if entries else None
        if not value:
            raise LdapError("base_dn was not given and the rootDSE of %s has no defaultNamingContext" % self.server_used)
        return value[0] if isinstance(value, list) else value

    def close(self):
        for referred in self._referred.values():
            referred.close()
        self._referred = {}
        if self.connection is not None:
            self.connection.unbind()
            self.connection = None

    def _referred_connection(self, result, step):
        """The connection (bound, cached) that a referral answer sends ``step`` to, and the base
        DN the referral names; LdapError when referrals are off, ReferralRefused when no URL of it
        may be followed.  A referred connection follows no referral of its own."""
        uris = result.get("referrals") or []
        if not self.referrals:
            raise LdapError("%s: the server answered with a referral to %s; referrals is false, so it was not followed. "
                            "Connect to a domain controller of that domain (server), or set referrals=true with the "
                            "host in referral_hosts" % (step, ", ".join(uris) or "(no URL)"), RESULT_REFERRAL)
        refusals = []
        for uri in uris:
            target = referral_endpoint(uri, self.tls_mode, self.referral_hosts)
            if isinstance(target, ReferralRefused):
                refusals.append(str(target))
                continue
            host, port, mode, base = target
            key = (host.lower(), port, mode)
            if key not in self._referred:
                referred = DirectoryConnection(
                    ["%s://%s:%d" % ("ldaps" if mode == "ldaps" else "ldap", host, port)], bind_dn=self.bind_dn,
                    bind_password=self.bind_password, tls_mode="none" if mode == "none" else self.tls_mode,
                    validate_certs=self.validate_certs, ca_path=self.ca_path, auth=self.auth,
                    base_dn=base or self.base_dn, connect_timeout=self.connect_timeout,
                    receive_timeout=self.receive_timeout, referrals=False, check_hostname=self.check_hostname)
                referred.stats = self.stats  # one set of counters for the task
                try:
                    self._referred[key] = referred.connect()
                except LdapError as e:
                    raise LdapError("%s: following the referral to %s failed: %s" % (step, uri, e), e.code)
            self.stats["referrals_followed"] = self.stats.get("referrals_followed", 0) + 1
            return self._referred[key], base
        raise ReferralRefused("%s: %s" % (step, "; ".join(refusals) or "the referral named no URL"))

    # -- reading and writing --------------------------------------------------------------

    def search(self, search_filter, attributes, base=None, scope="subtree", page_size=PAGE_SIZE):
        """Every entry matching, paged; each as ``{"dn", "attributes", "raw"}``."""
        scope_value = {"subtree": ldap3.SUBTREE, "base": ldap3.BASE, "level": ldap3.LEVEL}[scope]
        step = "search %s under %s on %s" % (search_filter, base or self.base_dn, self.server_used)
        cookie = None
        while True:
            self.stats["searches"] += 1
            try:
                ok = self.connection.search(base or self.base_dn, search_filter, search_scope=scope_value,
                                            attributes=attributes, paged_size=page_size, paged_cookie=cookie)
            except ldap3_exceptions.LDAPException as e:
                raise LdapError("%s failed: %s" % (step, _exception_text(e, self.receive_timeout)))
            result = self.connection.result or {}
            if result.get("result") == RESULT_REFERRAL:
                referred, referred_base = self._referred_connection(result, step)
                yield from referred.search(search_filter, attributes, base=referred_base or base or self.base_dn,
                                           scope=scope, page_size=page_size)
                return
            if not ok and result.get("result") not in (0, 32):  # 32 noSuchObject: nothing there
                raise LdapError("%s failed: %s" % (step, _describe(result)), result.get("result"))
            for entry in self.connection.response or []:
                if entry.get("type") == "searchResEntry":
                    yield {"dn": entry["dn"], "attributes": entry.get("attributes", {}),
                           "raw": entry.get("raw_attributes", {})}
            controls = result.get("controls") or {}
            cookie = controls.get("1.2.840.113556.1.4.319", {}).get("value", {}).get("cookie")
            if not cookie:
                return

    def modify(self, dn, changes):
        """Apply ``{attribute: [(operation, values), ...]}``; operation is delete, add or replace."""
        operations = {"delete": ldap3.MODIFY_DELETE, "add": ldap3.MODIFY_ADD, "replace": ldap3.MODIFY_REPLACE}
        payload = dict((attribute, [(operations[op], list(values)) for op, values in steps])
                       for attribute, steps in changes.items())
        return self._write("modifies", "modify of %s on %s" % (dn, self.server_used),
                           lambda: self.connection.modify(dn, payload), lambda referred: referred.modify(dn, changes))

    def move(self, dn, new_parent):
        """Move ``dn`` under ``new_parent``, keeping its RDN (LDAP modify DN)."""
        return self._write("moves", "move of %s to %s on %s" % (dn, new_parent, self.server_used),
                           lambda: self.connection.modify_dn(dn, safe_rdn(dn)[0], delete_old_dn=True,
                                                             new_superior=new_parent),
                           lambda referred: referred.move(dn, new_parent))

    def _write(self, counter, step, send, send_referred):
        """Send one write (``send()``: modify, modify DN), counted in ``stats[counter]``; a referral
        answer sends it on with ``send_referred(connection)`` to where it points (counted there)."""
        self.stats[counter] += 1
        try:
            ok = send()
        except ldap3_exceptions.LDAPException as e:
            # The write may or may not have been applied; the caller re-reads before retrying.
            raise LdapError("%s failed: %s" % (step, _exception_text(e, self.receive_timeout)))
        if not ok:
            result = self.connection.result or {}
            if result.get("result") == RESULT_REFERRAL:
                self.stats[counter] -= 1  # counted again where it is sent
                return send_referred(self._referred_connection(result, step)[0])
            raise LdapError("%s failed: %s" % (step, _describe(result)), result.get("result"))


def _exception_text(error, timeout):
    if isinstance(error, ldap3_exceptions.LDAPResponseTimeoutError):
        return "no answer within %s s; the server may be overloaded, or raise the timeout" % timeout
    if isinstance(error, ldap3_exceptions.LDAPSessionTerminatedByServerError):
        return "the server closed the connection (restarted, or an idle or size limit); run again"
    return "%s: %s" % (type(error).__name__, error)


def _describe(result):
    result = result or {}
    text = "%s (%s)" % (result.get("description") or "error", result.get("result"))
    if result.get("message"):
        text += ": %s" % result["message"].strip()
    return text


def _socket_problem(error):
    text = str(error)
    # ldap3 checks the name itself: "certificate {...} doesn't match any name in ['host']".
    names = re.search(r"doesn't match any name in (\[[^\]]*\])", text)
    if names or ("hostname" in text.lower() and "mismatch" in text.lower()):
        return ("the server's TLS certificate does not name this host (%s); connect by a name on its certificate "
                "(or add this one to it)" % (names.group(0) if names else _short(text)))
    if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text:
        return ("the server's TLS certificate is not trusted (%s); set ldap_ca_path (ca_path) to the CA that issued it, or fix the "
                "server certificate" % _short(text))
    return "cannot reach the server (%s); check the host, port and firewall" % _short(text)


def _short(text):
    return text if len(text) < 300 else text[:300] + "..."
