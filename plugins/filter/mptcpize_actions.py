# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: mptcpize_actions
short_description: Which services the mptcp.linux.mptcpize role reloads and restarts
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Decides from what this run changed, what systemd reports and what the
    running processes show, which services must restart to run with (or
    without) their drop-in.
  - A service restarts when its drop-in changed or systemd has not loaded it
    yet (C(NeedDaemonReload)); a present one is started even if it was
    stopped, an absent one only if it runs.
  - A running service also restarts when its main process has
    C(libmptcpwrap) (in C(/proc/PID/maps), or in C(/proc/PID/environ) for a
    static program that only reads C(GODEBUG)) although its drop-in is gone,
    or lacks it although the drop-in is there. A run interrupted after the
    reload and before the restart leaves exactly that, and the next run
    completes it.
positional: state, preloaded, changed
options:
  _input:
    description: The role's plan, from P(mptcp.linux.mptcpize_plan#filter).
    type: dict
    required: true
  state:
    description:
      - The services' properties before anything changed (P(mptcp.linux.systemd_show#filter) of
        C(LoadState), C(ActiveState), C(MainPID), C(NeedDaemonReload)).
    type: dict
    required: true
  preloaded:
    description:
      - The files that C(grep -l libmptcpwrap /proc/PID/maps /proc/PID/environ ...) named for the main
        processes of the running services (its C(stdout_lines)); a pid named there has C(libmptcpwrap).
    type: list
    elements: str
    default: []
  changed:
    description: The services whose drop-in this run wrote or removed.
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Restart the services that do not run with their drop-in
  ansible.builtin.systemd_service:
    name: "{{ item }}.service"
    state: restarted
  loop: "{{ (plan | mptcp.linux.mptcpize_actions(state, grep.stdout_lines, changed)).restart }}"
"""

RETURN = r"""
_value:
  description: What to do.
  type: dict
  contains:
    reload:
      description: Whether to run C(systemctl daemon-reload).
      type: bool
    restart:
      description: The services to restart, without C(.service).
      type: list
      elements: str
      sample: [nginx]
"""


def mptcpize_actions(plan, state, preloaded=None, changed=None):
    from ansible_collections.mptcp.linux.plugins.plugin_utils import _mptcpize_role
    return _mptcpize_role.actions(plan, state, preloaded or [], changed or [])


class FilterModule(object):
    def filters(self):
        return {"mptcpize_actions": mptcpize_actions}
