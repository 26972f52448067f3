# -*- coding: utf-8 -*-
"""A converged host costs no write: the second run of a full state
(sysctls + persisted file + limits + 8 endpoints) sends no netlink write and
opens no file for writing. strace is the oracle; the first run, traced the
same way, proves the trace does see writes."""

from __future__ import absolute_import, division, print_function

import os
import re
import subprocess

from conftest import VENV_BIN

WRITE_OPEN = re.compile(r'open(?:at)?\(.*"(/proc/sys/net/mptcp/[^"]+|[^"]*sysctl\.d[^"]*)".*O_(?:WRONLY|RDWR)')
RENAME = re.compile(r'rename(?:at2?)?\(.*sysctl\.d')
NETLINK_ACK = re.compile(r'send(?:to|msg)\(.*nlmsg_flags=[^,]*NLM_F_ACK')


def traced_writes(runner, inventory, play, name):
    trace = runner.tmp_path / ("%s.strace" % name)
    proc = subprocess.run(["strace", "-f", "-qq", "-s", "256", "-o", str(trace),
                           "-e", "trace=open,openat,rename,renameat,renameat2,sendto,sendmsg",
                           os.path.join(VENV_BIN, "ansible-playbook"), "-i", str(inventory), str(play)],
                          check=False, env=runner.env(), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = trace.read_text().splitlines()
    return {
        "files": [l for l in lines if WRITE_OPEN.search(l) or RENAME.search(l)],
        "netlink": [l for l in lines if NETLINK_ACK.search(l)],
    }


def test_second_run_writes_nothing(runner, netns, tmp_path):
    conf_dir = tmp_path / "sysctl.d"
    conf_dir.mkdir()
    inventory = runner.write_inventory(netns.interpreter(tmp_path, runner.python))
    for n in range(20, 25):
        netns.ip("addr", "add", "10.66.0.%d/24" % n, "dev", "lan1")
    tasks = [
        ("mptcp.linux.mptcp_sysctl", {"enabled": True, "path_manager": "kernel", "checksum_enabled": True,
                                      "add_addr_timeout": 60, "stale_loss_cnt": 5, "close_timeout": 30,
                                      "persist": True, "persist_path": str(conf_dir / "90-mptcp.conf")}, {}),
        ("mptcp.linux.mptcp_limits", {"subflows": 8, "add_addr_accepted": 8}, {}),
        ("mptcp.linux.mptcp_endpoints", {"state": "overridden", "config": [
            {"address": "192.0.2.10", "id": 1, "port": 8000, "flags": ["signal"]},
            {"address": "2001:db8::10", "flags": ["signal"]},
            {"dev": "lan1", "family": "ipv4", "flags": ["subflow", "backup"]},
        ]}, {}),
    ]
    play = runner.write_play(tasks)

    first = traced_writes(runner, inventory, play, "first")
    assert len(netns.endpoints()) == 8
    assert first["files"] and len(first["netlink"]) >= 9, "the trace must see the first run's writes"

    second = traced_writes(runner, inventory, play, "second")
    assert second == {"files": [], "netlink": []}
