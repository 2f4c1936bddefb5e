# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment:
    # Microsoft Graph connection and authentication, shared by every Entra module.
    DOCUMENTATION = r"""
options:
  auth_method:
    description:
      - How to get the Microsoft Graph token. All methods use the azure-identity library.
      - V(auto) uses the first that the given options (or their environment variables) make
        possible, in this order - O(access_token), O(client_secret), O(client_certificate_path),
        O(federated_token_file). V(managed_identity) and V(azure_cli) are used only when named.
      - No Azure subscription is needed by any method.
    type: str
    default: auto
    choices: [auto, access_token, client_secret, certificate, federated_token, managed_identity, azure_cli]
  tenant_id:
    description:
      - The Entra tenant (directory) id or its initial domain.
      - If not set, the environment variable E(AZURE_TENANT_ID) is used, then E(AZURE_TENANT)
        (set by AWX's Azure credential and read by azure.azcollection).
      - The alias C(tenant) is azure.azcollection's name.
    type: str
    aliases: [tenant]
  client_id:
    description:
      - The application (client) id of the app registration that has the Graph application permissions.
      - If not set, the environment variable E(AZURE_CLIENT_ID) is used.
    type: str
  client_secret:
    description:
      - A client secret of the app registration.
      - If not set, the environment variable E(AZURE_CLIENT_SECRET) is used, then
        E(AZURE_SECRET) (AWX's Azure credential, azure.azcollection).
      - The alias C(secret) is azure.azcollection's name.
    type: str
    aliases: [secret]
  client_certificate_path:
    description:
      - Path to a PEM or PKCS12 file with the app's certificate and private key.
      - If not set, the environment variable E(AZURE_CLIENT_CERTIFICATE_PATH) is used.
      - The alias C(x509_certificate_path) is azure.azcollection's name.
    type: path
    aliases: [x509_certificate_path]
  client_certificate_password:
    description:
      - Password of O(client_certificate_path), when it has one.
      - If not set, the environment variable E(AZURE_CLIENT_CERTIFICATE_PASSWORD) is used.
    type: str
  federated_token_file:
    description:
      - Path to a federated token (workload identity federation, for example from a CI system
        or AWX), exchanged for a Graph token.
      - If not set, the environment variable E(AZURE_FEDERATED_TOKEN_FILE) is used.
    type: path
  managed_identity_client_id:
    description:
      - With O(auth_method=managed_identity), the client id of a user-assigned identity.
        Left out, the system-assigned identity is used.
    type: str
  access_token:
    description:
      - A Graph access token acquired elsewhere. It is sent as it is; it must be valid for
        the whole run.
    type: str
  graph_endpoint:
    description:
      - The Microsoft Graph endpoint, without the version. Set it for national clouds
        (V(https://graph.microsoft.us), V(https://microsoftgraph.chinacloudapi.cn)) or a lab.
      - The token is requested for V(<graph_endpoint>/.default).
      - If not set, the environment variable E(SYNCFIX_GRAPH_ENDPOINT) is used.
    type: str
    default: https://graph.microsoft.com
  authority_host:
    description:
      - The Entra sign-in authority. Any other value than the public cloud's turns off
        azure-identity's instance discovery, which would ask the public cloud about it.
      - If not set, the environment variable E(AZURE_AUTHORITY_HOST) is used, then
        V(https://login.microsoftonline.com).
      - The app's client secret, certificate assertion or federated token is sent to this host.
        Microsoft's authorities are accepted as they are - V(https://login.microsoftonline.com),
        V(https://login.chinacloudapi.cn) (Azure China) and V(https://login.microsoftonline.us)
        (Azure US Government), the ones azure-identity knows; Microsoft Cloud Germany
        (C(login.microsoftonline.de)) closed in 2021. Any other host fails the task before any
        token request unless O(allow_custom_authority=true).
    type: str
  allow_custom_authority:
    description:
      - Accept an O(authority_host) that is not one of Microsoft's sign-in authorities (a lab,
        an emulator, a test double) and send the app's credential to it.
      - Only with a host you trust with that credential. With O(auth_method=access_token),
        V(managed_identity) or V(azure_cli) no credential goes to O(authority_host), and this
        option is not needed.
      - If not set, the environment variable E(SYNCFIX_ALLOW_CUSTOM_AUTHORITY) is used.
    type: bool
    default: false
  graph_ca_path:
    description:
      - A PEM bundle of CA certificates to trust for Graph and the authority, instead of the
        system's. Use it for a TLS-inspecting proxy or a lab.
      - If not set, the environment variable E(SYNCFIX_GRAPH_CA_PATH) is used.
      - The alias C(ca_path) is accepted by modules that talk to Graph only; a module that
        also reads AD (it takes C(ldap_ca_path) too) accepts only this name.
    type: path
    aliases: [ca_path]
  graph_validate_certs:
    description:
      - Whether to validate TLS certificates of Graph and the authority. Never turn this off
        against a real tenant.
      - The alias C(validate_certs) is accepted by modules that talk to Graph only.
    type: bool
    default: true
    aliases: [validate_certs]
  request_timeout:
    description: Seconds to wait for one HTTP answer.
    type: float
    default: 30
  throttle_deadline:
    description:
      - Seconds one Graph call may spend waiting on throttling (429 with C(Retry-After)) and
        transient errors before the task fails with Graph's answer.
    type: float
    default: 300
  write_quota:
    description:
      - Writes are paced so that no window of O(write_quota.period) seconds holds more than
        O(write_quota.writes) of them. The default is the documented Graph quota for user
        writes, 3,000 per 150 seconds per app and tenant. Lower it when other automation
        writes with the same app.
    type: dict
    suboptions:
      writes:
        description: Writes allowed per window.
        type: int
        default: 3000
      period:
        description: The window, in seconds.
        type: float
        default: 150
requirements:
  - python >= 3.8
  - httpx >= 0.27
  - azure-identity >= 1.15 (not needed with O(access_token))
notes:
  - "Modules run on the controller: use C(hosts: localhost) or C(delegate_to: localhost)."
  - azure.azcollection's C(auth_source), C(cloud_environment) and C(cert_validation_mode) are
    not aliases - their values differ; use O(auth_method), O(graph_endpoint) with
    O(authority_host), and O(graph_validate_certs).
  - Set the connection options once for all Entra modules with C(module_defaults) and the
    group C(group/syncfix.entra.entra).
"""
