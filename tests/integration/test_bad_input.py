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

NINE = [{"address": "10.8.0.%d" % n, "flags": ["subflow"]} for n in range(1, 10)]

CASES = [
    (EP, {"config": [{"address": "10.0.0.300", "flags": ["signal"]}]}, ["config[0].address", "not a valid"]),
    (EP, {"config": [{"address": "ff02::1", "flags": ["signal"]}]}, ["config[0].address", "unicast"]),
    (EP, {"config": [{"address": "10.0.0.1", "flags": ["signal"]}, {"address": "10.0.0.2", "id": 0, "flags": ["signal"]}]},
     ["config[1].id", "1..255"]),
    (EP, {"config": [{"address": "10.0.0.1", "id": 256, "flags": ["signal"]}]}, ["config[0].id", "1..255"]),
    (EP, {"config": [{"address": "10.0.0.1", "port": 8080, "flags": ["subflow"]}]}, ["config[0].port", "signal"]),
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
]


def test_bad_input_changes_nothing(runner, netns):
    netns.ip("mptcp", "endpoint", "add", "192.0.2.10", "id", "1", "signal")
    netns.ip("mptcp", "limits", "set", "subflows", "3", "add_addr_accepted", "1")
    for module, args, words in CASES:
        before = netns.state()
        result = runner.play([(module, dict(args, netns=netns.name), {"ignore_errors": True})])[0]
        assert result.get("failed") is True, (args, result)
        for word in words:
            assert word in result["msg"], (word, result["msg"])
        assert netns.state() == before, "a refused %s call changed the kernel state: %s" % (module, args)


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


def test_kernel_refusal_restores_previous_endpoints(runner, netns):
    """A port the kernel cannot listen on (the address is not on this host)
    is refused mid-apply: the deletion already done is undone."""
    netns.ip("mptcp", "endpoint", "add", "192.0.2.10", "id", "1", "signal")
    before = netns.endpoints()
    result = runner.play([(EP, {"netns": netns.name, "state": "overridden",
                                "config": [{"address": "203.0.113.5", "port": 9000, "flags": ["signal"]}]},
                           {"ignore_errors": True})])[0]
    assert result["failed"] is True
    assert "the kernel refused it" in result["msg"] and "restored" in result["msg"]
    assert netns.endpoints() == before


def test_missing_pyroute2_is_a_clear_error(runner, netns, tmp_path):
    wrapper = shell_wrapper(tmp_path / "python-without-site", runner.python, "-S")
    result = runner.play([(LIM, {"netns": netns.name, "subflows": 2}, {"ignore_errors": True})], wrap=wrapper)[0]
    assert result["failed"] is True
    assert "pyroute2" in result["msg"] and "python3-pyroute2" in result["msg"]
