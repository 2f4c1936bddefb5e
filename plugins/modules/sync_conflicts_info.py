#!/usr/bin/python
# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: sync_conflicts_info
short_description: Find every sync conflict before the sync does, in AD and in Entra ID (read-only)
version_added: 0.1.0
description:
  - One read-only scan to run nightly or before a change window. It finds what IdFix finds in
    Active Directory, what IdFix misses, and, when a tenant is given, what waits in Entra ID.
  - B(AD side), over the sync scope (users, contacts and groups, IdFix's default exclusions
    unless O(exclusions) says otherwise) - IdFix's per-value rules (character, format, length,
    top-level domain, domain part, local part, blank) on C(userPrincipalName), C(mail),
    C(proxyAddresses), C(mailNickname) and C(displayName); duplicates across UPN, mail and every
    SMTP proxy address, without case, in the whole scope; no primary or several primary
    C(SMTP:) addresses; C(mail) other than the primary; C(@*.onmicrosoft.com) values Entra
    drops; UPN suffixes that are not verified domains of the tenant; duplicate C(mailNickname);
    one source anchor on two objects.
  - B(Cloud side), when the Graph connection is given - objects with
    C(onPremisesProvisioningErrors) (filtered as C(Get-MsolDirSyncProvisioningError) allowed),
    Duplicate Attribute Resiliency placeholders and the user they collided with, cloud-only
    users an AD object will collide with because soft match will not join them (a soft match
    the first sync makes is not a conflict and is not reported), soft-deleted users holding an address
    or an anchor, directory role holders a match would hit, object type mismatches (an AD user's
    primary address held by a cloud group or contact), any other address of an AD user held by a
    cloud group or contact (V(duplicate_address) - quarantined, or the export fails), synced
    users whose anchor no AD object holds, users whose hard match the C(onPremisesObjectIdentifier)
    hardening refuses (synced or cloud-only), and the tenant's sync features that change the outcome.
  - What the next sync does with an AD user and the cloud object it meets is what the engine model
    of M(syncfix.entra.link_plan) predicts, so the scan and the plan agree.
  - Each finding names its severity, the object, the attribute and value, the rule, the object
    in the way, the action in IdFix's terms (V(EDIT), V(REMOVE), V(COMPLETE)), and for a link
    problem, when the evidence carries one, a B(proposed)
    O(syncfix.entra.remediation#role:main:remediation_links) entry that fixes it.
  - B(Proposed links.) Linking an AD user to a cloud user hands that identity (mailbox, groups,
    app access, roles) to the AD account, so the scan never decides it. A proposal names the AD
    user by DN and the cloud user by object id, and carries C(proposal) - C(confidence),
    C(evidence) (every attribute that agrees, one sentence each) and C(confirmed=false), always.
    Attributes are compared without case and surrounding spaces. V(high) - the AD user's primary
    SMTP address is the active cloud user's primary SMTP address (C(SMTP:) proxy, else C(mail)),
    and at least one of these agrees too - the UPN, the account name (AD C(mailNickname) or
    C(sAMAccountName) against the cloud user's C(mailNickname) or C(onPremisesSamAccountName)),
    or the display name. V(medium) - only the primary SMTP address, or the UPN without the
    primary SMTP address. V(low) - neither, but one side's primary SMTP address is the other
    side's UPN. Otherwise no link is proposed and the finding says why and how to declare the
    link by the cloud user's object id.
  - No proposal rests on a secondary C(smtp:) address (an alias, on either side; soft match
    ignores it) - it is listed in the evidence as not counted. A soft-deleted cloud user is never
    proposed - its C(recycle_bin_holder) finding says how to restore it on purpose, by declaring
    it by its object id.
  - Review each proposal and set C(proposal.confirmed=true) on the ones you agree with (or run the
    role with O(syncfix.entra.remediation#role:main:remediation_accept_proposals=true)); the role
    refuses unconfirmed proposals, and a V(low) one is never accepted without
    C(proposal.confirmed).
  - Reads in bulk - paged LDAP searches over the scope and Graph list requests with
    C($select), never one request per object - and streams the findings into the reports, so
    memory does not grow with the directory.
extends_documentation_fragment:
  - syncfix.entra.graph
  - syncfix.entra.ad
attributes:
  check_mode:
    support: full
    description: Read-only; the same result in check mode. The reports are written in check mode too.
  diff_mode:
    support: none
    description: Nothing to diff; the findings are the result.
  platform:
    support: full
    platforms: [active_directory, microsoft_entra]
    description: Runs on the controller; talks LDAP to a domain controller and HTTPS to Microsoft Graph.
options:
  # Both fragments give their CA and validation options a short alias; a module that talks to
  # both directories can't tell them apart, so it accepts only the long names.
  graph_ca_path:
    aliases: []
  graph_validate_certs:
    aliases: []
  ldap_ca_path:
    aliases: [ca_cert]
  ldap_validate_certs:
    aliases: []
  sides:
    description:
      - What to scan. V(ad) reads the domain controller, V(cloud) reads Microsoft Graph. The AD
        connection options are required either way (the domain controller is where the scan
        starts); with V([cloud]) alone it is not contacted.
      - Left out, AD, and the cloud too when a Graph credential is given (O(tenant_id) or
        O(access_token), from options or their environment variables).
    type: list
    elements: str
    choices: [ad, cloud]
  search_bases:
    description:
      - The OUs (or containers) to scan - the sync scope (Entra Connect's OU filter, Cloud
        Sync's scoping). Left out, the whole domain from O(base_dn) (or the server's default
        naming context).
    type: list
    elements: str
  exclusions:
    description:
      - Objects to skip, as IdFix skips system objects - a DN (or DN part) or a name, matched
        without case. Left out, IdFix's default exclusions (Exchange system mailboxes and
        objects, critical system objects). V([]) scans everything.
    type: list
    elements: str
  verified_domains:
    description:
      - The tenant's verified domains, for the UPN-suffix rule when the cloud is not scanned.
        Left out, read from the tenant when it is scanned; else the rule is not run.
    type: list
    elements: str
  provisioning_errors:
    description:
      - Which C(onPremisesProvisioningErrors) to report, as C(Get-MsolDirSyncProvisioningError)
        filtered them. Left out, all of them.
    type: dict
    suboptions:
      property:
        description: Only errors on this property (C(propertyCausingError), for example V(UserPrincipalName) or V(ProxyAddresses)).
        type: str
      value:
        description: Only errors whose conflicting value is this one (without case).
        type: str
      search:
        description: Only objects whose UPN, mail, display name or error value contains this text.
        type: str
      max_results:
        description: At most this many provisioning-error findings.
        type: int
  report_path:
    description:
      - A directory to write the reports into (created 0700, files 0600) - an IdFix-compatible
        CSV of the AD findings, JSON, Markdown and one self-contained HTML page. Left out, no
        report is written.
      - Each report is written to a temporary file in that folder, synced to disk and renamed
        over the old one, so a failed scan leaves the previous reports. A folder that is a
        symbolic link, is owned by another user, or that others may write into is refused before
        the scan reads anything.
    type: path
  report_formats:
    description: Which reports to write into O(report_path).
    type: list
    elements: str
    choices: [csv, json, markdown, html]
    default: [csv, json, markdown, html]
  max_findings:
    description:
      - At most this many findings in RV(findings), so a large scan does not flood the job
        output; the counts and the reports always hold all of them.
    type: int
    default: 1000
  fail_on:
    description:
      - Fail the task when a finding of this severity or worse is found, for a CI gate.
        Left out, the task never fails on findings.
    type: str
    choices: [error, warning, info]
notes:
  - "AD rights of the bind account: read only; any authenticated user can read the attributes scanned."
  - "Graph application permissions for the cloud side: C(User.Read.All), C(Group.Read.All),
    C(OrgContact.Read.All), C(RoleManagement.Read.Directory), C(Domain.Read.All),
    C(OnPremDirectorySynchronization.Read.All)."
  - IdFix, which this module replaces for sync preparation, is unsupported after 2026-06-30.
seealso:
  - module: syncfix.entra.link_plan
  - ref: syncfix.entra.remediation role
    description: Applies the links this scan proposes, once a person confirmed them.
  - name: Errors supported by the IdFix tool
    description: IdFix's rules, which the AD side applies.
    link: https://microsoft.github.io/idfix/errors/
  - name: Identity synchronization and duplicate attribute resiliency
    description: What happens to a duplicate UPN or proxy address in the cloud.
    link: https://learn.microsoft.com/entra/identity/hybrid/connect/how-to-connect-syncservice-duplicate-attribute-resiliency
author:
  - syncfix.entra contributors (@syncfix)
"""

EXAMPLES = r"""
- name: Nightly scan of the synced OUs and the tenant, reports for the service desk
  syncfix.entra.sync_conflicts_info:
    search_bases:
      - OU=Staff,DC=contoso,DC=com
    report_path: /var/reports/sync-conflicts
  register: scan

# A scan proposes, a person decides: save the proposals for review. The reviewer keeps the links
# they agree with, sets proposal.confirmed: true on each, and deletes the rest.
- name: Save the proposed links for review
  ansible.builtin.copy:
    content: "{{ scan.remediation_links | to_nice_yaml }}"
    dest: /var/reports/sync-conflicts/proposed-links.yml
    mode: "0600"

- name: In the change window, apply the reviewed links
  ansible.builtin.include_role:
    name: syncfix.entra.remediation
  vars:
    remediation_links: "{{ lookup('ansible.builtin.file', '/var/reports/sync-conflicts/proposed-links.yml') | from_yaml }}"

- name: Dry run of the high-confidence proposals without confirming each (check mode; low ones stay refused)
  ansible.builtin.include_role:
    name: syncfix.entra.remediation
  vars:
    remediation_links: "{{ scan.remediation_links | selectattr('proposal.confidence', 'eq', 'high') | list }}"
    remediation_accept_proposals: true
  check_mode: true

- name: CI gate before a change window - fail on any error-level finding, AD only
  syncfix.entra.sync_conflicts_info:
    sides: [ad]
    verified_domains: [contoso.com]
    fail_on: error
"""

RETURN = r"""
findings:
  description: The findings, at most O(max_findings) of them (all are in the reports), AD side first.
  returned: always
  type: list
  elements: dict
  contains:
    severity:
      description: V(error) - the sync fails or quarantines a value; V(warning) - the outcome changes silently; V(info).
      type: str
      sample: error
    rule:
      description: The rule that found it; IdFix's rules are C(idfix_<flag>).
      type: str
      sample: duplicate_address
    side:
      description: V(ad) or V(cloud).
      type: str
      sample: ad
    object:
      description: The DN (AD) or object id (cloud).
      type: str
      sample: CN=Mario Lopez,OU=Staff,DC=contoso,DC=com
    object_class:
      description: V(user), V(contact) or V(group).
      type: str
      sample: user
    common_name:
      description: The object's common name or display name.
      type: str
      sample: Mario Lopez
    attribute:
      description: The attribute at fault.
      type: str
      sample: proxyAddresses
    value:
      description: The value at fault.
      type: str
      sample: smtp:maria@contoso.com
    conflicts_with:
      description: The object in the way (DN or cloud object id), when there is one.
      type: str
      sample: CN=Maria Lopez,OU=Staff,DC=contoso,DC=com
    action:
      description: IdFix's proposed action - V(EDIT) to RV(findings[].update), V(REMOVE) the value, or V(COMPLETE) (a person decides).
      type: str
      sample: REMOVE
    update:
      description: The proposed new value, for V(EDIT).
      type: str
      sample: null
    message:
      description: What is wrong, why Entra cares, and the Microsoft document that says so.
      type: str
      sample: "smtp:maria@contoso.com is also on CN=Maria Lopez,...: Entra keeps addresses unique ..."
    link:
      description:
        - The proposed O(syncfix.entra.remediation#role:main:remediation_links) entry that fixes it, for a
          link problem whose evidence carries one (see RV(remediation_links)); else null.
      type: dict
      sample: {"ad": "CN=Vera Price,OU=Staff,DC=contoso,DC=com", "cloud": "0d3c9f4e-5c1a-4b8e-9f3e-2a7d1c6b8e01",
               "proposal": {"confidence": "high", "confirmed": false,
                            "evidence": ["primary SMTP address vp@contoso.com is the cloud user's primary SMTP address",
                                         "userPrincipalName vp@contoso.com is the cloud user's userPrincipalName"]}}
counts:
  description: How many findings, by severity and by rule, and how many objects were read.
  returned: always
  type: dict
  sample: {"findings": 3, "by_severity": {"error": 1, "warning": 2, "info": 0},
           "by_rule": {"duplicate_address": 1, "upn_suffix_unverified": 1, "mail_not_primary": 1},
           "ad": {"objects": 120, "excluded": 4}, "cloud": {"users": 300, "groups": 20, "contacts": 2}}
remediation_links:
  description:
    - The links the findings propose, each once, as the role's O(syncfix.entra.remediation#role:main:remediation_links)
      takes them - the AD user by DN, the cloud user by object id, and C(proposal). A scan proposes, a person
      decides - the role refuses these until C(proposal.confirmed) is true on each (or the run sets
      O(syncfix.entra.remediation#role:main:remediation_accept_proposals); a V(low) one is refused even then).
    - Never a soft-deleted cloud user, never on a secondary address alone (see the description for the rule).
  returned: always
  type: list
  elements: dict
  contains:
    ad:
      description: The AD user's DN (its sAMAccountName or on-premises DN as Graph reports it, when AD was not scanned).
      type: str
      sample: CN=Vera Price,OU=Staff,DC=contoso,DC=com
    cloud:
      description: The active cloud user's object id.
      type: str
      sample: 0d3c9f4e-5c1a-4b8e-9f3e-2a7d1c6b8e01
    proposal:
      description: How sure the scan is, and why.
      type: dict
      contains:
        confidence:
          description: V(high), V(medium) or V(low), by the rule in the description.
          type: str
          sample: high
        evidence:
          description: One sentence per attribute that agrees; a shared secondary address is listed as not counted.
          type: list
          elements: str
          sample: ["primary SMTP address vp@contoso.com is the cloud user's primary SMTP address",
                   "userPrincipalName vp@contoso.com is the cloud user's userPrincipalName"]
        confirmed:
          description: Always V(false) - a person sets it to V(true) after review.
          type: bool
          sample: false
  sample: [{"ad": "CN=Vera Price,OU=Staff,DC=contoso,DC=com", "cloud": "0d3c9f4e-5c1a-4b8e-9f3e-2a7d1c6b8e01",
            "proposal": {"confidence": "medium", "confirmed": false,
                         "evidence": ["primary SMTP address vp@contoso.com is the cloud user's primary SMTP address"]}}]
report:
  description: The paths of the reports written, by format.
  returned: when O(report_path) was given
  type: dict
  sample: {"csv": "/var/reports/sync-conflicts/scan.csv", "html": "/var/reports/sync-conflicts/scan.html"}
sides:
  description: What was scanned.
  returned: always
  type: list
  elements: str
  sample: [ad, cloud]
msg:
  description: A one-line summary.
  returned: always
  type: str
  sample: "3 findings (1 error, 2 warnings) in 120 AD objects and 322 cloud objects"
ldap_operations:
  description: LDAP searches made (paged searches count each page).
  returned: when AD was scanned
  type: dict
  sample: {"searches": 2}
graph_requests:
  description: Counts of Graph requests sent, throttled and retried in this run.
  returned: when the cloud was scanned
  type: dict
  sample: {"requests": 9}
error:
  description: Why the task failed - kind (input, ldap, graph, auth, findings) and the service's code.
  returned: when the task failed
  type: dict
  sample: {"kind": "findings", "message": "2 error findings; fail_on is error"}
"""

import os

from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import InputError, SyncfixError
from ansible_collections.syncfix.entra.plugins.module_utils._module.base import SyncfixModule
from ansible_collections.syncfix.entra.plugins.module_utils._report.private_file import PrivateFileError
from ansible_collections.syncfix.entra.plugins.module_utils._scan.findings import SEVERITIES
from ansible_collections.syncfix.entra.plugins.module_utils._report.scan import write_reports
from ansible_collections.syncfix.entra.plugins.module_utils._backends.sync_conflicts_info import ScanFacts, ScanOptions, Tally, scan


def chosen_sides(params):
    """The sides asked for; left out, AD and the cloud when a Graph credential is given."""
    if params["sides"]:
        return sorted(set(params["sides"]))
    credential = params.get("tenant_id") or params.get("access_token")
    return ["ad", "cloud"] if credential else ["ad"]


def summary_line(tally, facts):
    counts = tally.by_severity
    ad_objects = facts.ad_counts.get("objects", 0)
    cloud_objects = sum(value for key, value in facts.cloud_counts.items() if key in ("users", "groups", "contacts"))
    return "%d findings (%s) in %d AD objects and %d cloud objects" % (
        tally.total, ", ".join("%d %s" % (counts[s], s) for s in SEVERITIES), ad_objects, cloud_objects)


def gate(fail_on, by_severity):
    """The findings that fail the task: those of ``fail_on``'s severity or worse."""
    if not fail_on:
        return 0
    worst_first = list(SEVERITIES)
    return sum(by_severity[s] for s in worst_first[:worst_first.index(fail_on) + 1])


def main():
    base = SyncfixModule(
        argument_spec=dict(
            sides=dict(type="list", elements="str", choices=["ad", "cloud"]),
            search_bases=dict(type="list", elements="str"),
            exclusions=dict(type="list", elements="str"),
            verified_domains=dict(type="list", elements="str"),
            provisioning_errors=dict(type="dict", options=dict(
                property=dict(type="str"), value=dict(type="str"), search=dict(type="str"),
                max_results=dict(type="int"))),
            report_path=dict(type="path"),
            report_formats=dict(type="list", elements="str", choices=["csv", "json", "markdown", "html"],
                                default=["csv", "json", "markdown", "html"]),
            max_findings=dict(type="int", default=1000),
            fail_on=dict(type="str", choices=list(SEVERITIES)),
        ),
        directories=("graph", "ad"),
        supports_check_mode=True,
    )
    params = base.params
    sides = chosen_sides(params)
    if params["max_findings"] < 0:
        base.fail_error(InputError("max_findings must be 0 or more (got %d)" % params["max_findings"]))
    options = ScanOptions(search_bases=params["search_bases"] or (), exclusions=params["exclusions"],
                          error_filter=params["provisioning_errors"],
                          verified_domains=[d.lower() for d in params["verified_domains"]]
                          if params["verified_domains"] is not None else None)
    facts = ScanFacts()
    tally = Tally(params["max_findings"])
    result = dict(sides=sides)
    try:
        findings = tally.count(scan(base.ad if "ad" in sides else None, base.graph if "cloud" in sides else None,
                                    options, facts))
        if params["report_path"]:
            def summary():
                return dict(sides=sides, search_bases=options.search_bases or ["(the whole domain)"],
                            ad=facts.ad_counts, cloud=facts.cloud_counts)

            result["report"] = write_reports(findings, params["report_path"], formats=params["report_formats"],
                                             summary=summary)
        else:
            for dummy in findings:
                pass
    except PrivateFileError as e:
        base.fail_error(e, "report_path %s can't hold the reports: %s; the scan read nothing, nothing was changed"
                        % (params["report_path"], e))
    except SyncfixError as e:
        base.fail_error(e, "%s; the scan stopped, nothing was changed" % e)
    except (IOError, OSError) as e:
        base.fail_error(InputError("report_path %s can't be written (%s); nothing was changed"
                                   % (params["report_path"], os.strerror(e.errno) if e.errno else e)))
    for warning in facts.warnings:
        base.warn(warning)
    counts = tally.counts()
    counts.update(ad=facts.ad_counts, cloud=facts.cloud_counts)
    result.update(findings=tally.kept, counts=counts, remediation_links=tally.links, msg=summary_line(tally, facts))
    failing = gate(params["fail_on"], tally.by_severity)
    if failing:
        result["error"] = dict(kind="findings", message="%d finding(s) of severity %s or worse; fail_on is %s" % (
            failing, params["fail_on"], params["fail_on"]))
        base.fail(result["error"]["message"] + "; " + result.pop("msg"), **result)
    base.exit(changed=False, **result)


if __name__ == "__main__":
    main()
