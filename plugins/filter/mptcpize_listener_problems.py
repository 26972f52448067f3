# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: mptcpize_listener_problems
short_description: The services of the mptcp.linux.mptcpize role that do not listen over MPTCP only
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - For each present service whose listeners are checked, its main process
    must hold an MPTCP listener and no plain TCP one. Returns one message
    per service that does not.
positional: state, listeners, skip
options:
  _input:
    description: The role's plan, from P(mptcp.linux.mptcpize_plan#filter).
    type: dict
    required: true
  state:
    description: The services' C(MainPID) after the restarts (P(mptcp.linux.systemd_show#filter)).
    type: dict
    required: true
  listeners:
    description: The C(listeners) of M(mptcp.linux.mptcp_info), with the pids that hold each.
    type: list
    elements: dict
    default: []
  skip:
    description: Services not to check (not restarted onto their drop-in by this run).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Wait for the services to listen over MPTCP
  mptcp.linux.mptcp_info:
    connections: false
    listeners: true
  register: info
  until: plan | mptcp.linux.mptcpize_listener_problems(after, info.listeners) | length == 0
  retries: 30
  delay: 1
"""

RETURN = r"""
_value:
  description: One message per service that does not listen over MPTCP only.
  type: list
  elements: str
  sample: ["nginx.service (pid 612) still listens on plain TCP at 0.0.0.0:80"]
"""


def mptcpize_listener_problems(plan, state, listeners=None, skip=None):
    from ansible_collections.mptcp.linux.plugins.plugin_utils import _mptcpize_role
    return _mptcpize_role.listener_problems(plan, state, listeners or [], skip or [])


class FilterModule(object):
    def filters(self):
        return {"mptcpize_listener_problems": mptcpize_listener_problems}
