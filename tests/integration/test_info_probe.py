# -*- coding: utf-8 -*-
"""mptcp_probe and mptcp_info between two namespaces joined by two links;
nstat, ss and /proc are the oracle."""

from __future__ import absolute_import, division, print_function

import json
import os
import subprocess
import sys
import time
import uuid

import pytest

from conftest import REPO, ip, shell_wrapper

ECHO = os.path.join(REPO, "playbooks", "files", "mptcp_echo.py")


class Pair(object):
    """cli and srv, joined by 10.71.1.0/24 + fd71:1::/64 and 10.71.2.0/24."""

    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.cli, self.srv = "mptcp-it-c%s" % tag, "mptcp-it-s%s" % tag
        for ns in (self.cli, self.srv):
            ip("netns", "add", ns)
            ip("-n", ns, "link", "set", "lo", "up")
        for n in (1, 2):
            ip("link", "add", "c%s%d" % (tag, n), "netns", self.cli, "type", "veth", "peer", "name", "s%s%d" % (tag, n), "netns", self.srv)
            for ns, side, dev in ((self.cli, 1, "c%s%d" % (tag, n)), (self.srv, 2, "s%s%d" % (tag, n))):
                ip("-n", ns, "addr", "add", "10.71.%d.%d/24" % (n, side), "dev", dev)
                ip("-n", ns, "addr", "add", "fd71:%d::%d/64" % (n, side), "dev", dev, "nodad")
                ip("-n", ns, "link", "set", dev, "up")
        ip("-n", self.srv, "mptcp", "endpoint", "add", "10.71.2.2", "signal")
        ip("-n", self.srv, "mptcp", "endpoint", "add", "fd71:2::2", "signal")
        ip("-n", self.cli, "mptcp", "limits", "set", "subflows", "2", "add_addr_accepted", "2")
        self.procs = []

    def serve(self, probes=1, tcp=False):
        if tcp:
            code = ("import socket,sys,time\ns=socket.socket(socket.AF_INET6);s.setsockopt(socket.IPPROTO_IPV6,socket.IPV6_V6ONLY,0)\n"
                    "s.bind(('::',4243));s.listen(4)\nc=s.accept()[0];c.sendall(c.recv(100));time.sleep(3)")
            argv = [sys.executable, "-c", code]
        else:
            argv = [sys.executable, ECHO, "4242", str(probes), "30"]
        self.procs.append(subprocess.Popen(["ip", "netns", "exec", self.srv] + argv))
        port = "4243" if tcp else "4242"
        for dummy in range(100):
            if ":%s" % port in ip("netns", "exec", self.srv, "ss", "-Hltn"):
                return
            time.sleep(0.05)
        raise AssertionError("listener did not start")

    def nstat(self, ns, name):
        out = subprocess.run(["ip", "netns", "exec", ns, "nstat", "-az", "-j"], capture_output=True, text=True, check=True).stdout
        return json.loads(out)["kernel"].get(name, 0)

    def close(self):
        for proc in self.procs:
            proc.kill()
            proc.wait()
        for ns in (self.cli, self.srv):
            ip("netns", "delete", ns, check=False)


@pytest.fixture
def pair():
    p = Pair()
    yield p
    p.close()


PROBE = "mptcp.linux.mptcp_probe"


@pytest.mark.parametrize("host", ["10.71.1.2", "fd71:1::2"], ids=["ipv4", "ipv6"])
def test_probe_two_subflows(runner, pair, host):
    pair.serve()
    joins = pair.nstat(pair.cli, "MPTcpExtMPJoinSynAckRx")
    result = runner.play([(PROBE, {"netns": pair.cli, "host": host, "port": 4242,
                                   "expect_subflows": 2, "expect_reply": True}, {})])[0]
    assert not result.get("failed"), result.get("msg")
    # the IPv6 connection may also join over the announced IPv4 address
    assert result["mptcp"] is True and result["subflows"] >= 2
    assert result["bytes_received"] == len("mptcp.linux probe\n")
    assert pair.nstat(pair.cli, "MPTcpExtMPJoinSynAckRx") >= joins + 1  # the oracle saw the join


def test_probe_report_only_on_fallback(runner, pair):
    pair.serve(tcp=True)
    result = runner.play([(PROBE, {"netns": pair.cli, "host": "10.71.1.2", "port": 4243, "expect_mptcp": False}, {})])[0]
    assert not result.get("failed") and result["mptcp"] is False


def test_probe_missing_subflows_names_the_limit(runner, pair):
    ip("-n", pair.cli, "mptcp", "limits", "set", "subflows", "2", "add_addr_accepted", "0")
    pair.serve()
    result = runner.play([(PROBE, {"netns": pair.cli, "host": "10.71.1.2", "port": 4242, "expect_subflows": 2,
                                   "timeout": 2}, {"ignore_errors": True})])[0]
    assert result["failed"] is True and result["subflows"] == 1
    assert "add_addr_accepted" in result["msg"]


def test_probe_connection_refused(runner, pair):
    result = runner.play([(PROBE, {"netns": pair.cli, "host": "10.71.1.2", "port": 4299}, {"ignore_errors": True})])[0]
    assert result["failed"] is True and "cannot connect" in result["msg"]


def test_info_reports_state_and_live_connections(runner, pair):
    pair.serve(probes=2)  # keeps listening after the first connection
    sock_holder = subprocess.Popen(["ip", "netns", "exec", pair.cli, sys.executable, "-c",
                                    "import socket,time\ns=socket.socket(socket.AF_INET,socket.SOCK_STREAM,262)\n"
                                    "s.connect(('10.71.1.2',4242));s.sendall(b'x');s.recv(1);time.sleep(20)"])
    try:
        for dummy in range(100):
            if "10.71.2.1" in ip("netns", "exec", pair.srv, "ss", "-Htn"):
                break
            time.sleep(0.05)
        result = runner.play([("mptcp.linux.mptcp_info", {"netns": pair.srv}, {})])[0]
    finally:
        sock_holder.kill()
        sock_holder.wait()
    assert result["usable"] is True and result["usable_errno"] is None
    assert result["kernel"] == os.uname()[2]
    assert result["limits"]["subflows"] == 2
    assert [e["address"] for e in result["endpoints"]] == ["10.71.2.2", "fd71:2::2"]
    with open("/proc/sys/net/mptcp/available_schedulers") as handle:
        assert result["available_schedulers"] == handle.read().split()
    assert result["counters"]["MPCapableSYNRX"] >= 1
    established = [c for c in result["connections"] if c["state"] == "ESTAB"]
    assert len(established) == 1 and established[0]["subflows"] == 2, repr(result["connections"])
    assert established[0]["local"] == "10.71.1.2:4242"
    assert any(c["state"] == "LISTEN" and c["local"].endswith(":4242") for c in result["connections"])


def test_info_unusable_explains_why(runner, netns):
    subprocess.run(["ip", "netns", "exec", netns.name, "sysctl", "-qw", "net.mptcp.enabled=0"], check=True)
    result = runner.play([("mptcp.linux.mptcp_info", {"netns": netns.name}, {})])[0]
    assert result["usable"] is False and result["usable_errno"] == "ENOPROTOOPT"
    assert "net.mptcp.enabled = 0" in result["usable_reason"]


def test_info_host_answers_without_pyroute2(runner, netns, tmp_path):
    """host: whether systemd runs this machine, which of host_files exist,
    what is missing. Under `python -S` (no site-packages: no pyroute2) the
    module still answers with the namespace's sysctls and names pyroute2
    missing; without host, it stops, naming pyroute2."""
    subprocess.run(["ip", "netns", "exec", netns.name, "sysctl", "-qw", "net.mptcp.enabled=0"], check=True)
    present, absent = tmp_path / "present.service", str(tmp_path / "absent.service")
    present.write_text("[Unit]\n")
    args = {"netns": netns.name, "connections": False, "host": True, "host_files": [str(present), absent]}
    bare_python = shell_wrapper(tmp_path / "python-without-site", runner.python, "-S")
    full = runner.play([("mptcp.linux.mptcp_info", args, {})])[0]
    bare, refused = runner.play([("mptcp.linux.mptcp_info", args, {}),
                                 ("mptcp.linux.mptcp_info", {"netns": netns.name, "connections": False},
                                  {"ignore_errors": True})], bare_python)
    for result in (full, bare):
        assert result["host"]["systemd"] is os.path.isdir("/run/systemd/system")
        assert result["host"]["files"] == {str(present): True, absent: False}
        assert result["sysctl"]["enabled"] == "0" and result["usable_errno"] == "ENOPROTOOPT"
    assert full["host"]["missing"] == [] and full["limits"]["subflows"] >= 0
    assert bare["host"]["missing"] == ["pyroute2"], bare["host"]
    assert "endpoints" not in bare and "limits" not in bare
    assert refused["failed"] and "pyroute2" in refused["msg"]


def test_probe_targets_in_one_execution(runner, pair):
    """Two servers (one listener reached over IPv4 and IPv6) in one call: both
    negotiated MPTCP with their subflows, and the kernel counted the joins."""
    pair.serve(probes=2)
    joins = pair.nstat(pair.cli, "MPTcpExtMPJoinSynAckRx")
    result = runner.play([(PROBE, {"netns": pair.cli, "port": 4242, "expect_subflows": 2, "expect_reply": True,
                                   "targets": [{"host": "10.71.1.2", "name": "v4"}, {"host": "fd71:1::2"}]}, {})])[0]
    assert not result.get("failed"), result.get("msg")
    assert "mptcp" not in result  # per target only
    assert [(p["name"], p["port"], p["failed"], p["mptcp"]) for p in result["probes"]] == [
        ("v4", 4242, False, True), ("fd71:1::2", 4242, False, True)]
    assert all(p["subflows"] >= 2 and p["bytes_received"] == len("mptcp.linux probe\n") for p in result["probes"])
    assert pair.nstat(pair.cli, "MPTcpExtMPJoinSynAckRx") >= joins + 2


def test_probe_targets_all_probed_then_the_failures_named(runner, pair):
    """A refused target does not stop the others; the module fails naming it."""
    pair.serve(probes=1)
    result = runner.play([(PROBE, {"netns": pair.cli, "port": 4242, "expect_subflows": 2,
                                   "targets": [{"host": "10.71.1.2", "port": 4299, "name": "closed"},
                                               {"host": "10.71.1.2", "name": "open"}]},
                           {"ignore_errors": True})])[0]
    assert result["failed"] is True
    assert result["msg"].startswith("1 of 2 probes failed: closed: cannot connect to 10.71.1.2 port 4299"), result["msg"]
    closed, opened = result["probes"]
    assert closed["failed"] is True and closed["mptcp"] is False and "cannot connect" in closed["msg"]
    assert opened["failed"] is False and opened["mptcp"] is True and opened["subflows"] >= 2


CLIENT_COUNTERS = ("MPCapableSYNTX", "MPCapableFallbackSYNACK", "MPCapableSYNTXDrop", "MPJoinSynAckRx")


def _client_counters(pair):
    return dict((name, pair.nstat(pair.cli, "MPTcpExt" + name)) for name in CLIENT_COUNTERS)


def test_probe_attempts_count_and_their_counter_deltas(runner, pair):
    """Two attempts to an MPTCP listener, in check mode (the probe changes
    nothing, so it runs): both negotiated, none fell back, and the counter
    deltas are nstat's in the client namespace."""
    pair.serve(probes=2)
    before = _client_counters(pair)
    result = runner.play([(PROBE, {"netns": pair.cli, "port": 4242, "expect_subflows": 2, "expect_reply": True,
                                   "attempts": 2, "targets": [{"host": "10.71.1.2", "name": "srv"}]},
                           {"check_mode": True})])[0]
    assert not result.get("failed"), result.get("msg")
    after = _client_counters(pair)
    (entry,) = result["probes"]
    assert (entry["attempts"], entry["mptcp_attempts"], entry["fallbacks"]) == (2, 2, 0)
    assert entry["counters"] == dict((name, after[name] - before[name]) for name in CLIENT_COUNTERS)
    assert entry["counters"]["MPCapableSYNTX"] == 2 and entry["counters"]["MPJoinSynAckRx"] == 2
    assert entry["summary"] == ("MPTCP, 2 subflows, 0 of 2 attempts fell back "
                                "(MP_CAPABLE SYNs 2, fallbacks 0, MP_JOIN SYN-ACKs 2)")


def test_probe_fallback_to_tcp_fails_clearly(runner, pair):
    """A plain TCP listener, three attempts: every one falls back (the kernel
    counts a SYN-ACK without MP_CAPABLE for each), the probe fails and says
    how many."""
    pair.serve(tcp=True)
    before = _client_counters(pair)
    result = runner.play([(PROBE, {"netns": pair.cli, "host": "10.71.1.2", "port": 4243, "attempts": 3},
                           {"ignore_errors": True})])[0]
    after = _client_counters(pair)
    assert result["failed"] is True and result["mptcp"] is False
    assert (result["attempts"], result["mptcp_attempts"], result["fallbacks"]) == (3, 0, 3)
    assert "3 of 3 attempt(s) fell back to plain TCP" in result["msg"], result["msg"]
    assert result["counters"] == dict((name, after[name] - before[name]) for name in CLIENT_COUNTERS)
    assert result["counters"]["MPCapableSYNTX"] == 3 and result["counters"]["MPCapableFallbackSYNACK"] == 3
    assert result["summary"].startswith("plain TCP (fell back), 1 subflow, 3 of 3 attempts fell back (MP_CAPABLE SYNs 3, "
                                        "fallbacks 3")
