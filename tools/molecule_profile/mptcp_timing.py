# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Callback for the Molecule harness: one JSON line per task and host, and
one per playbook, appended to $MPTCP_TIMING_FILE (the harness sets it per
scenario). tools/molecule-profile turns the lines into tables. Writes
nothing when the variable is unset."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: mptcp_timing
type: aggregate
short_description: Record the wall time of every task and playbook as JSON lines
description:
  - Appends one JSON object per task result and per playbook to the file named by
    the MPTCP_TIMING_FILE environment variable.
requirements:
  - MPTCP_TIMING_FILE set in the environment
"""

import json
import os
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "mptcp_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super(CallbackModule, self).__init__()
        self._path = os.environ.get("MPTCP_TIMING_FILE")
        self._playbook = None
        self._playbook_start = None
        self._task_start = {}
        self._handler = False

    def _write(self, record):
        if not self._path:
            return
        record.update(scenario=os.environ.get("MOLECULE_SCENARIO_NAME"), playbook=self._playbook)
        with open(self._path, "a") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")

    def v2_playbook_on_start(self, playbook):
        self._playbook = os.path.basename(playbook._file_name)
        self._playbook_start = time.time()

    def _start(self, task, handler):
        self._task_start[task._uuid] = (time.time(), handler)

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._start(task, False)

    def v2_playbook_on_handler_task_start(self, task):
        self._start(task, True)

    def _result(self, result, status):
        task = result._task
        start, handler = self._task_start.get(task._uuid, (time.time(), False))
        res = result._result or {}
        self._write({
            "kind": "task", "host": result._host.get_name(), "task": task.get_name(),
            "action": task.action, "status": status, "handler": handler,
            "attempts": res.get("attempts"), "start": start, "end": time.time(),
        })

    def v2_runner_on_ok(self, result):
        self._result(result, "ok")

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result(result, "ignored" if ignore_errors else "failed")

    def v2_runner_on_skipped(self, result):
        self._result(result, "skipped")

    def v2_runner_on_unreachable(self, result):
        self._result(result, "unreachable")

    def v2_playbook_on_stats(self, stats):
        self._write({"kind": "playbook", "start": self._playbook_start, "end": time.time()})
