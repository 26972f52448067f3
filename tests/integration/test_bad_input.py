# -*- coding: utf-8 -*-
"""Every invalid request fails before anything changes: the kernel state is
read before and after each bad call and must be equal, and the message names
the field and the reason."""

from __future__ import absolute_import, division, print_function

import pytest

from conftest import shell_wrapper

EP = "mptcp.linux.mptcp_endpoints"
SYS = "mptcp.linux.mptcp_sysctl"
LIM = "mptcp.linux.mptcp_limits"
PROBE = "mptcp.linux.mptcp_probe"

NINE = [{"address": "10.8.0.%d" % n, "flags": ["subflow"]} for n in range(1, 10)]

CASES = [
    (EP, {"config": [{"address": "10.0.0.300", "flags": ["signal"]}]}, ["config[0].address", "not a valid"]),
    (EP, {"config": [{"address": "ff02::1", "flags": ["signal"]}]}, ["config[0].address", "unicast"]),
    (EP, {"config": [{"address": "10.0.0.1", "flags": ["signal"]}, {"address": "10.0.0.2", "id": 0, "flags": ["signal"]}]},
     ["config[1].id", "1..255"]),
    (EP, {"config": [{"address": "10.0.0.1", "id": 256, "flags": ["signal"]}]}, ["config[0].id", "1..255"]),
    (EP, {"config": [{"address": "192.0.2.10", "port": 8080, "flags": ["subflow"]}]}, ["config[0].port", "needs the signal flag"]),
    (EP, {"config": [{"address": "10.0.0.1", "flags": ["signal", "fullmesh"]}]}, ["config[0].flags", "fullmesh", "signal"]),
    (EP, {"state": "overridden", "config": NINE}, ["at most 8"]),
    (EP, {"config": [{"address": "10.0.0.1", "flags": ["signal"]}, {"address": "10.0.0.1", "flags": ["subflow"]}]},
     ["config[1]", "also given by config[0]"]),
    (EP, {"config": [{"address": "10.0.0.1", "id": 3, "flags": ["signal"]}, {"address": "10.0.0.2", "id": 3, "flags": ["signal"]}]},
     ["config[1].id", "id 3"]),
    (EP, {"config": [{"dev": "nosuch0", "flags": ["subflow"]}]}, ["config[0].dev", "nosuch0", "does not exist"]),
    (EP, {"config": [{"address": "10.0.0.1", "dev": "nosuch0", "flags": ["subflow"]}]}, ["config[0].dev", "does not exist"]),
    # an id already used by an endpoint that merged keeps
    (EP, {"config": [{"address": "10.0.0.9", "id": 1, "flags": ["subflow"]}]}, ["config[0].id", "id 1", "192.0.2.10"]),
    (SYS, {"scheduler": "nosuch"}, ["scheduler", "nosuch", "available schedulers: default"]),
    (SYS, {"add_addr_timeout": -1, "enabled": False}, ["add_addr_timeout", "out of range"]),
    (SYS, {"syn_retrans_before_tcp_fallback": 256}, ["syn_retrans_before_tcp_fallback", "0..255"]),
    (LIM, {"subflows": 9, "add_addr_accepted": 1}, ["subflows", "0..8"]),
    (LIM, {"add_addr_accepted": -1}, ["add_addr_accepted", "0..8"]),
    # addresses the kernel accepts and MPTCP cannot use
    (EP, {"config": [{"address": "::ffff:192.0.2.10", "flags": ["subflow"]}]},
     ["config[0].address", "IPv4-mapped", "write the IPv4 address 192.0.2.10"]),
    (EP, {"config": [{"address": "255.255.255.255", "flags": ["signal"]}]}, ["config[0].address", "limited broadcast"]),
    (EP, {"config": [{"address": "127.0.0.1", "flags": ["signal"]}]}, ["config[0].address", "loopback"]),
    (EP, {"config": [{"address": "::1", "flags": ["subflow"]}]}, ["config[0].address", "loopback"]),
    (EP, {"config": [{"address": "240.1.2.3", "flags": ["signal"]}]}, ["config[0].address", "reserved"]),
    (EP, {"config": [{"address": "fe80::1", "flags": ["subflow"]}]}, ["config[0].address", "link-local", "dev"]),
    (EP, {"config": [{"address": "198.51.100.11", "dev": "lan0", "flags": ["subflow"]}]},
     ["config[0].dev", "'lan0' does not hold 198.51.100.11", "(lan1)"]),
    # a port: the kernel listens on it, so signal without subflow, on an address of this host
    (EP, {"config": [{"address": "203.0.113.5", "port": 9000, "flags": ["signal"]}]},
     ["config[0].address", "not an address of this host"]),
    (EP, {"config": [{"address": "192.0.2.10", "port": 9000, "flags": ["signal", "subflow"]}]},
     ["config[0].port", "signal without subflow"]),
    # full matches only, and rendered writes only what ip -batch reads back as given
    (EP, {"config": [{"address": "192.0.2.11", "dev": "lan0\n", "flags": ["signal"]}]},
     ["config[0].dev", "'lan0\\n' is not a valid interface name"]),
    (EP, {"state": "rendered", "config": [{"address": "192.0.2.11", "dev": "lan0\n", "flags": ["signal"]}]},
     ["config[0].dev", "'lan0\\n' is not a valid interface name"]),
    (EP, {"state": "rendered", "config": [{"address": "192.0.2.11", "dev": "br#1", "flags": ["signal"]}]},
     ["config[0].dev", "ip -batch", "'#'"]),
    # parsed reads running_config, and only parsed does
    (EP, {"state": "parsed"}, ["state is parsed", "running_config"]),
    (EP, {"state": "parsed", "running_config": "192.0.2.10 id 1 signal \nbogus\n"},
     ["running_config line 2", "'bogus' is not an IPv4 or IPv6 address"]),
    (EP, {"state": "parsed", "running_config": "", "config": [{"address": "192.0.2.11", "flags": ["signal"]}]},
     ["config: state=parsed reads running_config"]),
    (EP, {"running_config": "192.0.2.11 id 2 signal", "config": [{"address": "192.0.2.11", "flags": ["signal"]}]},
     ["running_config: only state=parsed reads it (state=merged)"]),
    (EP, {"netns": "mptcp-it-x\n", "config": [{"address": "192.0.2.11", "flags": ["signal"]}]},
     ["netns", "is not a valid namespace name"]),
    # numbers: finite and bounded
    (PROBE, {"host": "127.0.0.1", "port": 1, "timeout": "nan"}, ["timeout: nan is not a finite number"]),
    (PROBE, {"host": "127.0.0.1", "port": 1, "timeout": "inf"}, ["timeout: inf is not a finite number"]),
    (PROBE, {"host": "127.0.0.1", "port": 1, "timeout": 0}, ["timeout: 0.0 is out of range: more than 0"]),
    (PROBE, {"host": "127.0.0.1", "port": 1, "settle": "nan"}, ["settle: nan is not a finite number"]),
    (PROBE, {"host": "127.0.0.1", "port": 1, "settle": -1, "timeout": 1e9},
     ["settle: -1.0 is out of range 0..3600", "timeout: 1000000000.0 is out of range"]),
    (PROBE, {"host": "127.0.0.1", "port": 0}, ["port: 0 is out of range 1..65535"]),
    (PROBE, {"targets": [{"host": "127.0.0.1", "port": 1}, {"host": "127.0.0.1"}]},
     ["targets[1].port: missing, and no port option"]),
    (PROBE, {"port": 1, "targets": [{"host": "127.0.0.1", "port": 65536}]}, ["targets[0].port: 65536 is out of range"]),
    (PROBE, {"port": 1, "targets": []}, ["targets: an empty list"]),
    (PROBE, {"port": 1, "host": "127.0.0.1", "targets": [{"host": "127.0.0.1"}]}, ["mutually exclusive", "host", "targets"]),
    (EP, {"lock_timeout": -1, "config": [{"address": "192.0.2.11", "flags": ["signal"]}]}, ["lock_timeout: -1 is out of range 0..3600"]),
    (SYS, {"lock_timeout": 3601, "enabled": True}, ["lock_timeout: 3601 is out of range 0..3600"]),
    (LIM, {"lock_timeout": -5, "subflows": 2}, ["lock_timeout: -5 is out of range 0..3600"]),
    # limits set with the endpoints: checked before either is touched
    (EP, {"config": [{"address": "192.0.2.11", "flags": ["signal"]}], "limits": {"subflows": 9, "add_addr_accepted": -1}},
     ["limits.add_addr_accepted: -1 is out of range 0..8", "limits.subflows: 9 is out of range 0..8"]),
    (EP, {"config": [{"address": "192.0.2.11", "flags": ["signal"]}], "limits": {"subflows": 4, "paths": 2}},
     ["limits", "paths"]),
    (EP, {"state": "gathered", "limits": {"subflows": 4}}, ["limits: state=gathered sets nothing"]),
    (EP, {"config": [{"address": "192.0.2.11", "dev": "nosuch0", "flags": ["signal"]}], "limits": {"subflows": 4}},
     ["config[0].dev", "nosuch0"]),
]


SNAPSHOT = "ip -j mptcp endpoint show; ip mptcp limits show; grep -r . /proc/sys/net/mptcp/"


def test_bad_input_changes_nothing(runner, netns):
    """Every case runs in one playbook, each followed by an `ip`/`grep` task
    that reads the kernel state, which must stay what it was before the first."""
    netns.ip("mptcp", "endpoint", "add", "192.0.2.10", "id", "1", "signal")
    netns.ip("mptcp", "limits", "set", "subflows", "3", "add_addr_accepted", "1")
    snapshot = ("ansible.builtin.command", {"argv": ["ip", "netns", "exec", netns.name, "sh", "-c", SNAPSHOT]}, {})
    tasks = [snapshot]
    for module, args, words in CASES:
        args = dict(args) if "netns" in args else dict(args, netns=netns.name)
        tasks += [(module, args, {"ignore_errors": True}), snapshot]
    results = runner.play(tasks)
    before = results[0]["stdout"]
    assert '"address":"192.0.2.10"' in before and "subflows 3" in before
    for (module, args, words), result, after in zip(CASES, results[1::2], results[2::2]):
        assert result.get("failed") is True, (args, result)
        for word in words:
            assert word in result["msg"], (word, result["msg"])
        assert "Traceback" not in result.get("module_stderr", ""), result
        assert after["stdout"] == before, "a refused %s call changed the kernel state: %s" % (module, args)


@pytest.mark.parametrize("module, args", [
    (EP, {"config": [{"address": "10.0.0.1", "flags": ["signal"]}]}),
    (SYS, {"enabled": True}),
    (LIM, {"subflows": 2}),
    ("mptcp.linux.mptcp_info", {}),
    ("mptcp.linux.mptcp_probe", {"host": "127.0.0.1", "port": 1}),
], ids=["endpoints", "sysctl", "limits", "info", "probe"])
def test_missing_namespace(runner, module, args):
    result = runner.play([(module, dict(args, netns="mptcp-it-nosuch"), {"ignore_errors": True})])[0]
    assert result["failed"] is True
    assert "netns" in result["msg"] and "mptcp-it-nosuch" in result["msg"] and "does not exist" in result["msg"]


def test_missing_pyroute2_is_a_clear_error(runner, netns, tmp_path):
    wrapper = shell_wrapper(tmp_path / "python-without-site", runner.python, "-S")
    result = runner.play([(LIM, {"netns": netns.name, "subflows": 2}, {"ignore_errors": True})], wrap=wrapper)[0]
    assert result["failed"] is True
    assert "pyroute2" in result["msg"] and "python3-pyroute2" in result["msg"]
