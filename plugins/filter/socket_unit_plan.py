# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: socket_unit_plan
short_description: The files the mptcp.linux.mptcp_socket role writes and removes
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Renders the units of C(mptcp_socket_units) and the drop-ins of
    C(mptcp_socket_dropins) as the role installs them, every value quoted
    for systemd (C(Description=) with C(%) doubled, each word of a list
    C(exec_start) quoted so that systemd runs it as given with no C($) or
    C(%) expansion, C(Environment=) assignments quoted), and lists what the
    role removes, stops and reads.
  - Expects input that P(mptcp.linux.socket_unit_problems#filter) accepted.
positional: dropins, unit_dir
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
  unit_dir:
    description: Where the units and drop-ins are written.
    type: str
    default: /etc/systemd/system
"""

EXAMPLES = r"""
- name: Install the units and drop-ins
  ansible.builtin.copy:
    content: "{{ item.content }}"
    dest: "{{ item.path }}"
    mode: "0644"
  loop: "{{ (mptcp_socket_units | mptcp.linux.socket_unit_plan(mptcp_socket_dropins)).write }}"
  loop_control:
    label: "{{ item.file }}"
"""

RETURN = r"""
_value:
  description: What the role does with files and units.
  type: dict
  contains:
    units:
      description: C(mptcp_socket_units) with the defaults filled in and the suffixes stripped from the names.
      type: list
      elements: dict
    dropins:
      description: C(mptcp_socket_dropins), likewise.
      type: list
      elements: dict
    write:
      description: The files to install, C({name, file, path, content}); C(file) is relative to the unit directory.
      type: list
      elements: dict
      sample: [{name: echo, file: echo.socket, path: /etc/systemd/system/echo.socket, content: "..."}]
    remove:
      description: The files of absent entries, C({name, path}).
      type: list
      elements: dict
    dirs:
      description: The drop-in directories to create.
      type: list
      elements: str
    emptied:
      description: The drop-in directories to remove when nothing else is left in them.
      type: list
      elements: str
    retire:
      description: The units of absent entries to stop before their files go, C({unit, disable}).
      type: list
      elements: dict
    sockets:
      description: The sockets of the present units, enabled and started.
      type: list
      elements: str
    queried:
      description: The units read with C(systemctl show) before anything changes.
      type: list
      elements: str
    verify:
      description: The units C(systemd-analyze verify) loads with the staged files first in the unit path.
      type: list
      elements: str
"""

from ansible.errors import AnsibleFilterError


def socket_unit_plan(units, dropins=None, unit_dir="/etc/systemd/system"):
    from ansible_collections.mptcp.linux.plugins.module_utils._quote import QuoteError
    from ansible_collections.mptcp.linux.plugins.plugin_utils import _socket_role
    try:
        return _socket_role.plan(units, dropins, unit_dir)
    except (QuoteError, _socket_role.FieldError) as exc:
        raise AnsibleFilterError("socket_unit_plan: input that socket_unit_problems refuses: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"socket_unit_plan": socket_unit_plan}
