#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mptcp_routing
short_description: Loosen a strict rp_filter and route each MPTCP endpoint address out of its own interface
version_added: 1.0.0
description:
  - Two host settings that multi-homed MPTCP hosts need, in one call.
  - O(rp_filter_interfaces) loosens a strict IPv4 reverse-path filter. Strict filtering drops
    the packets of subflows that arrive on another interface than the one the reverse route uses.
    An interface whose effective C(rp_filter), the larger of C(net.ipv4.conf.all.rp_filter) and
    its own value, is 1 (strict) gets 2 (loose) on the interface itself. 0 and 2 are left alone,
    and so is C(conf.all).
  - O(policy_routing) gives each endpoint address its own routing table, so that a subflow bound
    to an address leaves through the interface that owns it. Endpoint address A with id I gets the
    rule C(from A lookup T) at O(policy_routing.priority), T = O(policy_routing.table_base) + I. Table T
    holds the connected prefix of A on its interface and, when the main table has a default route
    through that interface, that default route.
  - The tables O(policy_routing.table_base) + 1 to + 255 belong to this module, except the kernel's
    own 253 (default), 254 (main) and 255 (local). A rule at O(policy_routing.priority) pointing to one of
    them that no endpoint needs is deleted, and so are the routes of such a table.
  - The whole request is checked against the host before anything changes. Then the state is
    read, the difference planned and written, and read back, all under the network namespace's
    MPTCP lock. When the kernel refuses a change part-way, or the read-back differs from the plan,
    what this run changed is put back and read back again, and the failure says what state it left.
  - Rules and routes live in kernel memory only. The result's RV(batch) holds the C(ip -batch)
    lines that recreate them, for a boot-time unit; RV(rp_filter_persist) names the interfaces to
    keep loose at boot.
author:
  - mptcp.linux maintainers (@mptcp-linux)
extends_documentation_fragment:
  - mptcp.linux.netns
  - mptcp.linux.lock
  - mptcp.linux.netns.attributes
requirements:
  - pyroute2 (0.7 or later) on the managed host, for O(policy_routing)
options:
  rp_filter_interfaces:
    description:
      - Interfaces whose strict IPv4 C(rp_filter) is loosened.
      - An interface that does not exist is an error.
    type: list
    elements: str
  policy_routing:
    description:
      - Per-source policy routing of the MPTCP endpoint addresses.
    type: dict
    suboptions:
      state:
        description:
          - V(present) makes the rules and tables exactly what O(policy_routing.endpoints) need.
          - V(absent) deletes the module's rules at O(policy_routing.priority) and empties its tables.
        type: str
        choices: [present, absent]
        default: present
      endpoints:
        description:
          - The endpoints whose addresses are routed, in the shape M(mptcp.linux.mptcp_endpoints)
            returns them in RV(mptcp.linux.mptcp_endpoints#module:after), which can be passed as is.
          - An endpoint flagged C(implicit) (created by the kernel for a live connection) is skipped.
        type: list
        elements: dict
        default: []
        suboptions:
          address:
            description:
              - The endpoint's IPv4 or IPv6 address. An interface of the host must hold it.
            type: str
            required: true
          id:
            description:
              - The endpoint's id, 1 to 255, as the kernel gave it. The table is O(policy_routing.table_base) + id.
              - Required, except in check mode. There an endpoint without id is one that
                M(mptcp.linux.mptcp_endpoints) would add, with an id the kernel chooses. It is
                listed in RV(pending) and counts as a change.
            type: int
          dev:
            description:
              - The interface that holds O(policy_routing.endpoints[].address), when several do. Its
                routes go through it. Default is the interface that holds the address.
            type: str
          port:
            description:
              - Ignored. Accepted so that endpoints can be passed as M(mptcp.linux.mptcp_endpoints) returns them.
            type: int
          flags:
            description:
              - Ignored, except that an endpoint flagged C(implicit) is skipped.
            type: list
            elements: str
      table_base:
        description:
          - Routing table numbers are this plus the endpoint id.
          - 0 to 4294967040. A table_base + id that is one of the kernel's tables 253, 254 or 255 is an error.
        type: int
        default: 100
      priority:
        description:
          - Priority of the rules, 1 to 32765, before the main table's rule (32766).
        type: int
        default: 1000
notes:
  - Changing O(policy_routing.table_base) or O(policy_routing.priority) leaves the rules and tables of
    the old values. Remove them first with O(policy_routing.state=absent) and the old values.
  - rp_filter exists for IPv4 only.
seealso:
  - module: mptcp.linux.mptcp_endpoints
  - name: ip-rule(8)
    description: The iproute2 manual page for routing policy rules.
    link: https://man7.org/linux/man-pages/man8/ip-rule.8.html
  - name: rp_filter
    description: The kernel's description of net.ipv4.conf.*.rp_filter.
    link: https://docs.kernel.org/networking/ip-sysctl.html
"""

EXAMPLES = r"""
- name: Set the endpoints of two uplinks
  mptcp.linux.mptcp_endpoints:
    state: overridden
    config:
      - dev: eth1
        flags: [subflow]
      - dev: eth2
        flags: [subflow, backup]
  register: mptcp_endpoints_result

- name: Loosen rp_filter and route each endpoint address out of its own interface
  mptcp.linux.mptcp_routing:
    rp_filter_interfaces: [eth1, eth2]
    policy_routing:
      endpoints: "{{ mptcp_endpoints_result.after }}"
  register: mptcp_routing_result

- name: Keep the rules and tables at boot (replayed with ip -4 -batch)
  ansible.builtin.copy:
    dest: /etc/mptcp/routing-ipv4.batch
    content: "{{ mptcp_routing_result.batch.ipv4 | map('regex_replace', '$', '\n') | join }}"
    mode: "0644"

- name: Route one address of a namespace, with an explicit id
  mptcp.linux.mptcp_routing:
    netns: blue
    policy_routing:
      table_base: 1000
      priority: 500
      endpoints:
        - address: 2001:db8:2::10
          id: 3

- name: Remove the rules and tables
  mptcp.linux.mptcp_routing:
    policy_routing:
      state: absent
"""

RETURN = r"""
before:
  description:
    - The state before the run. V(rp_filter) has the values of C(all) and of each of
      O(rp_filter_interfaces) (null for an interface that does not exist). V(rules) are the rules at
      O(policy_routing.priority) that point to the module's tables, V(tables) the routes of its tables
      that are not empty. A rule with other selectors than the source lists them in V(selectors).
  returned: always
  type: dict
  sample:
    rp_filter: {"all": 1, "eth1": 1, "eth2": 0}
    rules: []
    tables: []
after:
  description:
    - The state after the run, read back from the kernel; in check mode, the prediction.
  returned: always
  type: dict
  sample:
    rp_filter: {"all": 1, "eth1": 2, "eth2": 2}
    rules:
      - {"family": "ipv4", "priority": 1000, "src": "192.0.2.10", "table": 101}
    tables:
      - family: ipv4
        table: 101
        routes:
          - {"dst": "192.0.2.0/24", "gateway": null, "dev": "eth1", "prefsrc": "192.0.2.10"}
          - {"dst": "default", "gateway": "192.0.2.1", "dev": "eth1", "prefsrc": null}
commands:
  description: The commands equivalent to what was (or would be) done, in order.
  returned: always
  type: list
  elements: str
  sample:
    - sysctl -w net.ipv4.conf.eth1.rp_filter=2
    - ip -4 route add 192.0.2.0/24 dev eth1 src 192.0.2.10 table 101
    - ip -4 route add default via 192.0.2.1 dev eth1 table 101
    - ip -4 rule add from 192.0.2.10 table 101 priority 1000
batch:
  description:
    - Per address family, the C(ip -batch) lines that recreate the rules and tables on a host
      that has the same interfaces and addresses (C(ip -4 -batch FILE), C(ip -6 -batch FILE);
      a batch line cannot choose its family). Every word is quoted for C(ip -batch); an interface
      name it cannot carry is refused before anything changes.
    - Empty lists without O(policy_routing) or with O(policy_routing.state=absent).
  returned: always
  type: dict
  sample:
    ipv4:
      - rule add from 192.0.2.10 table 101 priority 1000
      - route replace 192.0.2.0/24 dev eth1 src 192.0.2.10 table 101
      - route replace default via 192.0.2.1 dev eth1 table 101
    ipv6: []
rp_filter_persist:
  description: The interfaces of O(rp_filter_interfaces) whose effective C(rp_filter) is not 0
    afterwards, the ones to keep loose (2) at boot.
  returned: always
  type: list
  elements: str
  sample: [eth1, eth2]
pending:
  description:
    - In check mode, the endpoints without id; they would be routed once the kernel assigns
      their id. Always empty outside check mode.
  returned: always
  type: list
  elements: dict
  sample: [{"address": "192.0.2.10", "reason": "would be routed once the kernel assigns its id"}]
restored:
  description: On a failure after a change, whether the state read back is again the state before the run.
  returned: on failure after a change
  type: bool
  sample: true
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mptcp.linux.plugins.module_utils import _netlink, _routing, _routing_host
from ansible_collections.mptcp.linux.plugins.module_utils._common import NETNS_ARGUMENT, enter_netns, netns_restored, lock_timeout_problem
from ansible_collections.mptcp.linux.plugins.module_utils._lock import LOCK_ARGUMENT, ModuleLock

ENDPOINT_OPTIONS = dict(
    address=dict(type="str", required=True),
    id=dict(type="int"),
    dev=dict(type="str"),
    port=dict(type="int"),
    flags=dict(type="list", elements="str"),
)


@netns_restored
def main():
    argument_spec = dict(
        rp_filter_interfaces=dict(type="list", elements="str"),
        policy_routing=dict(type="dict", options=dict(
            state=dict(type="str", choices=list(_routing.STATES), default="present"),
            endpoints=dict(type="list", elements="dict", default=[], options=ENDPOINT_OPTIONS),
            table_base=dict(type="int", default=_routing.DEFAULT_TABLE_BASE),
            priority=dict(type="int", default=_routing.DEFAULT_PRIORITY),
        )),
    )
    argument_spec.update(NETNS_ARGUMENT)
    argument_spec.update(LOCK_ARGUMENT)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True,
                           required_one_of=[("rp_filter_interfaces", "policy_routing")])
    problem = lock_timeout_problem(module)
    if problem:
        module.fail_json(msg="%s. Nothing was changed." % problem)
    try:
        request = _routing.validate(module.params, module.check_mode)
    except _routing.RoutingError as exc:
        module.fail_json(msg="%s. Nothing was changed." % exc)

    enter_netns(module)
    if request["routing"] is not None:
        _netlink.require_pyroute2(module)
    with ModuleLock(module, "mptcp.linux.mptcp_routing"):
        try:
            result = _routing_host.converge(request, module.check_mode)
        except _routing.RoutingError as exc:
            module.fail_json(msg="%s. Nothing was changed." % exc)
        except _routing_host.Failure as exc:
            module.fail_json(msg=exc.msg, **exc.details)
    if module._diff:
        result["diff"] = dict(before=result["before"], after=result["after"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
