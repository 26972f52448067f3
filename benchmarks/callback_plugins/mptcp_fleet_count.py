# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: mptcp_fleet_count
type: aggregate
short_description: Count the module executions on each host (benchmarks/fleet.py)
description:
  - Counts, per host, every task result that ran on the host, a loop item
    and a retry each counting one; actions that run on the controller
    (assert, debug, set_fact, fail, meta, includes, validate_argument_spec) count none. Counts the
    changed results too. Also times each task, from its start to the start
    of the next (or the end of the run), on all hosts at once. Writes all
    three as JSON to the file named by the environment variable
    MPTCP_FLEET_COUNT when the run ends.
options: {}
"""

import collections
import json
import os
import time

from ansible.plugins.callback import CallbackBase

CONTROLLER_ACTIONS = frozenset(("add_host", "assert", "debug", "fail", "group_by", "import_playbook", "import_role",
                                "import_tasks", "include_role", "include_tasks", "include_vars", "meta", "pause",
                                "set_fact", "set_stats", "validate_argument_spec"))


def _short(action):
    for prefix in ("ansible.builtin.", "ansible.legacy."):
        if action.startswith(prefix):
            return action[len(prefix):]
    return action


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "mptcp_fleet_count"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.executions = collections.Counter()
        self.changed = collections.Counter()
        self.tasks = []  # [name, seconds], in the order they ran
        self._started = None

    def _lap(self, name=None):
        now = time.time()
        if self.tasks:
            self.tasks[-1][1] = round(now - self._started, 3)
        if name is not None:
            self.tasks.append([name, None])
        self._started = now

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._lap(task.get_name())

    def v2_playbook_on_handler_task_start(self, task):
        self._lap(task.get_name())

    def _count(self, result, loop_summary=True):
        if _short(result._task.action) in CONTROLLER_ACTIONS:
            return
        if loop_summary and "results" in result._result:
            return  # its items were counted one by one
        host = result._host.get_name()
        self.executions[host] += 1
        if result._result.get("changed"):
            self.changed[host] += 1

    def v2_runner_on_ok(self, result):
        self._count(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._count(result)

    def v2_runner_item_on_ok(self, result):
        self._count(result, loop_summary=False)

    def v2_runner_item_on_failed(self, result):
        self._count(result, loop_summary=False)

    def v2_runner_retry(self, result):
        self._count(result, loop_summary=False)

    def v2_playbook_on_stats(self, stats):
        self._lap()
        self._write()

    def _write(self):
        path = os.environ.get("MPTCP_FLEET_COUNT")
        if path:
            with open(path, "w") as handle:
                json.dump({"executions": dict(self.executions), "changed": dict(self.changed), "tasks": self.tasks}, handle)
