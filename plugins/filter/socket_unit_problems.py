# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: socket_unit_problems
short_description: Why the mptcp.linux.mptcp_socket role refuses its input
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Checks C(mptcp_socket_units) and C(mptcp_socket_dropins) and returns one
    message per problem, each naming the variable path (for example
    C(mptcp_socket_units[0].exec_start)) and the reason.
  - Unit names are letters, digits, C(:), C(_), C(.) and C(-) (a switched
    socket may be a template instance, C(name@instance)); listen addresses
    are C(PORT), C(IPV4:PORT) or C([IPV6]:PORT), each listened on once;
    user names are names or numbers.
  - Values written into the units go through the quoting layer for systemd
    and are refused only when they cannot be written so that systemd reads
    them back unchanged. A list C(exec_start) is quoted word by word; a
    string C(exec_start) is systemd syntax written as it is, so a trailing
    backslash (which would join the next line of the unit), a control
    character, a lone C(;) (a second command) and a program that is a
    relative path or starts with an C(ExecStart=) prefix are refused.
    C(environment) names must be variable names.
  - With O(state) (the units read with C(systemctl show) and parsed by
    P(mptcp.linux.systemd_show#filter)), it also refuses what the host rules out -
    a unit the role would write over or remove that it did not write
    (loaded from another file than O(unit_dir)), and a drop-in for a socket
    that is not a unit on the host.
positional: dropins
options:
  _input:
    description: C(mptcp_socket_units).
    type: list
    elements: dict
    required: true
  dropins:
    description: C(mptcp_socket_dropins).
    type: list
    elements: dict
    default: []
  state:
    description: The units' properties (C(LoadState), C(FragmentPath)), keyed by unit name.
    type: dict
  unit_dir:
    description: Where the role writes its units.
    type: str
    default: /etc/systemd/system
"""

EXAMPLES = r"""
- name: Refuse what cannot be written into a unit
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join('; ') }}"
  vars:
    problems: "{{ mptcp_socket_units | mptcp.linux.socket_unit_problems(mptcp_socket_dropins) }}"
"""

RETURN = r"""
_value:
  description: One message per problem; empty when the input is accepted.
  type: list
  elements: str
  sample:
    - "mptcp_socket_units[0].exec_start: ends with a backslash, which would join the next line of the unit to this command"
    - "mptcp_socket_units[1].listen[0]: '70000' is not PORT, IPV4:PORT or [IPV6]:PORT (port 1-65535)"
"""


def socket_unit_problems(units, dropins=None, state=None, unit_dir="/etc/systemd/system"):
    from ansible_collections.mptcp.linux.plugins.plugin_utils import _socket_role
    found = _socket_role.problems(units, dropins)
    if state is not None and not found:
        found = _socket_role.host_problems(units, dropins, state, unit_dir)
    return found


class FilterModule(object):
    def filters(self):
        return {"socket_unit_problems": socket_unit_problems}
