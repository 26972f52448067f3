# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: systemd_show
short_description: Parse the output of systemctl show for several units
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Reads what C(systemctl show --property=KEY,... -- UNIT...) prints, one
    block of C(KEY=VALUE) lines per unit, in the order the units were
    given, the blocks separated by an empty line.
  - Returns a dictionary keyed by unit name. A property that may appear more
    than once (C(Listen=) of a socket) is returned as a list when it is named
    in O(lists); the others are strings, the last value printed.
  - Fails when the output has more blocks than units or a line that is not
    C(KEY=VALUE), rather than attributing properties to the wrong unit.
positional: units, lists
options:
  _input:
    description: The command's standard output, as text or as a list of lines (C(stdout_lines)).
    type: raw
    required: true
  units:
    description: The units, in the order given to C(systemctl show).
    type: list
    elements: str
    required: true
  lists:
    description: Properties that may repeat, returned as lists (empty when absent).
    type: list
    elements: str
    default: []
"""

EXAMPLES = r"""
- name: Read the sockets' state
  ansible.builtin.command:
    argv: [systemctl, show, "--property=ActiveState,Listen", --, ssh.socket, echo.socket]
  register: show
  changed_when: false

- name: Show the ports ssh.socket listens on
  ansible.builtin.debug:
    msg: "{{ (show.stdout | mptcp.linux.systemd_show(['ssh.socket', 'echo.socket'], ['Listen']))['ssh.socket'].Listen }}"
"""

RETURN = r"""
_value:
  description: The properties of each unit.
  type: dict
  sample:
    ssh.socket: {ActiveState: active, Listen: ["[::]:22 (Stream)"]}
    echo.socket: {ActiveState: inactive, Listen: []}
"""

from ansible.errors import AnsibleFilterError


def systemd_show(output, units, lists=None):
    from ansible_collections.mptcp.linux.plugins.plugin_utils import _systemd
    try:
        return _systemd.show(output, units, lists or [])
    except _systemd.ShowError as exc:
        raise AnsibleFilterError("systemd_show: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"systemd_show": systemd_show}
