#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mptcp_probe
short_description: Prove MPTCP end to end with a real connection
version_added: 0.1.0
description:
  - Opens an MPTCP connection from the managed host to O(host):O(port) and
    sends a little data. It then reports whether MPTCP was negotiated or the
    connection fell back to plain TCP (C(TCP_IS_MPTCP) and C(MPTCP_INFO)), and
    how many subflows came up.
  - With O(expect_mptcp) and O(expect_subflows), it fails with a message that
    says what to check. This makes it the fleet's proof that MPTCP works.
author:
  - mptcp.linux maintainers (@mptcp-linux)
extends_documentation_fragment:
  - mptcp.linux.netns
  - mptcp.linux.netns.read_only_attributes
options:
  host:
    description:
      - The server's address or name.
    type: str
    required: true
  port:
    description:
      - The server's TCP port, 1 to 65535.
    type: int
    required: true
  family:
    description:
      - Which address family to connect over when O(host) is a name.
    type: str
    choices: [any, ipv4, ipv6]
    default: any
  send:
    description:
      - Data sent once connected; MPTCP opens additional subflows only once
        the connection carries data. An empty string sends nothing.
    type: str
    default: "mptcp.linux probe\n"
  expect_reply:
    description:
      - Fail unless the server sends at least one byte back within O(timeout).
    type: bool
    default: false
  expect_mptcp:
    description:
      - Fail when the connection fell back to plain TCP.
    type: bool
    default: true
  expect_subflows:
    description:
      - Fail unless at least this many subflows (the initial one included) are
        up within O(timeout). The probe returns as soon as they are.
    type: int
  timeout:
    description:
      - Seconds allowed for connecting, for the reply, and for the subflows to come up.
      - A finite number, more than 0 and at most 3600.
    type: float
    default: 5
  settle:
    description:
      - Without O(expect_subflows), seconds to wait for additional subflows
        before counting them.
      - A finite number from 0 to 3600.
    type: float
    default: 1
notes:
  - "Failure semantics: the probe changes no MPTCP state; it opens one
    connection and closes it. Bad input (a port outside 1..65535, a
    O(timeout) or O(settle) that is not a finite number in its range) fails
    before anything is done. It takes no lock, so a probe during another
    run's change sees the state of that moment. A probe killed midway leaves
    at most a connection that the kernel closes with the process."
seealso:
  - module: mptcp.linux.mptcp_info
"""

EXAMPLES = r"""
- name: Every client proves MPTCP with two subflows to the web server
  mptcp.linux.mptcp_probe:
    host: web1.example.net
    port: 443
    send: ""
    expect_subflows: 2

- name: Only report (never fail) whether MPTCP reaches a host
  mptcp.linux.mptcp_probe:
    host: 192.0.2.10
    port: 22
    expect_mptcp: false
  register: probe
"""

RETURN = r"""
mptcp:
  description: Whether MPTCP was negotiated (false when the connection fell back to TCP).
  returned: always
  type: bool
  sample: true
subflows:
  description: The number of subflows, the initial one included, when the probe ended.
  returned: always
  type: int
  sample: 2
local:
  description: The local address and port of the initial subflow.
  returned: always
  type: str
  sample: "10.0.1.1:40312"
remote:
  description: The address and port connected to.
  returned: always
  type: str
  sample: "10.0.1.2:4242"
bytes_received:
  description: How many bytes the server sent back.
  returned: always
  type: int
  sample: 18
elapsed:
  description: Seconds the probe took.
  returned: always
  type: float
  sample: 0.12
info:
  description: The decoded C(MPTCP_INFO) of the connection (null after a fallback).
  returned: always
  type: dict
  sample: {"subflows": 1, "subflows_total": 2, "subflows_count": 2, "add_addr_accepted": 1, "fallback": false}
"""

import socket
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mptcp.linux.plugins.module_utils import _sockets
from ansible_collections.mptcp.linux.plugins.module_utils._common import NETNS_ARGUMENT, enter_netns, number_problem

TIMEOUT_MAX = 3600
FAMILIES = {"any": socket.AF_UNSPEC, "ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}


def _endpoint(addr):
    return _sockets.host_port(addr[0], addr[1])


def _connect(module, params, deadline):
    try:
        candidates = socket.getaddrinfo(params["host"], params["port"], FAMILIES[params["family"]], socket.SOCK_STREAM)
    except socket.gaierror as exc:
        module.fail_json(msg="host: cannot resolve %r: %s" % (params["host"], exc))
    errors = []
    for family, dummy, dummy2, dummy3, address in candidates:
        try:
            sock = socket.socket(family, socket.SOCK_STREAM, _sockets.IPPROTO_MPTCP)
        except (OSError, socket.error) as exc:
            module.fail_json(msg="cannot open an MPTCP socket on this host: %s" % _sockets.errno_reason(exc.errno),
                             mptcp=False, subflows=0)
        sock.settimeout(max(0.1, deadline - time.time()))
        try:
            sock.connect(address)
            return sock, address
        except (OSError, socket.error) as exc:
            sock.close()
            errors.append("%s: %s" % (_endpoint(address), exc))
    module.fail_json(msg="cannot connect to %s port %d: %s" % (params["host"], params["port"], "; ".join(errors)),
                     mptcp=False, subflows=0)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            host=dict(type="str", required=True),
            port=dict(type="int", required=True),
            family=dict(type="str", default="any", choices=list(FAMILIES)),
            send=dict(type="str", default="mptcp.linux probe\n"),
            expect_reply=dict(type="bool", default=False),
            expect_mptcp=dict(type="bool", default=True),
            expect_subflows=dict(type="int"),
            timeout=dict(type="float", default=5.0),
            settle=dict(type="float", default=1.0),
            **NETNS_ARGUMENT
        ),
        supports_check_mode=True,
    )
    params = module.params
    problems = [number_problem("port", params["port"], 1, 65535),
                number_problem("timeout", params["timeout"], 0, TIMEOUT_MAX, low_open=True),
                number_problem("settle", params["settle"], 0, TIMEOUT_MAX)]
    if params["expect_subflows"] is not None and not 1 <= params["expect_subflows"] <= 9:
        problems.append("expect_subflows: %d is out of range 1..9 (the kernel opens at most 8 additional subflows)"
                        % params["expect_subflows"])
    problems = [p for p in problems if p]
    if problems:
        module.fail_json(msg="; ".join(problems))
    enter_netns(module)

    started = time.time()
    deadline = started + params["timeout"]
    sock, address = _connect(module, params, deadline)
    received = 0
    try:
        if params["send"]:
            sock.sendall(params["send"].encode("utf-8"))
        if params["expect_reply"]:
            sock.settimeout(max(0.1, deadline - time.time()))
            try:
                received = len(sock.recv(65536))
            except socket.timeout:
                received = 0
        settle_until = min(deadline, time.time() + params["settle"])
        while True:
            negotiated, info = _sockets.socket_info(sock)
            subflows = info["subflows_count"] if info else 1
            now = time.time()
            if not negotiated:
                break
            if params["expect_subflows"]:
                if subflows >= params["expect_subflows"] or now >= deadline:
                    break
            elif now >= settle_until:
                break
            time.sleep(0.05)
        result = dict(
            changed=False,
            mptcp=negotiated,
            subflows=subflows,
            local=_endpoint(sock.getsockname()),
            remote=_endpoint(address),
            bytes_received=received,
            elapsed=round(time.time() - started, 3),
            info=info,
        )
    finally:
        sock.close()

    target = result["remote"]
    if params["expect_mptcp"] and not result["mptcp"]:
        module.fail_json(msg="MPTCP was not negotiated with %s: the connection fell back to plain TCP. The server may not "
                         "listen with MPTCP, or a middlebox may strip the MPTCP options." % target, **result)
    if params["expect_reply"] and not received:
        module.fail_json(msg="%s sent nothing back within %s s" % (target, params["timeout"]), **result)
    if params["expect_subflows"] and result["subflows"] < params["expect_subflows"]:
        module.fail_json(msg="only %d subflow(s) to %s came up within %s s, %d expected. Check the server's signal "
                         "endpoints, this host's subflow endpoints, and this host's limits "
                         "(add_addr_accepted 0 ignores the server's announcements)."
                         % (result["subflows"], target, params["timeout"], params["expect_subflows"]), **result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
