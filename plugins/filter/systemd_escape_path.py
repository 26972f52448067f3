# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: systemd_escape_path
short_description: The unit-name form of a path, as C(systemd-escape --path) prints it
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Simplifies the path as systemd does (repeated and trailing C(/) and C(.)
    components go), then writes each C(/) between components as C(-) and each
    byte other than ASCII letters, digits, C(:), C(_) and a C(.) that does
    not start the name as C(\xNN). C(/) alone (or an empty path) is C(-).
  - For example the device unit of an interface is
    C(sys-subsystem-net-devices-) followed by the escaped interface name and
    C(.device).
  - Refused, with the reason, where C(systemd-escape --path) fails - a C(..)
    component, a relative path that is only C(.), a component longer than
    255 bytes, a path of 4096 bytes or more, a NUL.
  - Meant for templates, after the role has validated its input with messages
    that name the variable; the error here only names the reason.
options:
  _input:
    description: The path.
    type: raw
    required: true
seealso:
  - name: systemd-escape(1)
    description: The command this filter gives the same answer as.
    link: https://www.freedesktop.org/software/systemd/man/latest/systemd-escape.html
"""

EXAMPLES = r"""
- name: The device unit of an interface
  ansible.builtin.debug:
    msg: "{{ ('/sys/subsystem/net/devices/' ~ 'eth-0') | mptcp.linux.systemd_escape_path }}.device"
    # sys-subsystem-net-devices-eth\x2d0.device
"""

RETURN = r"""
_value:
  description: The escaped path, as C(systemd-escape --path) prints it.
  type: str
  sample: sys-subsystem-net-devices-eth\x2d0
"""

from ansible.errors import AnsibleFilterError


def systemd_escape_path(path):
    """``systemd-escape --path PATH``."""
    from ansible_collections.mptcp.linux.plugins.module_utils._quote import QuoteError, systemd_escape_path as _systemd_escape_path
    try:
        return _systemd_escape_path(path)
    except QuoteError as e:
        raise AnsibleFilterError("systemd_escape_path: %s" % e)


class FilterModule(object):
    def filters(self):
        return {"systemd_escape_path": systemd_escape_path}
