# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mptcp_info's listeners in a throw-away namespace: TCP and MPTCP
listeners held by two processes, with `ss -Htlnpi` and `ss -HMlnp` as the
oracle (ss marks the TCP subflow of an MPTCP listener "tcp-ulp-mptcp")."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import subprocess
import sys

import pytest

from conftest import ip

# Two processes (parent and a forked child) hold every socket; the child
# also opens a TCP listener of its own.
SERVER = r"""
import os, socket, sys, time
def listen(family, proto, address, port, v6only=None):
    s = socket.socket(family, socket.SOCK_STREAM, proto)
    if v6only is not None:
        s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, v6only)
    s.bind((address, port))
    s.listen()
    return s
held = [listen(socket.AF_INET6, 262, "::", 7100, 0), listen(socket.AF_INET, 262, "127.0.0.1", 7102),
        listen(socket.AF_INET6, 262, "::1", 7103, 1), listen(socket.AF_INET, 6, "127.0.0.1", 7101)]
if os.fork() == 0:
    held.append(listen(socket.AF_INET6, 6, "::", 7104, 1))
    print("ready", flush=True)
time.sleep(60)
"""


def ss_listeners(ns):
    """{(protocol, port): pids} as ss reports them."""
    found = {}
    tcp = ip("netns", "exec", ns, "ss", "-H", "-t", "-l", "-n", "-p", "-i")
    for entry in re.split(r"\n(?=\S)", tcp.strip()):
        if "tcp-ulp-mptcp" in entry:
            continue  # the subflow of an MPTCP listener
        port = int(entry.split()[3].rsplit(":", 1)[1])
        found[("tcp", port)] = sorted(int(pid) for pid in re.findall(r"pid=(\d+)", entry))
    for line in ip("netns", "exec", ns, "ss", "-H", "-M", "-l", "-n", "-p").splitlines():
        port = int(line.split()[3].rsplit(":", 1)[1])
        found[("mptcp", port)] = sorted(int(pid) for pid in re.findall(r"pid=(\d+)", line))
    return found


@pytest.fixture
def server(netns):
    proc = subprocess.Popen(["ip", "netns", "exec", netns.name, sys.executable, "-c", SERVER], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "ready"
    yield proc
    subprocess.run(["pkill", "-KILL", "-P", str(proc.pid)], check=False)
    proc.kill()
    proc.wait()


def test_listeners_match_ss(runner, netns, server):
    result = runner.play([("mptcp.linux.mptcp_info", {"netns": netns.name, "connections": False,
                                                      "listeners": True}, {})])[0]
    assert not result.get("failed"), result
    assert "connections" not in result
    listeners = result["listeners"]
    expected = ss_listeners(netns.name)
    assert dict(((e["protocol"], e["port"]), e["pids"]) for e in listeners) == expected
    assert sorted(expected, key=lambda key: key[1]) == [("mptcp", 7100), ("tcp", 7101), ("mptcp", 7102), ("mptcp", 7103), ("tcp", 7104)]
    child = expected[("tcp", 7104)]
    assert len(child) == 1 and child[0] != server.pid
    assert sorted(expected[("mptcp", 7100)]) == sorted([server.pid] + child)
    by_port = dict((e["port"], e) for e in listeners)
    assert (by_port[7100]["local"], by_port[7100]["family"]) == ("[::]:7100", "ipv6")
    assert (by_port[7102]["local"], by_port[7102]["family"]) == ("127.0.0.1:7102", "ipv4")
    assert by_port[7103]["local"] == "[::1]:7103"
    assert [e["port"] for e in listeners] == sorted(e["port"] for e in listeners)


def test_no_listeners_by_default(runner, netns):
    result = runner.play([("mptcp.linux.mptcp_info", {"netns": netns.name}, {})])[0]
    assert "listeners" not in result and "connections" in result
