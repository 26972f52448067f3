# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: mptcpize_plan
short_description: The drop-ins the mptcp.linux.mptcpize role writes and removes
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Renders the drop-in C(<name>.service.d/50-mptcpize.conf) of each present
    service, with C(LD_PRELOAD) and C(GODEBUG) quoted for systemd's
    C(Environment=), and lists the drop-ins of absent services.
  - Expects input that P(mptcp.linux.mptcpize_problems#filter) accepted.
positional: unit_dir, library, verify_listeners
options:
  _input:
    description: C(mptcpize_services).
    type: list
    elements: dict
    required: true
  unit_dir:
    description: Where the drop-in directories are.
    type: str
    default: /etc/systemd/system
  library:
    description: The path of C(libmptcpwrap.so.0) on the host.
    type: str
    required: true
  verify_listeners:
    description: C(mptcpize_verify_listeners), the default of each service's C(verify_listeners).
    type: bool
    default: true
"""

EXAMPLES = r"""
- name: Write the drop-ins
  ansible.builtin.copy:
    content: "{{ item.content }}"
    dest: "{{ item.path }}"
    mode: "0644"
  loop: "{{ (mptcpize_services | mptcp.linux.mptcpize_plan('/etc/systemd/system', library)).write }}"
"""

RETURN = r"""
_value:
  description: What the role does with files and services.
  type: dict
  contains:
    services:
      description: C(mptcpize_services) with the defaults filled in (C(name), C(state), C(verify)).
      type: list
      elements: dict
    queried:
      description: The units read with C(systemctl show).
      type: list
      elements: str
    write:
      description: The drop-ins to install, C({name, file, path, content}).
      type: list
      elements: dict
    remove:
      description: The drop-ins of absent services, C({name, path}).
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
    verify:
      description: The units C(systemd-analyze verify) loads with the staged files first in the unit path.
      type: list
      elements: str
"""

from ansible.errors import AnsibleFilterError


def mptcpize_plan(services, unit_dir="/etc/systemd/system", library=None, verify_listeners=True):
    from ansible_collections.mptcp.linux.plugins.module_utils._quote import QuoteError
    from ansible_collections.mptcp.linux.plugins.plugin_utils import _mptcpize_role
    if not library:
        raise AnsibleFilterError("mptcpize_plan: the library path is required")
    try:
        return _mptcpize_role.plan(services, unit_dir, library, verify_listeners)
    except QuoteError as exc:
        raise AnsibleFilterError("mptcpize_plan: the library path %r: %s" % (library, exc))


class FilterModule(object):
    def filters(self):
        return {"mptcpize_plan": mptcpize_plan}
