# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: mptcpize_problems
short_description: Why the mptcp.linux.mptcpize role refuses its input
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Checks C(mptcpize_services) and C(mptcpize_library) and returns one
    message per problem, each naming the variable path.
  - Service names are letters, digits, C(:), C(_), C(.) and C(-), with an
    optional C(@instance); each is listed once (a trailing C(.service) is
    ignored).
  - The library is an absolute path without blanks or C(:), which the
    dynamic loader would read as the end of the path in C(LD_PRELOAD).
  - With O(state) (P(mptcp.linux.systemd_show#filter) of C(LoadState)), it
    also refuses present services that are not units on the host.
positional: library
options:
  _input:
    description: C(mptcpize_services).
    type: list
    elements: dict
    required: true
  library:
    description: C(mptcpize_library); empty means found on the host.
    type: str
    default: ""
  state:
    description: The services' properties, keyed by unit name (C(nginx.service)).
    type: dict
"""

EXAMPLES = r"""
- name: Refuse service entries that are not unit names
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join('; ') }}"
  vars:
    problems: "{{ mptcpize_services | mptcp.linux.mptcpize_problems(mptcpize_library) }}"
"""

RETURN = r"""
_value:
  description: One message per problem; empty when the input is accepted.
  type: list
  elements: str
  sample:
    - "mptcpize_services[1].name: 'nginx' is listed twice"
"""


def mptcpize_problems(services, library="", state=None):
    from ansible_collections.mptcp.linux.plugins.plugin_utils import _mptcpize_role
    found = _mptcpize_role.problems(services, library)
    if state is not None and not found:
        found = _mptcpize_role.host_problems(services, state)
    return found


class FilterModule(object):
    def filters(self):
        return {"mptcpize_problems": mptcpize_problems}
