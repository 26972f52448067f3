# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: nmcli_mptcp_flags
short_description: NetworkManager's active connections with their connection.mptcp-flags as numbers
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Takes the results of a loop of C(nmcli -g connection.mptcp-flags connection show UUID)
    commands whose items are C(DEVICE:UUID) (as C(nmcli -g DEVICE,UUID connection show --active)
    prints them), and returns one entry per connection with its device, its uuid and its flags
    as a number. C(nmcli -g) prints the flags in hexadecimal, whatever the locale.
  - A connection whose flags lack the C(disabled) bit (0x1) lets NetworkManager set MPTCP
    endpoints, even with 0x0, the default.
options:
  _input:
    description: The registered loop results (its V(results) list).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: The connections on which NetworkManager manages MPTCP endpoints
  ansible.builtin.debug:
    msg: "{{ flags_read.results | mptcp.linux.nmcli_mptcp_flags | rejectattr('flags', 'odd') | map(attribute='device') }}"
"""

RETURN = r"""
_value:
  description: One entry per connection, in the order of the results.
  type: list
  elements: dict
  sample: [{"device": "eth1", "uuid": "0b8c0f2e-5d8e-4c43-9c55-1a3f5a2e7b11", "flags": 26}]
"""


def nmcli_mptcp_flags(results):
    connections = []
    for result in results or []:
        device, uuid = str(result["item"]).split(":", 1)
        connections.append({"device": device, "uuid": uuid, "flags": int(str(result.get("stdout", "")).strip() or "0", 16)})
    return connections


class FilterModule(object):
    def filters(self):
        return {"nmcli_mptcp_flags": nmcli_mptcp_flags}
