# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: socket_listener_problems
short_description: The ports of the mptcp.linux.mptcp_socket role's sockets that are not MPTCP listeners
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Returns one message per port that should be an MPTCP listener held by
    systemd and is not - every port of the present units, and the ports
    (C(Listen=)) of the switched sockets that run.
positional: state, listeners, skip
options:
  _input:
    description: The role's plan, from P(mptcp.linux.socket_unit_plan#filter).
    type: dict
    required: true
  state:
    description: The properties of the queried units (P(mptcp.linux.systemd_show#filter)).
    type: dict
    required: true
  listeners:
    description: The C(listeners) of M(mptcp.linux.mptcp_info).
    type: list
    elements: dict
    default: []
  skip:
    description: Names not to check (in check mode, what the run would have started).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Wait for the MPTCP listeners
  mptcp.linux.mptcp_info:
    connections: false
    listeners: true
  register: info
  until: plan | mptcp.linux.socket_listener_problems(state, info.listeners) | length == 0
  retries: 30
  delay: 1
"""

RETURN = r"""
_value:
  description: One message per port without an MPTCP listener.
  type: list
  elements: str
  sample: ["echo.socket: no MPTCP listener on port 7000"]
"""


def socket_listener_problems(plan, state, listeners=None, skip=None):
    from ansible_collections.mptcp.linux.plugins.plugin_utils import _socket_role
    return _socket_role.listener_problems(plan, state, listeners or [], skip or [])


class FilterModule(object):
    def filters(self):
        return {"socket_listener_problems": socket_listener_problems}
