#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mptcp_info
short_description: Report a host's MPTCP state
version_added: 1.0.0
description:
  - Reads, and never changes, everything that decides whether MPTCP works on a host.
  - It reports the kernel release, and whether an MPTCP socket can be opened.
    The probe is a real C(socket(IPPROTO_MPTCP)); when it fails, the report
    gives the errno and what it means.
  - It reports every C(net.mptcp.*) sysctl, the available schedulers and path
    managers, the endpoints and limits, the MPTcpExt counters, and the live
    MPTCP connections with their number of subflows.
  - With O(listeners), it also lists the listening TCP and MPTCP sockets and
    the processes that hold them, which tells whether a service really
    listens over MPTCP.
author:
  - mptcp.linux maintainers (@mptcp-linux)
extends_documentation_fragment:
  - mptcp.linux.netns
  - mptcp.linux.netns.read_only_attributes
requirements:
  - pyroute2 (0.7 or later) on the managed host, for endpoints and limits
    (with O(host), the module answers without it)
options:
  connections:
    description:
      - Whether to list the live MPTCP connections (sock_diag).
    type: bool
    default: true
  listeners:
    description:
      - Whether to list the listening TCP and MPTCP sockets (sock_diag), each
        with the pids of the processes that hold it open (their file
        descriptors in C(/proc)).
      - The TCP subflow through which an MPTCP socket listens belongs to that
        MPTCP listener and is not listed as a TCP one.
    type: bool
    default: false
    version_added: 1.0.0
  host:
    description:
      - Whether to also report, in RV(host), what a role asks of the host
        before it changes anything. That is whether systemd runs it, which of
        O(host_files) exist, and what the collection needs that is missing.
      - With it the module answers without pyroute2 too (the kernel release,
        the probe, the sysctls and the counters; no RV(endpoints) and no
        RV(limits)) and lists C(pyroute2) in RV(host.missing), so that a
        role can install the packages first and read again only then.
    type: bool
    default: false
    version_added: 1.1.0
  interfaces:
    description:
      - Whether to also report, in RV(interfaces), the interfaces and their
        addresses, exactly as M(mptcp.linux.mptcp_endpoints) reads them to
        resolve a O(mptcp.linux.mptcp_endpoints#module:config[].dev).
      - With the endpoints, they are everything that module plans from, so
        that the controller can plan without a dry run on the host (the
        P(mptcp.linux.mptcp_endpoints_pending#filter) filter).
      - Needs pyroute2, like RV(endpoints).
    type: bool
    default: false
    version_added: 1.1.0
  host_files:
    description:
      - The paths to report in RV(host.files) (with O(host)), each with
        whether something exists there. A dangling symlink counts as existing.
    type: list
    elements: path
    default: []
    version_added: 1.1.0
notes:
  - "Failure semantics: the module reads and changes nothing, so it has
    nothing to put back. It takes no lock: a read during another run's change
    can see part of that change (each of the endpoints, the limits and each
    sysctl is read in one step)."
seealso:
  - module: mptcp.linux.mptcp_probe
"""

EXAMPLES = r"""
- name: Read the MPTCP state
  mptcp.linux.mptcp_info:
  register: mptcp

- name: Stop when MPTCP cannot work on this host
  ansible.builtin.assert:
    that: mptcp.usable
    fail_msg: "MPTCP is not usable: {{ mptcp.usable_reason }}"

- name: Show the subflows of the live connections
  ansible.builtin.debug:
    msg: "{{ mptcp.connections | selectattr('state', 'eq', 'ESTAB') | map(attribute='subflows') | list }}"

- name: Read the host with its MPTCP state, with or without pyroute2
  mptcp.linux.mptcp_info:
    connections: false
    host: true
    host_files: [/etc/systemd/system/mptcp-follow.service]
  register: mptcp

- name: Install pyroute2 and iproute2 only when the read finds them missing
  ansible.builtin.package:
    name: [python3-pyroute2, iproute2]
    state: present
  when: mptcp.host.missing | length > 0

- name: Read the listening sockets
  mptcp.linux.mptcp_info:
    connections: false
    listeners: true
  register: mptcp

- name: Require an MPTCP listener on port 443
  ansible.builtin.assert:
    that: mptcp.listeners | selectattr('protocol', 'eq', 'mptcp') | selectattr('port', 'eq', 443) | list | length > 0
"""

RETURN = r"""
kernel:
  description: The running kernel release.
  returned: always
  type: str
  sample: 6.12.48-amd64
usable:
  description: Whether an MPTCP socket can be opened here.
  returned: always
  type: bool
  sample: true
usable_errno:
  description: The errno of the failed C(socket(IPPROTO_MPTCP)) call, or null.
  returned: always
  type: str
  sample: ENOPROTOOPT
usable_reason:
  description: What the probe's result means.
  returned: always
  type: str
  sample: MPTCP is disabled in this network namespace (net.mptcp.enabled = 0)
sysctl:
  description: Every file under C(/proc/sys/net/mptcp), as text.
  returned: always
  type: dict
  sample: {"enabled": "1", "path_manager": "kernel", "scheduler": "default"}
available_schedulers:
  description: The schedulers this kernel offers (empty before Linux 6.10).
  returned: always
  type: list
  elements: str
  sample: ["default"]
available_path_managers:
  description: The path managers this kernel offers (before Linux 6.15, derived from pm_type).
  returned: always
  type: list
  elements: str
  sample: ["kernel", "userspace"]
endpoints:
  description: The endpoints, sorted by id. Empty on a kernel without MPTCP.
  returned: unless pyroute2 is missing (with O(host))
  type: list
  elements: dict
  sample: [{"id": 1, "address": "10.0.0.1", "port": null, "dev": "eth0", "flags": ["signal"]}]
limits:
  description: The path manager limits. Empty on a kernel without MPTCP.
  returned: unless pyroute2 is missing (with O(host))
  type: dict
  sample: {"subflows": 2, "add_addr_accepted": 0}
interfaces:
  description:
    - The interfaces of the network namespace by name, each with its index
      and its addresses (C(address), C(prefixlen), C(scope) as the kernel
      numbers it, 253 link and 254 host, C(family) C(ipv4) or C(ipv6), and
      C(dadfailed), failed duplicate address detection).
  returned: when interfaces is true, unless pyroute2 is missing (with O(host))
  type: dict
  sample: {"lan0": {"index": 2, "addresses": [{"address": "192.0.2.10", "prefixlen": 24, "scope": 0,
                                                "family": "ipv4", "dadfailed": false}]}}
counters:
  description: The MPTcpExt counters of C(/proc/net/netstat).
  returned: always
  type: dict
  sample: {"MPCapableSYNRX": 3, "MPJoinSynRx": 2}
connections:
  description: The MPTCP sockets, with their state and total number of subflows.
  returned: when connections is true
  type: list
  elements: dict
  sample: [{"family": "ipv4", "state": "ESTAB", "local": "10.0.0.1:443",
            "remote": "10.0.0.2:51234", "subflows": 2, "token": 3735928559,
            "bytes_sent": 1024, "bytes_received": 300}]
host:
  description: What a role asks of the host before it changes anything.
  returned: when host is true
  type: dict
  version_added: 1.1.0
  contains:
    systemd:
      description:
        - Whether systemd runs this host, as C(sd_booted(3)) tells it
          (C(/run/systemd/system) is a directory). Not in a container or on
          most CI runners, where nothing starts units at a boot.
      type: bool
      sample: true
    files:
      description: Each of O(host_files), and whether something exists there.
      type: dict
      sample: {"/etc/systemd/system/mptcp-follow.service": false}
    missing:
      description:
        - What the collection needs that this host lacks. C(pyroute2) (the
          modules' netlink client, importable by the Python that runs the
          module) and C(ip) (iproute2's command, which the C(mptcp) role's
          restore unit runs, looked for in C(PATH) and the sbin directories).
      type: list
      elements: str
      sample: []
listeners:
  description:
    - The listening sockets, sorted by port. C(protocol) is C(mptcp) or
      C(tcp); C(address) is the bound address (C(::) or C(0.0.0.0) for
      every address); C(pids) are the processes that hold the socket (for a
      socket-activated service, 1 is systemd), empty when none can be read.
  returned: when listeners is true
  type: list
  elements: dict
  sample: [{"protocol": "mptcp", "family": "ipv6", "address": "::", "port": 22,
            "local": "[::]:22", "inode": 28973, "pids": [1]},
           {"protocol": "tcp", "family": "ipv4", "address": "127.0.0.1", "port": 8080,
            "local": "127.0.0.1:8080", "inode": 28975, "pids": [612]}]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mptcp.linux.plugins.module_utils import _endpoints, _host, _netlink, _sockets, _sysctl
from ansible_collections.mptcp.linux.plugins.module_utils._common import NETNS_ARGUMENT, enter_netns, netns_restored


@netns_restored
def main():
    module = AnsibleModule(
        argument_spec=dict(connections=dict(type="bool", default=True), listeners=dict(type="bool", default=False),
                           host=dict(type="bool", default=False),
                           host_files=dict(type="list", elements="path", default=[]),
                           interfaces=dict(type="bool", default=False),
                           **NETNS_ARGUMENT),
        supports_check_mode=True,
    )
    enter_netns(module)
    probe = _sockets.usability()
    sysctl = _sysctl.read_all()
    if "available_path_managers" in sysctl:
        path_managers = sysctl["available_path_managers"].split()
    elif "pm_type" in sysctl:
        path_managers = ["kernel", "userspace"]
    else:
        path_managers = ["kernel"] if sysctl else []
    result = dict(
        changed=False,
        kernel=_sysctl.kernel_release(),
        usable=probe["usable"],
        usable_errno=probe["errno"],
        usable_reason=probe["reason"],
        sysctl=sysctl,
        available_schedulers=sysctl.get("available_schedulers", "").split(),
        available_path_managers=path_managers,
        counters=_sockets.counters(),
    )
    pyroute2 = _netlink.PYROUTE2_IMPORT_ERROR is None
    if module.params["host"]:
        result["host"] = _host.report(module.params["host_files"], pyroute2, module.get_bin_path)
    elif not pyroute2:
        _netlink.require_pyroute2(module)
    if pyroute2:
        endpoints, limits = _netlink.endpoints_and_limits()
        # None: no MPTCP in this kernel, usable_reason says why
        result["endpoints"] = [_endpoints.public(e) for e in endpoints or []]
        result["limits"] = limits or {}
        if module.params["interfaces"]:
            result["interfaces"] = _netlink.interfaces()
    if module.params["connections"]:
        try:
            result["connections"] = _sockets.connections()
        except (OSError, IOError) as exc:
            module.fail_json(msg="listing MPTCP connections over sock_diag failed: %s" % exc, **result)
    if module.params["listeners"]:
        try:
            result["listeners"] = _sockets.listeners()
        except (OSError, IOError) as exc:
            module.fail_json(msg="listing the listening sockets over sock_diag failed: %s" % exc, **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
