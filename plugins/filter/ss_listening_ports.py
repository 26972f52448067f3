# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: ss_listening_ports
short_description: The ports of the listening sockets that ss lists
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Reads the output of C(ss -l -n) (for example C(ss -H -M -l -n), the
    MPTCP listeners) and returns the local port of each listening socket,
    sorted, each once.
  - A socket is a line with a peer field ending in C(:*) (C(0.0.0.0:*),
    C(*:*), C([::]:*)); its local port ends the field before. The header
    line and anything else are skipped.
options:
  _input:
    description: The output of ss.
    type: str
    required: true
"""

EXAMPLES = r"""
- name: List the MPTCP listeners
  ansible.builtin.command:
    argv: [ss, -H, -M, -l, -n]
  register: listeners
  changed_when: false

- name: Assert that port 443 has an MPTCP listener
  ansible.builtin.assert:
    that: 443 in (listeners.stdout | mptcp.linux.ss_listening_ports)
"""

RETURN = r"""
_value:
  description: The listening ports.
  type: list
  elements: int
  sample: [80, 443]
"""

import re


def ss_listening_ports(text):
    ports = set()
    for line in (text or "").splitlines():
        fields = line.split()
        for index, field in enumerate(fields):
            if index and field.endswith(":*"):
                port = fields[index - 1].rsplit(":", 1)[-1]
                if re.fullmatch(r"[0-9]{1,5}", port):
                    ports.add(int(port))
                break
    return sorted(ports)


class FilterModule(object):
    def filters(self):
        return {"ss_listening_ports": ss_listening_ports}
