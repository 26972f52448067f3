#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mptcp_probe
short_description: Prove MPTCP end to end with a real connection
version_added: 1.0.0
description:
  - Opens an MPTCP connection from the managed host to O(host):O(port) and
    sends a little data. It then reports whether MPTCP was negotiated or the
    connection fell back to plain TCP (C(TCP_IS_MPTCP) and C(MPTCP_INFO)), and
    how many subflows came up.
  - With O(expect_mptcp) and O(expect_subflows), it fails with a message that
    says what to check. This makes it the fleet's proof that MPTCP works.
  - With O(attempts), it opens several connections to each server, one after
    the other, and reports how many negotiated MPTCP and how many fell back,
    with the deltas of the host's MPTcpExt counters over them.
author:
  - mptcp.linux maintainers (@mptcp-linux)
extends_documentation_fragment:
  - mptcp.linux.netns
  - mptcp.linux.netns.read_only_attributes
options:
  host:
    description:
      - The server's address or name.
      - Exactly one of O(host) and O(targets) is required.
    type: str
  port:
    description:
      - The server's TCP port, 1 to 65535.
      - With O(targets), the port of every target that gives none.
    type: int
  targets:
    description:
      - Several servers, probed one after the other in one module execution.
        A client proves MPTCP to a whole group in one round trip instead of
        one task (or loop item) per server.
      - Every target is probed; then the module fails when any probe failed,
        and RV(probes) says which and why.
    type: list
    elements: dict
    version_added: 1.0.0
    suboptions:
      host:
        description: The server's address or name.
        type: str
        required: true
      port:
        description: Its TCP port; default O(port).
        type: int
      name:
        description: A label for RV(probes) and messages (an inventory name, say); default O(host).
        type: str
      expect_reply:
        description: O(expect_reply) for this target; default O(expect_reply).
        type: bool
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
  attempts:
    description:
      - How many connections to open to each server, one after the other, 1 to 100.
      - A connection that falls back to TCP does not stop the attempts, so the
        result says how often the server fell back (RV(fallbacks)); any other
        failure (refused, no reply, missing subflows) stops them.
      - RV(counters) holds the deltas of this host's MPTcpExt counters over
        the attempts to each server.
    type: int
    default: 1
    version_added: 1.1.0
notes:
  - "Failure semantics: the probe changes no MPTCP state; it opens one
    connection per attempt and closes it. Bad input (a port outside 1..65535, a
    O(timeout) or O(settle) that is not a finite number in its range,
    O(attempts) outside 1..100) fails before anything is done. It takes no lock, so a probe during another
    run's change sees the state of that moment. A probe killed midway leaves
    at most a connection that the kernel closes with the process."
  - "The MPTcpExt counters (C(/proc/net/netstat), what C(nstat) shows) count
    for the whole network namespace: traffic of other processes during the
    probe shows up in RV(counters) too. RV(fallbacks) counts the probe's own
    connections only."
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

- name: Prove MPTCP to three servers in one execution
  mptcp.linux.mptcp_probe:
    port: 4242
    targets:
      - host: web1.example.net
      - host: web2.example.net
      - {host: 192.0.2.10, port: 8443, name: legacy}
    expect_subflows: 2
  register: probes

- name: Three connections to each server; fail if any falls back
  mptcp.linux.mptcp_probe:
    port: 4242
    targets:
      - host: web1.example.net
      - host: web2.example.net
    attempts: 3
  register: probes

- name: Say how often each server fell back
  ansible.builtin.debug:
    msg: "{{ probes.probes | map(attribute='summary') | list }}"

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
  returned: with O(host)
  type: bool
  sample: true
subflows:
  description: The number of subflows, the initial one included, when the probe ended.
  returned: with O(host)
  type: int
  sample: 2
local:
  description: The local address and port of the initial subflow.
  returned: with O(host)
  type: str
  sample: "10.0.1.1:40312"
remote:
  description: The address and port connected to.
  returned: with O(host)
  type: str
  sample: "10.0.1.2:4242"
bytes_received:
  description: How many bytes the server sent back.
  returned: with O(host)
  type: int
  sample: 18
elapsed:
  description: Seconds the probe took.
  returned: with O(host)
  type: float
  sample: 0.12
info:
  description: The decoded C(MPTCP_INFO) of the connection (null after a fallback).
  returned: with O(host)
  type: dict
  sample: {"subflows": 1, "subflows_total": 2, "subflows_count": 2, "add_addr_accepted": 1, "fallback": false}
attempts:
  description: How many connections were opened (fewer than O(attempts) when a failure other than a fallback stopped them).
  returned: with O(host)
  type: int
  sample: 3
  version_added: 1.1.0
mptcp_attempts:
  description: How many of them negotiated MPTCP.
  returned: with O(host)
  type: int
  sample: 3
  version_added: 1.1.0
fallbacks:
  description:
    - How many of them fell back to plain TCP. The connection fields above
      (RV(mptcp), RV(subflows), RV(local)...) are those of the first that
      fell back, else of the last one.
  returned: with O(host)
  type: int
  sample: 0
  version_added: 1.1.0
counters:
  description:
    - "The deltas of this host's MPTcpExt counters over the attempts, those
      that make sense on a client and that the kernel has: C(MPCapableSYNTX)
      (MP_CAPABLE SYNs sent), C(MPCapableFallbackSYNACK) (SYN-ACKs without
      MP_CAPABLE, a fallback), C(MPCapableSYNTXDrop) (SYN retransmissions
      that dropped MP_CAPABLE, a fallback), C(MPJoinSynAckRx) (MP_JOIN
      SYN-ACKs received, a subflow joined)."
    - They count for the whole network namespace, other traffic included.
  returned: with O(host)
  type: dict
  sample: {"MPCapableSYNTX": 3, "MPCapableFallbackSYNACK": 0, "MPCapableSYNTXDrop": 0, "MPJoinSynAckRx": 3}
  version_added: 1.1.0
summary:
  description: The above in one line, as C(playbooks/verify.yml) reports it.
  returned: with O(host)
  type: str
  sample: "MPTCP, 2 subflows, 0 of 3 attempts fell back (MP_CAPABLE SYNs 3, fallbacks 0, MP_JOIN SYN-ACKs 3)"
  version_added: 1.1.0
probes:
  description:
    - With O(targets), one result per target in their order, each with the
      fields above that the probe reached, the target's C(name), C(host) and
      C(port), and C(failed) and C(msg) when it failed.
  returned: with O(targets)
  type: list
  elements: dict
  version_added: 1.0.0
  sample: [{"name": "web1", "host": "10.0.1.2", "port": 4242, "failed": false, "mptcp": true, "subflows": 2,
            "local": "10.0.1.1:40312", "remote": "10.0.1.2:4242", "bytes_received": 18, "elapsed": 0.03,
            "attempts": 1, "mptcp_attempts": 1, "fallbacks": 0,
            "counters": {"MPCapableSYNTX": 1, "MPCapableFallbackSYNACK": 0, "MPCapableSYNTXDrop": 0, "MPJoinSynAckRx": 1},
            "summary": "MPTCP, 2 subflows, 0 of 1 attempt fell back (MP_CAPABLE SYNs 1, fallbacks 0, MP_JOIN SYN-ACKs 1)"}]
"""

import socket
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mptcp.linux.plugins.module_utils import _sockets
from ansible_collections.mptcp.linux.plugins.module_utils._common import NETNS_ARGUMENT, enter_netns, netns_restored, number_problem

TIMEOUT_MAX = 3600
ATTEMPTS_MAX = 100
# The client's MPTcpExt counters the probe reports the deltas of: MP_CAPABLE
# SYNs sent, the two ways a client falls back (a SYN-ACK without MP_CAPABLE,
# SYN retransmissions without it), MP_JOIN SYN-ACKs received.
CLIENT_COUNTERS = ("MPCapableSYNTX", "MPCapableFallbackSYNACK", "MPCapableSYNTXDrop", "MPJoinSynAckRx")
COUNTER_LABELS = (("MP_CAPABLE SYNs", ("MPCapableSYNTX",)),
                  ("fallbacks", ("MPCapableFallbackSYNACK", "MPCapableSYNTXDrop")),
                  ("MP_JOIN SYN-ACKs", ("MPJoinSynAckRx",)))
FAMILIES = {"any": socket.AF_UNSPEC, "ipv4": socket.AF_INET, "ipv6": socket.AF_INET6}


def _endpoint(addr):
    return _sockets.host_port(addr[0], addr[1])


class ProbeFailed(Exception):
    """A probe that failed: its message and what it found."""

    def __init__(self, msg, result=None):
        super(ProbeFailed, self).__init__(msg)
        self.msg = msg
        self.result = result if result is not None else dict(mptcp=False, subflows=0)


def _connect(target, deadline):
    try:
        candidates = socket.getaddrinfo(target["host"], target["port"], FAMILIES[target["family"]], socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ProbeFailed("host: cannot resolve %r: %s" % (target["host"], exc))
    errors = []
    for family, dummy, dummy2, dummy3, address in candidates:
        try:
            sock = socket.socket(family, socket.SOCK_STREAM, _sockets.IPPROTO_MPTCP)
        except (OSError, socket.error) as exc:
            raise ProbeFailed("cannot open an MPTCP socket on this host: %s" % _sockets.errno_reason(exc.errno))
        sock.settimeout(max(0.1, deadline - time.time()))
        try:
            sock.connect(address)
            return sock, address
        except (OSError, socket.error) as exc:
            sock.close()
            errors.append("%s: %s" % (_endpoint(address), exc))
    raise ProbeFailed("cannot connect to %s port %d: %s" % (target["host"], target["port"], "; ".join(errors)))


def attempt(target):
    """One connection to TARGET: its result (whether MPTCP was negotiated,
    the subflows...), without judging it. Raises ProbeFailed when it cannot
    connect."""
    started = time.time()
    deadline = started + target["timeout"]
    sock, address = _connect(target, deadline)
    received = 0
    try:
        if target["send"]:
            sock.sendall(target["send"].encode("utf-8"))
        if target["expect_reply"]:
            sock.settimeout(max(0.1, deadline - time.time()))
            try:
                received = len(sock.recv(65536))
            except socket.timeout:
                received = 0
        settle_until = min(deadline, time.time() + target["settle"])
        while True:
            negotiated, info = _sockets.socket_info(sock)
            subflows = info["subflows_count"] if info else 1
            now = time.time()
            if not negotiated:
                break
            if target["expect_subflows"]:
                if subflows >= target["expect_subflows"] or now >= deadline:
                    break
            elif now >= settle_until:
                break
            time.sleep(0.05)
        return dict(
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


def shortfall(target, result):
    """Why a negotiated connection's RESULT falls short of TARGET's
    expectations (the reply, the subflows), or None."""
    where = result["remote"]
    if target["expect_reply"] and not result["bytes_received"]:
        return "%s sent nothing back within %s s" % (where, target["timeout"])
    if target["expect_subflows"] and result["subflows"] < target["expect_subflows"]:
        return ("only %d subflow(s) to %s came up within %s s, %d expected. Check the server's signal "
                "endpoints, this host's subflow endpoints, and this host's limits "
                "(add_addr_accepted 0 ignores the server's announcements)."
                % (result["subflows"], where, target["timeout"], target["expect_subflows"]))
    return None


def counter_deltas(before, after):
    """The CLIENT_COUNTERS that AFTER has, each minus its value in BEFORE."""
    return dict((name, after[name] - before.get(name, 0)) for name in CLIENT_COUNTERS if name in after)


def summary(result):
    """The one-line account of a target's RESULT, as verify.yml reports it:
    ``MPTCP, 2 subflows, 0 of 3 attempts fell back (MP_CAPABLE SYNs 3,
    fallbacks 0, MP_JOIN SYN-ACKs 3)``."""
    if not result.get("attempts"):
        return "not connected"
    text = "%s, %d subflow%s, %d of %d attempt%s fell back" % (
        "MPTCP" if result["mptcp"] else "plain TCP (fell back)", result["subflows"],
        "" if result["subflows"] == 1 else "s", result["fallbacks"], result["attempts"],
        "" if result["attempts"] == 1 else "s")
    counters = result.get("counters") or {}
    parts = ["%s %d" % (label, sum(counters[name] for name in names if name in counters))
             for label, names in COUNTER_LABELS if any(name in counters for name in names)]
    return text + (" (%s)" % ", ".join(parts) if parts else "")


def probe(target):
    """Probe one server O(attempts) times. TARGET has the module's options
    for it; returns the result, or raises ProbeFailed.

    Fallbacks do not stop the attempts (how often a pair falls back is what
    they measure); any other failure does. The result's connection fields
    come from the first attempt that fell back, else from the last one."""
    before = _sockets.counters()
    results, stopped = [], None
    for number in range(1, target["attempts"] + 1):
        try:
            result = attempt(target)
        except ProbeFailed as exc:
            stopped = exc.msg
        else:
            results.append(result)
            if result["mptcp"] or not target["expect_mptcp"]:
                stopped = shortfall(target, result)
        if stopped:
            if target["attempts"] > 1:
                stopped = "attempt %d of %d: %s" % (number, target["attempts"], stopped)
            break
    fell_back = [r for r in results if not r["mptcp"]]
    if fell_back:
        result = dict(fell_back[0])
    elif results:
        result = dict(results[-1])
    else:
        result = dict(mptcp=False, subflows=0)
    result.update(attempts=len(results), mptcp_attempts=len(results) - len(fell_back), fallbacks=len(fell_back),
                  counters=counter_deltas(before, _sockets.counters()))
    result["summary"] = summary(result)

    problems = []
    if target["expect_mptcp"] and fell_back:
        problems.append("MPTCP was not negotiated with %s: %d of %d attempt(s) fell back to plain TCP. The server may "
                        "not listen with MPTCP, or a middlebox may strip the MPTCP options."
                        % (result["remote"], len(fell_back), len(results)))
    if stopped:
        problems.append(stopped)
    if problems:
        raise ProbeFailed(" ".join(problems), result)
    return result


def targets_of(params):
    """The targets to probe, each a full set of options, and the problems of
    the input (naming the field)."""
    if params["targets"] is None:
        return [dict(params, name=params["host"])], [number_problem("port", params["port"], 1, 65535)]
    problems = []
    if not params["targets"]:
        problems.append("targets: an empty list, nothing to probe")
    targets = []
    for index, entry in enumerate(params["targets"]):
        target = dict(params, host=entry["host"], name=entry["name"] or entry["host"])
        for key in ("port", "expect_reply"):
            if entry[key] is not None:
                target[key] = entry[key]
        field = "targets[%d].port" % index
        if target["port"] is None:
            problems.append("%s: missing, and no port option for every target" % field)
        else:
            problems.append(number_problem(field, target["port"], 1, 65535))
        targets.append(target)
    return targets, problems


def problems_of(params):
    """The targets and every problem of the input, each naming its field."""
    targets, problems = targets_of(params)
    problems += [number_problem("timeout", params["timeout"], 0, TIMEOUT_MAX, low_open=True),
                 number_problem("settle", params["settle"], 0, TIMEOUT_MAX)]
    if params["expect_subflows"] is not None and not 1 <= params["expect_subflows"] <= 9:
        problems.append("expect_subflows: %d is out of range 1..9 (the kernel opens at most 8 additional subflows)"
                        % params["expect_subflows"])
    if not 1 <= params["attempts"] <= ATTEMPTS_MAX:
        problems.append("attempts: %d is out of range 1..%d (connections to open to each target)"
                        % (params["attempts"], ATTEMPTS_MAX))
    return targets, [p for p in problems if p]


@netns_restored
def main():
    module = AnsibleModule(
        argument_spec=dict(
            host=dict(type="str"),
            port=dict(type="int"),
            targets=dict(type="list", elements="dict", options=dict(
                host=dict(type="str", required=True),
                port=dict(type="int"),
                name=dict(type="str"),
                expect_reply=dict(type="bool"),
            )),
            family=dict(type="str", default="any", choices=list(FAMILIES)),
            send=dict(type="str", default="mptcp.linux probe\n"),
            expect_reply=dict(type="bool", default=False),
            expect_mptcp=dict(type="bool", default=True),
            expect_subflows=dict(type="int"),
            timeout=dict(type="float", default=5.0),
            settle=dict(type="float", default=1.0),
            attempts=dict(type="int", default=1),
            **NETNS_ARGUMENT
        ),
        required_one_of=[("host", "targets")],
        mutually_exclusive=[("host", "targets")],
        required_by={"host": "port"},
        supports_check_mode=True,
    )
    params = module.params
    targets, problems = problems_of(params)
    if problems:
        module.fail_json(msg="; ".join(problems))
    enter_netns(module)

    if params["targets"] is None:
        try:
            module.exit_json(changed=False, **probe(targets[0]))
        except ProbeFailed as exc:
            module.fail_json(msg=exc.msg, **exc.result)

    probes, failures = [], []
    for target in targets:
        entry = dict(name=target["name"], host=target["host"], port=target["port"], failed=False)
        try:
            entry.update(probe(target))
        except ProbeFailed as exc:
            entry.update(exc.result, failed=True, msg=exc.msg)
            failures.append("%s: %s" % (target["name"], exc.msg))
        probes.append(entry)
    if failures:
        module.fail_json(msg="%d of %d probes failed: %s" % (len(failures), len(probes), " | ".join(failures)),
                         probes=probes)
    module.exit_json(changed=False, probes=probes)


if __name__ == "__main__":
    main()
