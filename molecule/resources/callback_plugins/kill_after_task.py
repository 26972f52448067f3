# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fault injection for the Molecule scenarios: kill ansible-playbook with
SIGKILL right after the task named in MPTCP_KILL_AFTER_TASK has changed
something, as a lost controller or a kill -9 would. The host keeps what that
task did and nothing of what came after, which leaves a role interrupted at
a known point. Loaded from ANSIBLE_CALLBACK_PLUGINS; inert without the
variable."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: kill_after_task
type: aggregate
short_description: Kill the run right after a named task changed something
description:
  - Sends SIGKILL to ansible-playbook once the task whose name is in the
    environment variable C(MPTCP_KILL_AFTER_TASK) reports a change.
author: mptcp.linux maintainers (@mptcp-linux)
"""

import os
import signal

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "kill_after_task"
    CALLBACK_NEEDS_ENABLED = False

    def v2_runner_on_ok(self, result):
        target = os.environ.get("MPTCP_KILL_AFTER_TASK")
        # pylint: disable-next=protected-access
        if target and result._task.name == target and result._result.get("changed"):
            os.kill(os.getpid(), signal.SIGKILL)
