#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mptcp_testbed
short_description: Two network namespaces joined by several shaped paths, for MPTCP tests
version_added: 1.0.0
description:
  - Builds a client namespace C(<name>-cli) and a server namespace C(<name>-srv) joined by one
    veth pair per path (C(cli-pN) and C(srv-pN)), path N addressed C(<net4>.N.1/24) on the client
    and C(<net4>.N.2/24) on the server (and C(<net6>:N::1/64), C(<net6>:N::2/64) with O(net6)), each end
    shaped to the path's rate with C(tbf) (O(burst), O(latency)).
  - Writes one wrapper per namespace, C(<wrapper_dir>/<name>-cli) and C(<wrapper_dir>/<name>-srv),
    a script that runs its arguments inside the namespace (C(ip netns exec NS "$@")).
  - C(state=absent) stops the processes left inside the namespaces, deletes the namespaces (their
    veths and qdiscs go with them) and the wrappers.
  - The role C(mptcp.linux.mptcp_testbed) wraps this module and configures MPTCP on both ends.
author:
  - mptcp.linux maintainers (@mptcp-linux)
options:
  name:
    description:
      - Prefix of the namespaces and wrappers.
    type: str
    default: mptcp-testbed
  state:
    description:
      - C(present) builds or corrects the testbed, C(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  paths:
    description:
      - One entry per path, path 1 first. Path 1 carries the initial subflow.
    type: list
    elements: dict
    default: [{rate: 50mbit}]
    suboptions:
      rate:
        description:
          - Rate of the path in each direction, C(tc) syntax (C(50mbit), C(1gbit), C(500kbit)).
        type: str
        default: 50mbit
      delay:
        description:
          - One-way delay added on each end (C(netem)), e.g. C(20ms). Refused, before anything
            changes, on a kernel without the netem qdisc.
        type: str
      loss:
        description:
          - Random loss on each end (C(netem)), e.g. C(1%). Refused like O(paths[].delay).
        type: str
  paths_down:
    description:
      - Numbers (from 1) of the paths whose links are set down on both ends, to cut them;
        a path not listed is up.
    type: list
    elements: int
    default: []
  net4:
    description:
      - First two octets of the IPv4 addresses.
    type: str
    default: "10.92"
  net6:
    version_added: 1.1.0
    description:
      - First one to three groups of the IPv6 addresses, in lowercase hex. When given, path N is also
        addressed C(<net6>:N::1/64) on the client and C(<net6>:N::2/64) on the server (added with
        C(nodad), so usable at once). Without it the paths are IPv4 only, and global IPv6 addresses
        found on them are removed.
    type: str
  burst:
    version_added: 1.1.0
    description:
      - Bucket size of every C(tbf), C(tc) syntax (C(64kb), C(32kb), C(1mbit)). It must hold a few
        full-size frames, or the rate collapses.
    type: str
    default: 64kb
  latency:
    version_added: 1.1.0
    description:
      - Longest time a packet may wait in every C(tbf) queue, C(tc) syntax (C(50ms)); it bounds the queue.
    type: str
    default: 50ms
  wrapper_dir:
    description:
      - Directory of the wrappers.
    type: path
    default: /run/mptcp-testbed
  report_as:
    description:
      - "The names that error messages give to the options, for a role that passes its own variables
        (e.g. C({paths: mptcp_testbed_paths}))."
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
    description: Can run in check mode and return changed status prediction without modifying target.
  diff_mode:
    support: none
    description: The result carries RV(commands) instead of a diff.
  idempotent:
    support: full
    description: When run twice in a row with the same arguments, the second run reports no change and writes nothing.
notes:
  - "Bad input, and O(paths[].delay) or O(paths[].loss) on a kernel without C(netem) (found by adding it
    to the loopback of a throw-away namespace), fail before anything changes, naming the option."
  - "The state is read with C(ip -j) and C(tc -j); only what differs is changed: a second run changes nothing."
requirements:
  - iproute2 (C(ip), C(tc)) and util-linux (C(unshare)) on the managed host; root
seealso:
  - module: mptcp.linux.mptcp_endpoints
"""

EXAMPLES = r"""
- name: A client and a server joined by a fast and a slow path
  mptcp.linux.mptcp_testbed:
    name: ci
    paths:
      - rate: 100mbit
      - rate: 10mbit
  register: testbed

- name: Cut path 1 (failover test)
  mptcp.linux.mptcp_testbed:
    name: ci
    paths:
      - rate: 100mbit
      - rate: 10mbit
    paths_down: [1]

- name: Remove it
  mptcp.linux.mptcp_testbed:
    name: ci
    state: absent
"""

RETURN = r"""
testbed:
  description: The testbed's namespaces, wrappers and paths (empty paths when absent).
  returned: always
  type: dict
  sample:
    name: ci
    client: {netns: ci-cli, wrapper: /run/mptcp-testbed/ci-cli}
    server: {netns: ci-srv, wrapper: /run/mptcp-testbed/ci-srv}
    paths:
      - {number: 1, client_dev: cli-p1, client_address: 10.92.1.1, server_dev: srv-p1,
         server_address: 10.92.1.2, prefixlen: 24, client_address6: fd92:1::1, server_address6: fd92:1::2,
         prefixlen6: 64, rate: 100mbit, delay: null, loss: null, up: true}
existed:
  description: Whether both namespaces existed before this run.
  returned: always
  type: bool
  sample: true
commands:
  description: The commands run (or, in check mode, that would run).
  returned: always
  type: list
  elements: str
  sample: ["ip netns add ci-cli"]
"""

import os
import shlex
import signal
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mptcp.linux.plugins.module_utils import _netns, _testbed


def _runner(module):
    def run(argv):
        rc, out, err = module.run_command(argv)
        if rc != 0:
            module.fail_json(msg="%s failed (exit %d): %s" % (" ".join(argv), rc, err.strip()))
        return out
    return run


def _write_sysctls(module, netns, settings):
    """Write KEY=VALUE SETTINGS to /proc/sys from inside NETNS (what sysctl -w
    does, without needing procps on the host)."""
    _netns.enter(netns)
    try:
        for setting in settings:
            key, value = setting.split("=", 1)
            with open("/proc/sys/" + key.replace(".", "/"), "w") as handle:
                handle.write(value + "\n")
    except (IOError, OSError, _netns.NetnsError) as exc:
        module.fail_json(msg="writing %s in %s failed: %s" % (", ".join(settings), netns, exc))
    finally:
        _netns.leave()


def _describe(argv):
    if argv[0] == _testbed.SYSCTL:
        return "ip netns exec %s sysctl -w %s" % (shlex.quote(argv[1]), " ".join(shlex.quote(word) for word in argv[2:]))
    return " ".join(shlex.quote(word) for word in argv)


def _netem_missing(module):
    """Why this kernel cannot add netem (tc's own words), or None."""
    rc, dummy, err = module.run_command(["unshare", "--net", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"])
    return None if rc == 0 else (err.strip() or "exit %d" % rc)


def _stop_processes(module, netns):
    rc, out, dummy = module.run_command(["ip", "netns", "pids", netns])
    pids = [int(word) for word in out.split()] if rc == 0 else []
    for sig in (signal.SIGTERM, signal.SIGKILL):
        for pid in pids:
            try:
                os.kill(pid, sig)
            except OSError:
                pass
        for dummy in range(20):
            pids = [pid for pid in pids if os.path.exists("/proc/%d" % pid)]
            if not pids:
                return
            time.sleep(0.1)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", default="mptcp-testbed"),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            paths=dict(type="list", elements="dict", default=[{"rate": "50mbit"}], options=dict(
                rate=dict(type="str", default="50mbit"), delay=dict(type="str"), loss=dict(type="str"))),
            paths_down=dict(type="list", elements="int", default=[]),
            net4=dict(type="str", default="10.92"),
            net6=dict(type="str"),
            burst=dict(type="str", default=_testbed.BURST),
            latency=dict(type="str", default=_testbed.LATENCY),
            wrapper_dir=dict(type="path", default="/run/mptcp-testbed"),
            report_as=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    params, names = module.params, module.params["report_as"]
    problems = _testbed.validate(params, names)
    if params["state"] == "present" and not problems:
        fields = _testbed.netem_requests(params, names)
        reason = _netem_missing(module) if fields else None
        if reason:
            problems.append("%s: needs the netem qdisc, which this kernel lacks (tc: %s)" % (", ".join(fields), reason))
    if problems:
        module.fail_json(msg="; ".join(problems) + "; nothing was changed")

    ip_path = module.get_bin_path("ip", required=True)
    run = _runner(module)
    ns = _testbed.namespaces(params["name"])
    wrappers = dict((end, os.path.join(params["wrapper_dir"], ns[end])) for end in _testbed.ENDS)
    state = _testbed.read_state(run, params["name"])
    existed = all(state["netns"].values())
    commands = []
    if params["state"] == "present":
        argvs = _testbed.plan_present(params, state)
        stale = dict((end, path) for end, path in wrappers.items()
                     if not os.path.isfile(path) or open(path).read() != _testbed.wrapper_text(ip_path, ns[end]))
        commands = [_describe(argv) for argv in argvs]
        commands += ["write %s" % path for end, path in sorted(stale.items())]
        if not module.check_mode:
            for argv in argvs:
                if argv[0] == _testbed.SYSCTL:
                    _write_sysctls(module, argv[1], argv[2:])
                else:
                    run(argv)
            if stale and not os.path.isdir(params["wrapper_dir"]):
                os.makedirs(params["wrapper_dir"], 0o755)
            for end, path in stale.items():
                with open(path + ".tmp", "w") as handle:
                    handle.write(_testbed.wrapper_text(ip_path, ns[end]))
                os.chmod(path + ".tmp", 0o755)
                os.rename(path + ".tmp", path)
    else:
        present = [end for end in _testbed.ENDS if state["netns"][end]]
        files = [path for end, path in sorted(wrappers.items()) if os.path.lexists(path)]
        commands = ["ip netns pids %s | xargs kill; ip netns del %s" % (ns[end], ns[end]) for end in present]
        commands += ["rm %s" % path for path in files]
        if not module.check_mode:
            for end in present:
                _stop_processes(module, ns[end])
                run(["ip", "netns", "del", ns[end]])
            for path in files:
                os.unlink(path)
            if files and os.path.isdir(params["wrapper_dir"]) and not os.listdir(params["wrapper_dir"]):
                os.rmdir(params["wrapper_dir"])
    module.exit_json(changed=bool(commands), commands=commands, existed=existed,
                     testbed=_testbed.facts(params, wrappers))


if __name__ == "__main__":
    main()
