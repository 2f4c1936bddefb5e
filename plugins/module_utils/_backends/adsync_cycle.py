# Copyright: contributors to syncfix.entra
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The two ways adsync_cycle runs a cycle, given the module base: Entra Connect over PowerShell
remoting and Entra Cloud Sync over Graph jobs.  Internal to this collection: not a public API.
The rules they follow live in ``_winrm.connect`` and ``cloud_sync``; this is the I/O around them.
"""

from ansible_collections.syncfix.entra.plugins.module_utils._winrm.connect import ConnectEngine, PsrpRunner
from ansible_collections.syncfix.entra.plugins.module_utils._graph.cloud_sync import (
    REFUSE, WAIT, CloudSyncJob, execution_failed, job_state, on_demand_failed, plan_job_run)

try:
    from pypsrp.client import Client as PsrpClient
except ImportError:
    PsrpClient = None


def run_connect(entra, params):
    if PsrpClient is None:
        entra.fail("engine=connect needs the Python package pypsrp: pip install 'pypsrp>=0.8.1'")
    if not params["winrm_ssl"]:
        entra.warn("winrm_ssl is false: WinRM runs over HTTP on port 5985; only the authentication's message "
                   "encryption protects the password and the session")
    elif not params["winrm_validate_certs"]:
        entra.warn("winrm_validate_certs is false: the Entra Connect server's WinRM certificate is not checked")
    validation = (params["winrm_ca_path"] or True) if params["winrm_validate_certs"] else False
    client = PsrpClient(params["winrm_server"],
                        port=params["winrm_port"] or (5986 if params["winrm_ssl"] else 5985),
                        username=params["winrm_username"], password=params["winrm_password"], ssl=params["winrm_ssl"],
                        auth=params["winrm_auth"], cert_validation=validation,
                        certificate_pem=params["winrm_certificate_pem"],
                        certificate_key_pem=params["winrm_certificate_key_pem"])
    engine = ConnectEngine(PsrpRunner(client))
    result = engine.run(policy=params["policy_type"], if_running=params["if_running"],
                        allow_staging=params["allow_staging"], wait=params["wait"], timeout=params["timeout"],
                        poll=params["poll_interval"], check_mode=entra.check_mode)
    failed = bool(result["failed_runs"]) and params["fail_on_errors"]
    return result, failed


def run_cloud_sync(entra, params):
    job = CloudSyncJob(entra.client, params["service_principal_id"], params["job_id"])
    state = job_state(job.read())
    before = state["last_execution"]
    result = dict(changed=False, cycle_started=False, previous_execution=before, job_status=state["code"],
                  schedule_interval=state["interval"])
    if params["provision_objects"]:
        return run_on_demand(entra, params, job, result)
    action, why = plan_job_run(state, job.label, params["allow_resume"])
    if action == REFUSE:
        entra.fail(why, error=dict(kind="refused", message=why), **result)
    if action == WAIT:
        # Not started: "synchronizationJob: start" says never to start a job that is running.
        hint = "; for an immediate run of named objects, use provision_objects"
        if entra.check_mode:
            then = ", would wait for its next scheduled execution" if params["wait"] else ""
            result["msg"] = "%s; would not start it%s%s" % (why, then, hint)
            return result, False
        if not params["wait"]:
            result["msg"] = "%s, so it was not started; not waiting for its next execution%s" % (why, hint)
            return result, False
        execution = job.wait_for_new_execution(before, params["timeout"], params["poll_interval"])
        result.update(execution=execution, msg="%s, so it was not started; its next scheduled execution finished: %s%s" % (
            why, execution.get("state"), hint))
        return result, execution_failed(execution) and params["fail_on_errors"]
    if entra.check_mode:
        result.update(changed=True, msg="would start the job: %s" % why)
        return result, False
    job.start()
    result.update(changed=True, cycle_started=True)
    if not params["wait"]:
        result["msg"] = "started (%s); not waiting for the execution" % why
        return result, False
    execution = job.wait_for_new_execution(before, params["timeout"], params["poll_interval"])
    result.update(execution=execution, msg="started (%s); execution finished: %s" % (why, execution.get("state")))
    return result, execution_failed(execution) and params["fail_on_errors"]


def run_on_demand(entra, params, job, result):
    # On-demand provisioning answers per object, synchronously; it starts no job execution.
    if entra.check_mode:
        result.update(changed=True, msg="would provision %d objects on demand" % len(params["provision_objects"]))
        return result, False
    rule = params["rule_id"] or job.rule_id()
    result["provisioned"] = job.provision_on_demand(params["provision_objects"], rule, params["object_type"])
    failed = on_demand_failed(result["provisioned"])
    result.update(changed=True, cycle_started=True, msg="provisioned %d of %d objects on demand%s" % (
        len(result["provisioned"]) - len(failed), len(result["provisioned"]),
        "; not provisioned: %s" % ", ".join(failed) if failed else ""))
    return result, bool(failed) and params["fail_on_errors"]
