"""Test harness only: every task result that a playbook registers, written as JSON to the file
named by ``SYNCFIX_TEST_RESULTS`` when the play ends, keyed by the variable it was registered as.

The tests used to copy the registered variables to a file with one more task; that task ran three
modules (stat, copy, file) per playbook run, most of a second each, on every one of the suite's
playbook runs. A callback sees the same results on the controller for nothing."""

import json
import os

from ansible.plugins.callback import CallbackBase
from ansible.vars.clean import module_response_deepcopy, strip_internal_keys


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "registered_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self._results = {}

    def _record(self, result, **status):
        name = result.task.register
        if not name:
            return
        # What the play sees in the registered variable: callbacks get the answer without the
        # invocation and with the status keys moved into the event, so put those back.
        answer = strip_internal_keys(module_response_deepcopy(result.result))
        answer.pop("invocation", None)
        if result.task.loop and "results" in answer:  # a loop: the statuses are its items'
            status = {"skipped": False}
        for key, value in status.items():
            answer.setdefault(key, value)
        self._results[name] = answer

    def v2_runner_on_ok(self, result):
        self._record(result, failed=False)

    def v2_runner_on_failed(self, result, ignore_errors=False):  # pylint: disable=unused-argument
        self._record(result, failed=True)

    def v2_runner_on_skipped(self, result):
        self._record(result, skipped=True)

    def v2_runner_on_unreachable(self, result):
        self._record(result, unreachable=True)

    def v2_playbook_on_stats(self, stats):
        path = os.environ.get("SYNCFIX_TEST_RESULTS")
        if path:
            with open(path, "w", encoding="utf-8") as handle:
                json.dump(self._results, handle)
