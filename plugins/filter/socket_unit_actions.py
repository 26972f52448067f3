# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: socket_unit_actions
short_description: What the mptcp.linux.mptcp_socket role stops, reloads and restarts
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Decides, from what this run changed and what systemd and the kernel
    report, what makes systemd run the units as they are on disk. A
    socket's protocol is fixed when systemd opens it, so a socket whose
    configuration changed must stop and start again.
  - A present unit stops before the reload and starts after it when its
    files changed, when systemd has not loaded them yet (C(NeedDaemonReload))
    or when its socket listens with another protocol than the one systemd
    has loaded; with C(Accept=no) the service holding the old listening
    socket stops first. So a run interrupted anywhere leaves either a unit
    that needs a reload or a socket that is not running, and the next run
    completes the change.
  - A switched socket (drop-in) that runs is restarted after the reload on
    the same conditions, after the services of its C(Triggers=)
    (C(Accept=no)); one that does not run stays stopped.
positional: state, listeners, changed
options:
  _input:
    description: The role's plan, from P(mptcp.linux.socket_unit_plan#filter).
    type: dict
    required: true
  state:
    description:
      - The properties of the queried units before anything changed (P(mptcp.linux.systemd_show#filter)
        of C(LoadState), C(ActiveState), C(Accept), C(Triggers), C(Listen), C(SocketProtocol),
        C(NeedDaemonReload)).
    type: dict
    required: true
  listeners:
    description: The C(listeners) of M(mptcp.linux.mptcp_info), read at the same time.
    type: list
    elements: dict
    default: []
  changed:
    description: The names (units and drop-ins) whose files this run wrote or removed.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Reload systemd when a file changed or systemd has not loaded one
  ansible.builtin.systemd_service:
    daemon_reload: true
  when: (plan | mptcp.linux.socket_unit_actions(state, info.listeners, changed)).reload
"""

RETURN = r"""
_value:
  description: The units to act on.
  type: dict
  contains:
    stop:
      description: Units to stop before the reload (services before their sockets).
      type: list
      elements: str
      sample: [echo.service, echo.socket]
    reload:
      description: Whether to run C(systemctl daemon-reload).
      type: bool
    restart:
      description: Switched sockets to restart after the reload.
      type: list
      elements: str
      sample: [ssh.socket]
    stop_services:
      description: Services to stop before those restart (they hold the old listening socket).
      type: list
      elements: str
      sample: [ssh.service]
"""


def socket_unit_actions(plan, state, listeners=None, changed=None):
    from ansible_collections.mptcp.linux.plugins.plugin_utils import _socket_role
    return _socket_role.actions(plan, state, listeners or [], changed or [])


class FilterModule(object):
    def filters(self):
        return {"socket_unit_actions": socket_unit_actions}
