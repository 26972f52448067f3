# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A test's callback: ansible-playbook stops itself (SIGSTOP) as it starts
the first task or handler whose name contains $MPTCP_TEST_STOP_AT, after
the banner and before any host gets the task, so that a test can kill the
run at a task boundary without racing the task's workers
(conftest.playbook_killed_at)."""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import os
import signal

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "stop_at_task"
    CALLBACK_NEEDS_ENABLED = True

    def _maybe_stop(self, task):
        text = os.environ.get("MPTCP_TEST_STOP_AT")
        if text and text in task.get_name():
            os.kill(os.getpid(), signal.SIGSTOP)

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._maybe_stop(task)

    def v2_playbook_on_handler_task_start(self, task):
        self._maybe_stop(task)
