# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: probe_targets
short_description: The targets option of mptcp_probe for a group of servers
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Turns inventory names of servers into the O(mptcp.linux.mptcp_probe#module:targets)
    list, so that a client probes every server in one module execution.
  - A server's C(host) is its C(mptcp_verify_address), else its
    C(ansible_host), else its inventory name; its C(expect_reply) is its
    C(mptcp_verify_listener) (default true, since C(playbooks/verify.yml) starts an
    echo listener there); its C(name) is the inventory name.
options:
  _input:
    description: The servers' inventory names.
    type: list
    elements: str
    required: true
  hostvars:
    description: The play's C(hostvars).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Probe every server in one call
  mptcp.linux.mptcp_probe:
    port: 4242
    targets: "{{ groups['mptcp_servers'] | mptcp.linux.probe_targets(hostvars) }}"
    expect_subflows: 2
"""

RETURN = r"""
_value:
  description: One target per server, in the order given.
  type: list
  elements: dict
  sample: [{"name": "web1", "host": "10.0.1.2", "expect_reply": true}]
"""

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean


def probe_targets(servers, hostvars):
    targets = []
    for name in servers or []:
        try:
            variables = hostvars[name]
        except KeyError:
            raise AnsibleFilterError("probe_targets: %r is not in the inventory" % (name,))
        host = variables.get("mptcp_verify_address") or variables.get("ansible_host") or name
        listener = variables.get("mptcp_verify_listener")
        targets.append({"name": name, "host": str(host),
                        "expect_reply": True if listener is None else boolean(listener, strict=False)})
    return targets


class FilterModule(object):
    def filters(self):
        return {"probe_targets": probe_targets}
