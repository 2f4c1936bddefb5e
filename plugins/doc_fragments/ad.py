# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # LDAP connection to Active Directory, shared by every AD module.
    DOCUMENTATION = r"""
options:
  server:
    description:
      - Domain controllers to connect to, tried in order until one answers. Each is a host
        name, C(host:port), or a URI (V(ldaps://dc1.contoso.com), or V(ldap://dc1.contoso.com)
        for StartTLS).
      - A URI's scheme overrides O(tls_mode) for that server.
      - If not set, the environment variable E(SYNCFIX_AD_SERVER) is used.
      - The alias C(server_uri) is community.general's LDAP modules' name.
    type: list
    elements: str
    required: true
    aliases: [server_uri]
  port:
    description:
      - Port for servers given without one. Left out, 636 for V(ldaps), 389 otherwise.
      - If not set, the environment variable E(SYNCFIX_AD_PORT) is used.
    type: int
  tls_mode:
    description:
      - V(ldaps) - TLS from the first byte (port 636).
      - V(start_tls) - connect on 389 and upgrade to TLS before binding (StartTLS). V(starttls)
        is accepted as the same.
      - V(none) - plain LDAP. The password crosses the network in clear text and AD refuses
        the simple bind unless its signing requirements were lowered; use it only for a lab.
      - If not set, the environment variable E(SYNCFIX_AD_TLS_MODE) is used.
    type: str
    choices: [ldaps, start_tls, starttls, none]
    default: ldaps
  ldap_validate_certs:
    description:
      - Validate the domain controller's TLS certificate (its chain and its name). Never turn
        this off in production. Left out, V(true), unless O(cert_validation) is set.
      - If not set, the environment variable E(SYNCFIX_AD_VALIDATE_CERTS) is used.
      - The alias C(validate_certs) is accepted by modules that talk to AD only; a module that
        also reads Entra accepts only this name.
      - Mutually exclusive with O(cert_validation).
    type: bool
    aliases: [validate_certs]
  cert_validation:
    description:
      - microsoft.ad's spelling of the same choice, with one more level.
      - V(always) validates the chain and the name, as O(ldap_validate_certs=true).
      - V(ignore_hostname) validates the chain against the trusted CAs but accepts any name in
        the certificate, for a domain controller reached by an address its certificate does
        not list.
      - V(ignore) checks nothing, as O(ldap_validate_certs=false).
      - Mutually exclusive with O(ldap_validate_certs).
    type: str
    choices: [always, ignore_hostname, ignore]
    aliases: [cert_verification]
  ldap_ca_path:
    description:
      - A PEM file of CA certificates to trust for the domain controller, instead of the
        system store.
      - If not set, the environment variable E(SYNCFIX_AD_CA_PATH) is used.
      - The alias C(ca_cert) (microsoft.ad's name) is accepted everywhere; the alias C(ca_path)
        only by modules that talk to AD only, since a module that also reads Entra has a
        C(graph_ca_path) too.
    type: path
    aliases: [ca_path, ca_cert]
  bind_dn:
    description:
      - The account to bind as - a distinguished name, V(user@contoso.com) or
        V(CONTOSO\\user).
      - Not used with O(ldap_auth=kerberos).
      - If not set, the environment variable E(SYNCFIX_AD_BIND_DN) is used.
      - The alias C(username) is microsoft.ad's name.
    type: str
    aliases: [username]
  bind_password:
    description:
      - Password of O(bind_dn).
      - If not set, the environment variable E(SYNCFIX_AD_BIND_PASSWORD) is used.
      - The aliases C(password) (microsoft.ad) and C(bind_pw) (community.general) are accepted.
    type: str
    aliases: [password, bind_pw]
  ldap_auth:
    description:
      - V(simple) binds with O(bind_dn) and O(bind_password) (over TLS).
      - V(kerberos) uses the controller's Kerberos ticket (SASL GSSAPI); needs the Python
        package C(gssapi) and the system's Kerberos libraries (see the collection's
        C(bindep.txt)). NTLM and Negotiate are not offered.
      - If not set, the environment variable E(SYNCFIX_AD_AUTH) is used.
      - The alias C(auth_protocol) is microsoft.ad's name; its other values are refused.
    type: str
    choices: [simple, kerberos]
    default: simple
    aliases: [auth_protocol]
  base_dn:
    description:
      - Where to search. Left out, the domain's default naming context from the rootDSE.
      - If not set, the environment variable E(SYNCFIX_AD_BASE_DN) is used.
    type: str
  referrals:
    description:
      - Follow a referral (LDAP result 10) that a domain controller answers for an object of
        another domain of the forest. Left off, such an object is an error naming the referral.
      - A referral is followed only to a host of O(server) or O(referral_hosts); any other host
        is refused before anything is sent to it, since the bind credentials would go there.
      - Never from TLS to clear text - an C(ldaps://) referral is opened with LDAPS, an
        C(ldap://) referral with StartTLS (unless O(tls_mode=none)), both with the same
        certificate checks as O(server). A referral's own referrals are not followed.
      - Continuation references in a subtree search (objects below O(base_dn) held by another
        domain) are not followed; search a global catalog (port 3269) for the whole forest.
      - If not set, the environment variable E(SYNCFIX_AD_REFERRALS) is used.
    type: bool
    default: false
  referral_hosts:
    description:
      - Domain controllers, besides those of O(server), that a referral may lead to when
        O(referrals=true), by host name as the referral names them (for example
        V(dc1.emea.contoso.com)). Compared without regard to case.
      - If not set, the environment variable E(SYNCFIX_AD_REFERRAL_HOSTS) is used
        (comma-separated).
    type: list
    elements: str
    default: []
  connect_timeout:
    description:
      - Seconds to wait for a server to accept the connection before trying the next.
      - If not set, the environment variable E(SYNCFIX_AD_CONNECT_TIMEOUT) is used.
    type: int
    default: 10
requirements:
  - python >= 3.8
  - ldap3 >= 2.9.1
  - gssapi (only for O(ldap_auth=kerberos))
notes:
  - "Modules run on the controller: use C(hosts: localhost) or C(delegate_to: localhost)."
  - Set the connection options once for all AD modules with C(module_defaults) and the group
    C(group/syncfix.entra.ad).
"""
