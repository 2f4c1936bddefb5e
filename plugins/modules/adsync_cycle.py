#!/usr/bin/python
# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

DOCUMENTATION = r"""
module: adsync_cycle
short_description: Start and watch an Entra Connect Sync or Entra Cloud Sync cycle
version_added: 0.1.0
description:
  - After a fix on-premises or in the cloud, makes the change reach the other side and reads
    the result, instead of hoping.
  - O(engine=connect) talks PowerShell remoting (pypsrp) from the controller to the Entra
    Connect server. It reads C(Get-ADSyncScheduler) first and refuses a server in staging
    mode, which never exports, unless O(allow_staging=true). It deals with a cycle that is
    already running per O(if_running), runs C(Start-ADSyncSyncCycle), and with O(wait=true)
    waits for the cycle to end and returns the run profile results of this cycle.
  - O(engine=cloud_sync) uses Microsoft Graph synchronization jobs. It reads the job first.
    Microsoft Graph's reference for the job's C(start) action says not to call it while the
    job runs, only when the job is paused or in quarantine. So an C(Active) job, which runs by itself
    every C(schedule.interval) (2 minutes for Cloud Sync), is not started - with O(wait=true)
    the module waits for its next execution to finish and returns it, and reports
    C(changed=false). A C(NotRun) job is started (its first run). A C(Paused) or C(Quarantine)
    job is refused unless O(allow_resume=true), because starting it resumes it or clears the
    quarantine. A C(NotConfigured) job fails the task.
  - For an immediate run of named objects, O(provision_objects) provisions the listed AD
    objects on demand instead.
  - A result other than success fails the task unless O(fail_on_errors=false).
extends_documentation_fragment:
  - syncfix.entra.graph
requirements:
  - pypsrp >= 0.8.1 (only for O(engine=connect))
  - pypsrp[kerberos] and the system's Kerberos libraries (only for O(winrm_auth=kerberos), and for
    O(winrm_auth=negotiate) to choose Kerberos over NTLM)
  - pypsrp[credssp] (only for O(winrm_auth=credssp))
attributes:
  check_mode:
    support: full
    description:
      - Reads the scheduler (or the job) and reports what would run; starts nothing and sends no write.
      - With O(engine=cloud_sync), C(changed) is true only when a real run would start the job
        or provision objects; a job that would be refused fails the task in check mode too.
  diff_mode:
    support: none
    description: Starting a cycle changes no declared state to diff.
  platform:
    support: full
    platforms: [windows, microsoft_graph]
    description: Runs on the controller; reaches the Connect server over WinRM, or Graph over HTTPS.
options:
  engine:
    description: V(connect) for Entra Connect Sync servers, V(cloud_sync) for Entra Cloud Sync.
    type: str
    choices: [connect, cloud_sync]
    required: true
  policy_type:
    description: With O(engine=connect), a V(delta) or an V(initial) (full) cycle.
    type: str
    choices: [delta, initial]
    default: delta
  if_running:
    description:
      - With O(engine=connect), what to do when a cycle is already running.
      - V(wait) lets it end, then starts a new one, because the running one may have begun
        before your fixes. V(skip) starts nothing. V(fail) fails the task.
    type: str
    choices: [wait, skip, fail]
    default: wait
  allow_staging:
    description: Start a cycle on a server in staging mode, which exports nothing to the cloud.
    type: bool
    default: false
  wait:
    description:
      - Wait for the cycle (or job execution) to finish and return its results.
      - With O(engine=cloud_sync) and an C(Active) job, the execution waited for is the job's next
        scheduled one, so allow O(timeout) at least one C(schedule.interval).
    type: bool
    default: true
  timeout:
    description: Seconds to wait, for a running cycle to end and for ours to finish together.
    type: int
    default: 1800
  poll_interval:
    description: Seconds between status reads while waiting.
    type: int
    default: 10
  fail_on_errors:
    description: Fail the task when a run or execution did not succeed (for example C(completed-export-errors)).
    type: bool
    default: true
  winrm_server:
    description:
      - With O(engine=connect), the Entra Connect server's host name (required then).
      - The WinRM options carry a C(winrm_) prefix so that none shares a name with the LDAP
        options (C(server), C(port), C(username), C(password), C(ldap_auth)) of the AD modules
        and link_plan.
    type: str
  winrm_port:
    description: WinRM port. Left out, 5986 with O(winrm_ssl=true), 5985 otherwise.
    type: int
  winrm_ssl:
    description: Use HTTPS for WinRM.
    type: bool
    default: true
  winrm_validate_certs:
    description:
      - Validate the server's WinRM certificate. With O(winrm_ca_path), against that CA bundle.
    type: bool
    default: true
  winrm_ca_path:
    description: A PEM CA bundle to validate the Connect server's WinRM certificate with.
    type: path
  winrm_username:
    description: The account on the Connect server (member of ADSyncAdmins or ADSyncOperators).
    type: str
  winrm_password:
    description: Its password.
    type: str
  winrm_auth:
    description:
      - WinRM authentication. V(kerberos) (and V(negotiate) choosing Kerberos) needs
        C(pypsrp[kerberos]) and the system's Kerberos libraries (see the collection's
        C(bindep.txt)); V(credssp) needs C(pypsrp[credssp]).
    type: str
    choices: [negotiate, kerberos, ntlm, credssp, certificate]
    default: negotiate
  winrm_certificate_pem:
    description: With O(winrm_auth=certificate), the client certificate (required then).
    type: path
  winrm_certificate_key_pem:
    description: With O(winrm_auth=certificate), its private key (required then).
    type: path
  service_principal_id:
    description: With O(engine=cloud_sync), the object id of the Cloud Sync agent configuration's service principal.
    type: str
  job_id:
    description: With O(engine=cloud_sync), the synchronization job id.
    type: str
  allow_resume:
    description:
      - With O(engine=cloud_sync), start a job that is C(Paused) or in C(Quarantine). Starting
        resumes a paused job (perhaps paused on purpose by an admin) and clears a quarantine
        (set by the service, for example for too many deletes), so it is not done unless asked.
      - Left out (false), such a job fails the task with its state and the quarantine reason,
        and nothing is sent.
      - Has no effect on an C(Active) job, which is never started, nor with O(provision_objects).
    type: bool
    default: false
  provision_objects:
    description:
      - With O(engine=cloud_sync), distinguished names of AD objects to provision on demand
        instead of running the whole job (at most 5 requests per 10 seconds, paced).
      - Left out, the job's own execution is used (see the description).
    type: list
    elements: str
  object_type:
    description: The object type of O(provision_objects).
    type: str
    default: user
  rule_id:
    description: The synchronization rule for O(provision_objects). Left out, read from the job's schema.
    type: str
notes:
  - "Graph application permissions, with O(engine=cloud_sync): C(Synchronization.ReadWrite.All)
    (start the job, read its status and schema, provision on demand). With O(engine=connect)
    no Graph permission: the cycle runs on the Connect server over PowerShell remoting, as a
    member of its C(ADSyncOperators) group."
author:
  - syncfix.entra contributors (@syncfix)
"""

EXAMPLES = r"""
- name: Push the fixes through Entra Connect and read the result
  syncfix.entra.adsync_cycle:
    engine: connect
    winrm_server: aadc01.contoso.com
    winrm_username: CONTOSO\svc-syncfix
    winrm_password: "{{ vault_aadc_password }}"
    policy_type: delta
  register: cycle

- name: Wait for the Cloud Sync job's next scheduled run and read its result
  syncfix.entra.adsync_cycle:
    engine: cloud_sync
    service_principal_id: 0d2c1e3f-4a5b-4c6d-8e7f-901234567890
    job_id: AD2AADProvisioning.fd1c9b9e8077402c8bc03a7186c8f976.3a9d8f2c-1111-2222-3333-444455556666
    timeout: 600
  register: cloud_run

- name: Resume the Cloud Sync job an admin paused for the change window, and wait for its run
  syncfix.entra.adsync_cycle:
    engine: cloud_sync
    service_principal_id: 0d2c1e3f-4a5b-4c6d-8e7f-901234567890
    job_id: AD2AADProvisioning.fd1c9b9e8077402c8bc03a7186c8f976.3a9d8f2c-1111-2222-3333-444455556666
    allow_resume: true

- name: Provision the fixed users with Cloud Sync right away
  syncfix.entra.adsync_cycle:
    engine: cloud_sync
    service_principal_id: 0d2c1e3f-4a5b-4c6d-8e7f-901234567890
    job_id: AD2AADProvisioning.fd1c9b9e8077402c8bc03a7186c8f976.3a9d8f2c-1111-2222-3333-444455556666
    provision_objects:
      - CN=VP,OU=Staff,DC=contoso,DC=com
"""

RETURN = r"""
cycle_started:
  description:
    - Whether a cycle, job run or on-demand provisioning was started.
    - Formerly C(started), renamed because Ansible's C(async_status) reads a C(started) key
      in a result as "the job is still running", so a task with C(async) never ended.
    - With O(engine=cloud_sync), false for an C(Active) job, whose scheduled execution was waited for.
  returned: always
  type: bool
  sample: true
policy_type:
  description: With O(engine=connect), the policy of the cycle started (or that would be), C(Delta) or C(Initial).
  returned: with O(engine=connect)
  type: str
  sample: Delta
started_utc:
  description: With O(engine=connect), when the server says the cycle started (UTC), from C(Start-ADSyncSyncCycle).
  returned: when a Connect cycle was started
  type: str
  sample: "2026-11-22T10:00:00Z"
job_status:
  description:
    - With O(engine=cloud_sync), the job's C(status.code) read before anything was done
      (C(NotConfigured), C(NotRun), C(Active), C(Paused), C(Quarantine)).
  returned: when O(engine=cloud_sync)
  type: str
  sample: Active
schedule_interval:
  description: With O(engine=cloud_sync), the job's C(schedule.interval), an ISO 8601 duration.
  returned: when O(engine=cloud_sync)
  type: str
  sample: PT2M
previous_execution:
  description: With O(engine=cloud_sync), the job's C(status.lastExecution) read before anything was done; empty when it never ran.
  returned: when O(engine=cloud_sync)
  type: dict
  sample: {"activityIdentifier": "5b8f0c1e-0d1a-4f43-9f5e-3c2b1a0d9e8f", "state": "Succeeded",
           "timeBegan": "2026-11-22T09:58:00Z", "timeEnded": "2026-11-22T09:58:06Z"}
scheduler:
  description: With O(engine=connect), the C(Get-ADSyncScheduler) fields read before starting.
  returned: when O(engine=connect)
  type: dict
  sample: {"SyncCycleEnabled": true, "SyncCycleInProgress": false, "StagingModeEnabled": false}
notes:
  description: Scheduler conditions worth knowing (disabled, maintenance, suspended).
  returned: when O(engine=connect)
  type: list
  elements: str
  sample: ["the scheduler is disabled (SyncCycleEnabled=false): cycles run only when started"]
runs:
  description: With O(engine=connect) and O(wait=true), the run profile results of this cycle.
  returned: when a cycle was waited for
  type: list
  elements: dict
  sample: [{"ConnectorName": "contoso.onmicrosoft.com - AAD", "RunProfileName": "Export", "Result": "success"}]
failed_runs:
  description: The runs whose result is not success.
  returned: when a cycle was waited for
  type: list
  elements: dict
  sample: [{"RunProfileName": "Export", "Result": "completed-export-errors"}]
execution:
  description: With O(engine=cloud_sync) and O(wait=true), the job's execution that finished.
  returned: when a Cloud Sync job was waited for
  type: dict
  sample: {"state": "Succeeded", "timeBegan": "2026-11-22T10:00:00Z", "timeEnded": "2026-11-22T10:00:09Z"}
provisioned:
  description:
    - With O(provision_objects), Graph's answer per object, its JSON details parsed.
    - A O(provision_objects) run answers synchronously and starts no job execution, so
      O(wait) does not apply. Every object is tried; one whose status is not C(Success) or
      C(Skipped) fails the task, naming it, unless O(fail_on_errors=false).
  returned: when objects were provisioned on demand
  type: list
  elements: dict
  contains:
    object:
      description: The distinguished name as given.
      type: str
    status:
      description:
        - The C(result) Graph reported for the object (C(Success), C(Skipped), C(Failure), ...),
          C(Error) when the request itself was refused, or null when Graph reported none.
        - C(Skipped) is what Graph answers when source and target already match; it does not fail the task.
      type: str
    error:
      description: Graph's error code and message for the object, or the refusal of the request; null on success.
      type: str
    details:
      description: The C(value) document Graph returned (C(statusInfo), C(provisioningSteps)), parsed from its JSON string.
      type: raw
  sample: [{"object": "CN=VP,OU=Staff,DC=contoso,DC=com", "status": "Success", "error": null,
            "details": {"statusInfo": {"status": "Success"}, "provisioningSteps": []}}]
msg:
  description: What happened.
  returned: always
  type: str
  sample: delta cycle finished, 4 runs, 0 not successful
error:
  description:
    - What went wrong, for a playbook to branch on - kind (adsync, graph, auth, input, refused) and
      the service's code, status or request id.
  returned: when the options were incomplete, the job was refused, the cycle could not be started or
    watched, or Graph refused a request
  type: dict
  sample: {"kind": "adsync", "message": "this Entra Connect server is in staging mode (StagingModeEnabled=true): ..."}
graph_requests:
  description: Counts of Graph requests sent, throttled and retried in this run (engine C(cloud_sync) only).
  returned: when Graph was called
  type: dict
  sample: {"requests": 4}
"""

from ansible_collections.syncfix.entra.plugins.module_utils._rules.errors import SyncfixError
from ansible_collections.syncfix.entra.plugins.module_utils._backends.adsync_cycle import run_cloud_sync, run_connect
from ansible_collections.syncfix.entra.plugins.module_utils._module.entra_module import EntraModule


def main():
    entra = EntraModule(
        argument_spec=dict(
            engine=dict(type="str", required=True, choices=["connect", "cloud_sync"]),
            policy_type=dict(type="str", default="delta", choices=["delta", "initial"]),
            if_running=dict(type="str", default="wait", choices=["wait", "skip", "fail"]),
            allow_staging=dict(type="bool", default=False),
            wait=dict(type="bool", default=True),
            timeout=dict(type="int", default=1800),
            poll_interval=dict(type="int", default=10),
            fail_on_errors=dict(type="bool", default=True),
            winrm_server=dict(type="str"),
            winrm_port=dict(type="int"),
            winrm_ssl=dict(type="bool", default=True),
            winrm_validate_certs=dict(type="bool", default=True),
            winrm_ca_path=dict(type="path"),
            winrm_username=dict(type="str"),
            winrm_password=dict(type="str", no_log=True),
            winrm_auth=dict(type="str", default="negotiate",
                            choices=["negotiate", "kerberos", "ntlm", "credssp", "certificate"]),
            winrm_certificate_pem=dict(type="path"),
            winrm_certificate_key_pem=dict(type="path", no_log=False),
            service_principal_id=dict(type="str"),
            job_id=dict(type="str"),
            allow_resume=dict(type="bool", default=False),
            provision_objects=dict(type="list", elements="str"),
            object_type=dict(type="str", default="user"),
            rule_id=dict(type="str"),
        ),
        required_if=[
            ["engine", "connect", ["winrm_server"]],
            ["engine", "cloud_sync", ["service_principal_id", "job_id"]],
            ["winrm_auth", "certificate", ["winrm_certificate_pem", "winrm_certificate_key_pem"]],
        ],
        required_by={"provision_objects": ["service_principal_id", "job_id"]},
        supports_check_mode=True,
    )
    params = entra.params
    try:
        if params["engine"] == "connect":
            result, failed = run_connect(entra, params)
        else:
            result, failed = run_cloud_sync(entra, params)
    except SyncfixError as e:  # AdsyncError, GraphError, AuthError, InputError: details go in the result's error
        entra.fail_error(e)
    except Exception as e:  # pypsrp raises transport, auth and WinRM fault types of its own
        entra.fail("engine=%s: %s: %s" % (params["engine"], type(e).__name__, e))
    if failed:
        summary = result.pop("msg", None) or "the sync reported errors"
        entra.fail("%s; set fail_on_errors: false to report without failing" % summary, **result)
    entra.module.exit_json(**result)


if __name__ == "__main__":
    main()
