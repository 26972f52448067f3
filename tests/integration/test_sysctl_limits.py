# -*- coding: utf-8 -*-
"""mptcp_sysctl and mptcp_limits against the real kernel; /proc/sys and
`ip mptcp limits show` are the oracle."""

from __future__ import absolute_import, division, print_function

import os

from conftest import assert_idempotent, four_runs


def test_sysctl_every_knob(runner, netns):
    args = {"netns": netns.name, "enabled": True, "path_manager": "userspace", "scheduler": "default",
            "add_addr_timeout": 30, "checksum_enabled": True, "allow_join_initial_addr_port": False,
            "stale_loss_cnt": 6, "close_timeout": 20, "blackhole_timeout": 0, "syn_retrans_before_tcp_fallback": 3}
    results, states = four_runs(runner, netns, "mptcp.linux.mptcp_sysctl", args, netns.sysctl)
    assert_idempotent(results, states)
    after = states[2]
    assert (after["path_manager"], after["pm_type"]) == ("userspace", "1")
    assert after["add_addr_timeout"] == "30" and after["checksum_enabled"] == "1"
    assert after["allow_join_initial_addr_port"] == "0" and after["stale_loss_cnt"] == "6"
    assert after["close_timeout"] == "20" and after["blackhole_timeout"] == "0"
    assert after["syn_retrans_before_tcp_fallback"] == "3"
    assert "sysctl -w net.mptcp.path_manager=userspace" in results[1]["commands"]
    assert "net.mptcp.path_manager=userspace" in results[1]["changes"]  # the deprecated alias


def test_sysctl_persist_writes_one_file_atomically_once(runner, netns, tmp_path):
    conf = tmp_path / "sysctl.d" / "90-mptcp.conf"
    conf.parent.mkdir()
    wrapper = netns.interpreter(tmp_path, runner.python)
    args = {"enabled": True, "checksum_enabled": True, "persist": True, "persist_path": str(conf)}
    first = runner.play([("mptcp.linux.mptcp_sysctl", args, {"diff": True})], wrap=wrapper)[0]
    assert first["changed"] and first["persist_changed"], first
    assert netns.sysctl()["checksum_enabled"] == "1"
    content = conf.read_text()
    assert content.splitlines()[1:] == ["net.mptcp.checksum_enabled = 1", "net.mptcp.enabled = 1"]
    inode = os.stat(str(conf)).st_ino
    second = runner.play([("mptcp.linux.mptcp_sysctl", args, {"diff": True})], wrap=wrapper)[0]
    assert second["changed"] is False and second["persist_changed"] is False
    assert os.stat(str(conf)).st_ino == inode, "an unchanged file must not be rewritten"
    assert sorted(os.listdir(str(conf.parent))) == ["90-mptcp.conf"], "no temporary file left behind"


def test_limits(runner, netns):
    args = {"netns": netns.name, "subflows": 4, "add_addr_accepted": 3}
    results, states = four_runs(runner, netns, "mptcp.linux.mptcp_limits", args, netns.limits)
    assert_idempotent(results, states)
    assert states[2] == {"subflows": 4, "add_addr_accepted": 3}
    assert results[1]["commands"] == ["ip mptcp limits set subflows 4 add_addr_accepted 3"]


def test_limits_one_value_keeps_the_other(runner, netns):
    netns.ip("mptcp", "limits", "set", "subflows", "5", "add_addr_accepted", "1")
    args = {"netns": netns.name, "add_addr_accepted": 8}
    results, states = four_runs(runner, netns, "mptcp.linux.mptcp_limits", args, netns.limits)
    assert_idempotent(results, states)
    assert states[2] == {"subflows": 5, "add_addr_accepted": 8}
