# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The textfile exporter (module_utils/_metrics.py) run as the role's timer
runs it, ``python3 -m ...module_utils._metrics OUTPUT.prom`` with only the
collection on its path, inside the client of two namespaces joined by two
links, around a real MPTCP transfer on two subflows and a connection that
falls back to TCP (an MPTCP client against a plain TCP listener). The
oracle is ``nstat -asz`` read independently in the same namespace, ``ip
mptcp`` and ``ss -M``; ``promtool check metrics`` (Debian's prometheus
package) lints the file when it is installed. Debian's node_exporter, when
installed, runs in the client namespace with its netstat fields extended
as the role extends them and its textfile collector on the exporter's
directory: its scrape must give every MPTcpExt counter as nstat does, and
the exporter's gauges.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

import pytest

from conftest import INTERPRETERS, REPO, ip, stop_process

from ansible_collections.mptcp.linux.plugins.filter import node_exporter_netstat_fields as netstat_fields
from ansible_collections.mptcp.linux.tests import quote_consumers as consumer

MODULE = "ansible_collections.mptcp.linux.plugins.module_utils._metrics"
SERVER = r"""
import socket, sys, threading
def serve(listener):
    while True:
        conn = listener.accept()[0]
        threading.Thread(target=echo, args=(conn,), daemon=True).start()
def echo(conn):
    while True:
        data = conn.recv(65536)
        if not data:
            conn.close()
            return
        conn.sendall(data)
for port, proto in ((4242, 262), (4243, 6)):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, proto)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(8)
    threading.Thread(target=serve, args=(s,), daemon=True).start()
print("listening", flush=True)
sys.stdin.read()
"""
# An MPTCP transfer of 1 MiB to the MPTCP listener, then an MPTCP socket to
# the plain TCP one (it falls back); both stay open until stdin closes.
CLIENT = r"""
import socket, sys
held = []
for port in (4242, 4243):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
    s.connect(("10.72.1.2", port))
    payload = b"x" * (1 << 20) if port == 4242 else b"fallback"
    s.sendall(payload)
    got = 0
    while got < len(payload):
        got += len(s.recv(65536))
    held.append(s)
print("done", flush=True)
sys.stdin.read()
for s in held:
    s.close()
"""


class Pair(object):
    """cli and srv joined by 10.72.1.0/24 and 10.72.2.0/24; the server
    announces its second address, the client accepts it."""

    def __init__(self):
        tag = uuid.uuid4().hex[:6]
        self.cli, self.srv = "mptcp-it-mc%s" % tag, "mptcp-it-ms%s" % tag
        for ns in (self.cli, self.srv):
            ip("netns", "add", ns)
            ip("-n", ns, "link", "set", "lo", "up")
        for n in (1, 2):
            cdev, sdev = "mc%s%d" % (tag, n), "ms%s%d" % (tag, n)
            ip("link", "add", cdev, "netns", self.cli, "type", "veth", "peer", "name", sdev, "netns", self.srv)
            for ns, side, dev in ((self.cli, 1, cdev), (self.srv, 2, sdev)):
                ip("-n", ns, "addr", "add", "10.72.%d.%d/24" % (n, side), "dev", dev)
                ip("-n", ns, "link", "set", dev, "up")
        ip("-n", self.srv, "mptcp", "endpoint", "add", "10.72.2.2", "signal")
        ip("-n", self.cli, "mptcp", "limits", "set", "subflows", "2", "add_addr_accepted", "1")
        # a signal endpoint creates no subflow: the second one is the join to the announced address
        ip("-n", self.cli, "mptcp", "endpoint", "add", "10.72.2.1", "id", "5", "dev", "mc%s2" % tag, "signal", "backup")

    def spawn(self, ns, code):
        proc = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", code], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() in ("listening", "done")
        return proc

    def nstat(self):
        """The oracle: MPTcpExt counters of the client namespace, absolute."""
        out = subprocess.run(["ip", "netns", "exec", self.cli, "nstat", "-asz", "--json"],
                             capture_output=True, text=True, check=True).stdout
        return dict((name[len("MPTcpExt"):], value) for name, value in json.loads(out)["kernel"].items()
                    if name.startswith("MPTcpExt"))

    def close(self):
        for ns in (self.cli, self.srv):
            ip("netns", "delete", ns, check=False)


@pytest.fixture
def pair():
    p = Pair()
    yield p
    p.close()


@pytest.fixture(scope="module")
def exporter_path():
    """A directory with only ansible_collections/mptcp/linux (this tree) in it."""
    path = tempfile.mkdtemp(prefix="mptcp-it-metrics-")
    os.makedirs(os.path.join(path, "ansible_collections", "mptcp"))
    os.symlink(REPO, os.path.join(path, "ansible_collections", "mptcp", "linux"))
    yield path
    shutil.rmtree(path)


def export(pair, python, exporter_path, output):
    """Run the exporter in the client namespace; its samples by name."""
    subprocess.run(["ip", "netns", "exec", pair.cli, python, "-m", MODULE, str(output)], check=True,
                   env=dict(os.environ, PYTHONPATH=exporter_path), timeout=60)
    text = output.read_bytes()
    assert [p.name for p in output.parent.iterdir()] == [output.name]  # no temporary file left
    if shutil.which("promtool"):
        lint = subprocess.run(["promtool", "check", "metrics"], input=text, capture_output=True, check=False)
        assert lint.returncode == 0, (lint.stdout + lint.stderr).decode()
    parsed = consumer.prometheus_text(text)
    samples = {}
    for name, labels, value in parsed["samples"]:
        samples.setdefault(name, []).append((labels, float(value)))
    return parsed, samples


NODE_EXPORTER = shutil.which("prometheus-node-exporter")
FETCH = "import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())"


def node_exporter_scrape(pair, textfile_dir):
    """Debian's node_exporter in the client namespace, with the netstat
    fields extended as the role extends them (from its --help default) and
    the textfile collector on the exporter's directory: one scrape, parsed;
    None without node_exporter."""
    if not NODE_EXPORTER:
        return None
    help_text = subprocess.run([NODE_EXPORTER, "--help"], capture_output=True, text=True, check=False)
    argv = netstat_fields.extend_words(["--collector.disable-defaults", "--collector.netstat", "--collector.textfile",
                                        "--collector.textfile.directory=%s" % textfile_dir,
                                        "--web.listen-address=127.0.0.1:9100"], help_text.stdout + help_text.stderr)
    assert argv[-1].endswith("|^MPTcpExt_")  # the default, read from --help, extended
    proc = subprocess.Popen(["ip", "netns", "exec", pair.cli, NODE_EXPORTER] + argv,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for dummy in range(100):
            got = subprocess.run(["ip", "netns", "exec", pair.cli, sys.executable, "-c", FETCH,
                                  "http://127.0.0.1:9100/metrics"], capture_output=True, check=False)
            if got.returncode == 0:
                return consumer.prometheus_text(got.stdout)
            time.sleep(0.1)
        raise AssertionError("node_exporter did not answer: %s" % got.stderr.decode())
    finally:
        stop_process(proc)


def counters_of(parsed, samples):
    """{kernel name: value} from the MPTcpExt families, whose HELP names the kernel counter."""
    result = {}
    for name, text in parsed["help"].items():
        if text.startswith("MPTcpExt "):
            result[text.split()[1]] = int(samples[name][0][1])
    return result


def settled_nstat(pair):
    """nstat twice in a row with the same values: nothing was in flight."""
    last = pair.nstat()
    for dummy in range(50):
        time.sleep(0.05)
        now = pair.nstat()
        if now == last:
            return now
        last = now
    raise AssertionError("the MPTcpExt counters did not settle")


@pytest.mark.skipif(not INTERPRETERS, reason="no Python with pyroute2")
def test_exported_counters_match_nstat_around_a_transfer_and_a_fallback(pair, exporter_path, tmp_path):
    python = INTERPRETERS[-1].values[0]  # Debian's python3 when it has pyroute2: what the unit runs
    output = tmp_path / "textfile" / "mptcp.prom"
    output.parent.mkdir()
    server = pair.spawn(pair.srv, SERVER)
    try:
        nstat_before = settled_nstat(pair)
        parsed, before = export(pair, python, exporter_path, output)
        exported_before = counters_of(parsed, before)
        assert exported_before == nstat_before  # every counter, with its value, no more

        client = pair.spawn(pair.cli, CLIENT)
        try:
            for dummy in range(100):  # the join over the announced address: two TCP subflows to 4242
                if len(ip("netns", "exec", pair.cli, "ss", "-Htn", "state", "established", "dport = :4242").splitlines()) == 2:
                    break
                time.sleep(0.05)
            parsed, during = export(pair, python, exporter_path, output)
            established = ip("netns", "exec", pair.cli, "ss", "-HMn", "state", "established").splitlines()
            assert len(established) == 2  # the MPTCP connection and the fallen-back one
            assert during["mptcp_connections"] == [({"state": "ESTAB"}, 2.0)]
            assert during["mptcp_connection_subflows_max"] == [({}, 2.0)]
            buckets = dict((labels["le"], value) for labels, value in during["mptcp_connection_subflows_bucket"])
            assert buckets["1"] == 1.0 and buckets["2"] == 2.0 and buckets["+Inf"] == 2.0
        finally:
            client.stdin.close()
            client.wait(timeout=10)

        nstat_after = settled_nstat(pair)
        parsed, after = export(pair, python, exporter_path, output)
        exported_after = counters_of(parsed, after)
        assert pair.nstat() == nstat_after  # nothing moved while the exporter ran
        scraped = node_exporter_scrape(pair, output.parent)
        assert pair.nstat() == nstat_after
    finally:
        server.stdin.close()
        stop_process(server)

    if scraped is not None:
        # node_exporter's netstat collector, its fields as the role extends them: every MPTcpExt counter
        netstat = dict((name[len("node_netstat_MPTcpExt_"):], value) for name, labels, value in scraped["samples"]
                       if name.startswith("node_netstat_MPTcpExt_"))
        assert dict((k, int(float(v))) for k, v in netstat.items()) == nstat_after
        # its textfile collector reads the exporter's file
        textfile = dict((name, value) for name, labels, value in scraped["samples"] if name.startswith("mptcp_"))
        assert textfile["mptcp_usable"] == "1" and textfile["mptcp_mp_capable_fallback_synack_total"] == "1"
        errors = [value for name, labels, value in scraped["samples"] if name == "node_textfile_scrape_error"]
        assert errors == ["0"]

    exported_delta = dict((k, exported_after[k] - exported_before[k]) for k in exported_after)
    nstat_delta = dict((k, nstat_after[k] - nstat_before[k]) for k in nstat_after)
    assert exported_delta == nstat_delta
    assert exported_delta["MPCapableSYNTX"] == 2  # two MPTCP connections asked for MPTCP
    assert exported_delta["MPCapableSYNACKRX"] == 1  # one got it
    assert exported_delta["MPCapableFallbackSYNACK"] == 1  # the other fell back to TCP
    assert exported_delta["MPJoinSynAckRx"] >= 1  # the second subflow
    assert after["mptcp_mp_capable_fallback_synack_total"][0][1] == nstat_after["MPCapableFallbackSYNACK"]

    assert after["mptcp_usable"] == [({}, 1.0)]
    oracle = json.loads(ip("-n", pair.cli, "-j", "mptcp", "endpoint", "show"))
    assert after["mptcp_endpoints"] == [({}, float(len(oracle)))]
    info = after["mptcp_endpoint_info"][0][0]
    assert (info["address"], info["id"], info["flags"]) == ("10.72.2.1", "5", "backup,signal")
    assert (oracle[0]["address"], oracle[0]["id"]) == ("10.72.2.1", 5)
    flagged = dict((labels["flag"], value) for labels, value in after["mptcp_endpoints_flagged"])
    assert flagged["signal"] == 1.0 and flagged["backup"] == 1.0 and flagged["subflow"] == 0.0
    assert after["mptcp_limit_subflows"] == [({}, 2.0)] and after["mptcp_limit_add_addr_accepted"] == [({}, 1.0)]
    sysctl = after["mptcp_sysctl_info"][0][0]
    assert sysctl["enabled"] == ip("netns", "exec", pair.cli, "cat", "/proc/sys/net/mptcp/enabled").strip()
