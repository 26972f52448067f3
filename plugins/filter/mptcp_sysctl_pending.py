# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: mptcp_sysctl_pending
short_description: The net.mptcp knobs that differ from what mptcp_info read
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Compares the options of M(mptcp.linux.mptcp_sysctl) with the raw
    C(sysctl) values of M(mptcp.linux.mptcp_info) (V(path_manager) read as
    C(pm_type) on kernels before 6.15, as the module writes it) and returns
    the options that M(mptcp.linux.mptcp_sysctl) would change.
  - An option it cannot compare (unknown, missing on this kernel, a value
    of the wrong type) counts as differing, so that the module runs and
    says what is wrong with it.
  - The mptcp role skips M(mptcp.linux.mptcp_sysctl) on a converged host
    that keeps no sysctl.d file, one module execution less.
options:
  _input:
    description: The options, as given to M(mptcp.linux.mptcp_sysctl).
    type: dict
    required: true
  current:
    description: The C(sysctl) return value of M(mptcp.linux.mptcp_info).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Read the MPTCP state
  mptcp.linux.mptcp_info:
  register: info

- name: Set the sysctls only when one differs
  mptcp.linux.mptcp_sysctl:
    enabled: true
    path_manager: kernel
  when: wanted | mptcp.linux.mptcp_sysctl_pending(info.sysctl) | length > 0
  vars:
    wanted: {enabled: true, path_manager: kernel}
"""

RETURN = r"""
_value:
  description: The names of the options that differ, sorted.
  type: list
  elements: str
  sample: [scheduler]
"""

from ansible.module_utils.parsing.convert_bool import boolean


def _text(option, value, key):
    """What mptcp_sysctl writes for VALUE into KEY, or None when it is not a
    valid value. Ansible may hand over numbers and booleans as text."""
    from ansible_collections.mptcp.linux.plugins.module_utils import _sysctl
    kind = _sysctl.KNOBS[option][1]
    try:
        if kind == "bool":
            value = boolean(value, strict=True)
        elif kind == "int":
            if isinstance(value, bool):
                return None
            value = int(str(value).strip())
        return _sysctl.to_kernel(option, value, key)
    except (TypeError, ValueError, KeyError):
        return None


def mptcp_sysctl_pending(wanted, current):
    from ansible_collections.mptcp.linux.plugins.module_utils import _sysctl
    current = current or {}
    pending = []
    for option, value in (wanted or {}).items():
        if value is None:
            continue
        if option not in _sysctl.KNOBS:
            pending.append(option)
            continue
        key = "pm_type" if option == "path_manager" and "path_manager" not in current else option
        text = _text(option, value, key)
        if key not in current or text is None or str(current[key]).strip() != text:
            pending.append(option)
    return sorted(pending)


class FilterModule(object):
    def filters(self):
        return {"mptcp_sysctl_pending": mptcp_sysctl_pending}
