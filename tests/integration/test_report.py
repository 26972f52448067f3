# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/report.yml on a fleet of namespaces: a server and a client
joined by two links, after a real MPTCP transfer on two subflows and a
connection that falls back to TCP (an MPTCP client against a plain TCP
listener), and a host whose read fails. The HTML page (read with
html.parser), its JSON twin and its Markdown twin must say what ``nstat``,
``ip mptcp`` and the inventory say: usable, endpoints, limits, drift from
site.yml, the fallback ratio, the flags.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import struct
import subprocess
import time
import zlib

from html.parser import HTMLParser

import pytest
import yaml

from conftest import INTERPRETERS, REPO, VENV_BIN, ip, shell_wrapper, stop_process
from test_metrics import CLIENT, SERVER, Pair

from ansible_collections.mptcp.linux.plugins.filter.fleet_report import fleet_report

ATTEMPTS = ("MPCapableSYNTX", "MPCapableSYNRX")
FALLBACKS = ("MPCapableFallbackSYNACK", "MPCapableFallbackACK", "MPCapableSYNTXDrop")


class Page(HTMLParser):
    """The report page's table (cells by host) and chart (ratios by host),
    and every tag, to find anything that would load from elsewhere."""

    def __init__(self):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.rows, self.bars, self.tags, self.headers = {}, {}, [], []
        self._row = self._cell = self._th = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "tr" and "data-host" in attrs:
            self._row = self.rows.setdefault(attrs["data-host"], [])
        elif tag == "td" and self._row is not None:
            self._cell = []
        elif tag == "th":
            self._th = []
        elif tag == "rect" and attrs.get("class") == "bar":
            self.bars[attrs["data-host"]] = float(attrs["data-ratio"])

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "th" and self._th is not None:
            self.headers.append("".join(self._th))
            self._th = None

    def handle_data(self, data):
        for part in (self._cell, self._th):
            if part is not None:
                part.append(data)


def nstat(ns):
    out = subprocess.run(["ip", "netns", "exec", ns, "nstat", "-asz", "--json"],
                         capture_output=True, text=True, check=True).stdout
    return dict((name[len("MPTcpExt"):], value) for name, value in json.loads(out)["kernel"].items()
                if name.startswith("MPTcpExt"))


def limits(ns):
    words = ip("-n", ns, "mptcp", "limits", "show").split()
    return dict((words[i], int(words[i + 1])) for i in range(0, len(words) - 1, 2))


@pytest.fixture
def pair():
    p = Pair()
    yield p
    p.close()


@pytest.mark.skipif(not INTERPRETERS, reason="no Python with pyroute2")
def test_report_after_a_transfer_and_a_fallback(pair, collections_path, tmp_path):
    python = INTERPRETERS[0].values[0]
    # The MPTCP transfer and the fallback, then the client's add_addr_accepted
    # to 0 (a flag, and drift from site.yml's 2) and the server's limits as
    # site.yml sets them (in step).
    server = pair.spawn(pair.srv, SERVER)
    try:
        client = pair.spawn(pair.cli, CLIENT)
        client.stdin.close()
        client.wait(timeout=30)
    finally:
        server.stdin.close()
        stop_process(server)
    ip("-n", pair.cli, "mptcp", "limits", "set", "subflows", "2", "add_addr_accepted", "0")
    ip("-n", pair.srv, "mptcp", "limits", "set", "subflows", "2", "add_addr_accepted", "2")
    for dummy in range(50):  # the counters settle once the connections are gone
        before = (nstat(pair.cli), nstat(pair.srv))
        time.sleep(0.05)
        if before == (nstat(pair.cli), nstat(pair.srv)):
            break

    inventory = tmp_path / "inventory.yml"
    local = {"ansible_connection": "local", "mptcp_install_packages": False, "mptcp_persist": False}
    inventory.write_text(yaml.safe_dump({"all": {"children": {
        "mptcp_servers": {"hosts": {"srv": dict(local, ansible_python_interpreter=shell_wrapper(
            tmp_path / "python-srv", "ip", "netns", "exec", pair.srv, python),
            mptcp_endpoints=[{"address": "10.72.2.2", "flags": ["signal"]}])}},
        "mptcp_clients": {"hosts": {
            "cli": dict(local, ansible_python_interpreter=shell_wrapper(
                tmp_path / "python-cli", "ip", "netns", "exec", pair.cli, python)),
            # a <b>host</b> whose interpreter does not exist: its read fails
            "gone<b>": dict(local, ansible_python_interpreter=str(tmp_path / "no-python")),
        }},
    }}}))
    out = tmp_path / "report"
    proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", str(inventory),
                           os.path.join(REPO, "playbooks", "report.yml"), "-e", "mptcp_report_dir=%s" % out,
                           "-e", "mptcp_report_min_attempts=1"],
                          capture_output=True, text=True, check=False,
                          env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path, ANSIBLE_NOCOLOR="1"))
    assert proc.returncode == 2, proc.stdout + proc.stderr  # the failed host, and only it
    assert "gone<b>" in proc.stdout and "failed=1" in proc.stdout
    assert "3 host(s), 2 with MPTCP usable, 1 drifted, 2 flagged: %s/index.html" % out in proc.stdout, proc.stdout

    counters = {"cli": nstat(pair.cli), "srv": nstat(pair.srv)}
    oracle = {}
    for host, ns in (("cli", pair.cli), ("srv", pair.srv)):
        attempts = sum(counters[host].get(name, 0) for name in ATTEMPTS)
        fallbacks = sum(counters[host].get(name, 0) for name in FALLBACKS)
        oracle[host] = {"attempts": attempts, "fallbacks": fallbacks, "ratio": float(fallbacks) / attempts,
                        "limits": limits(ns), "endpoints": json.loads(ip("-n", ns, "-j", "mptcp", "endpoint", "show"))}
    assert (oracle["cli"]["attempts"], oracle["cli"]["fallbacks"]) == (2, 1)  # the transfer and the fallback
    assert (oracle["srv"]["attempts"], oracle["srv"]["fallbacks"]) == (1, 0)

    # JSON
    report = json.loads((out / "report.json").read_text())
    hosts = dict((entry["host"], entry) for entry in report["hosts"])
    assert sorted(hosts) == ["cli", "gone<b>", "srv"]
    for host in ("cli", "srv"):
        entry = hosts[host]
        assert entry["usable"] is True and entry["reached"] is True
        assert (entry["attempts"], entry["fallbacks"]) == (oracle[host]["attempts"], oracle[host]["fallbacks"])
        assert entry["fallback_ratio"] == pytest.approx(oracle[host]["ratio"])
        assert entry["limits"] == oracle[host]["limits"]
        assert [(e["address"], e["id"]) for e in entry["endpoints"]] == [(e["address"], e["id"]) for e in oracle[host]["endpoints"]]
    assert hosts["srv"]["role"] == "server" and hosts["cli"]["role"] == "client"
    assert hosts["srv"]["in_step"] is True and hosts["srv"]["drift"] == [] and hosts["srv"]["flags"] == []
    # site.yml would remove the client's endpoint (none configured) and raise add_addr_accepted
    assert hosts["cli"]["in_step"] is False
    assert any("10.72.2.1" in line or "id 5" in line for line in hosts["cli"]["drift"]), hosts["cli"]["drift"]
    assert "limits: add_addr_accepted 0, site.yml sets 2" in hosts["cli"]["drift"]
    assert [flag.split(":")[0] for flag in hosts["cli"]["flags"]] == [
        "fallback ratio 0.50 above 0.20", "add_addr_accepted 0 on a client"]
    assert hosts["gone<b>"]["reached"] is False and hosts["gone<b>"]["flags"][0].startswith("no data")
    assert report["summary"] == {"hosts": 3, "usable": 2, "drifted": 1, "flagged": 2}

    # HTML: the same values in the table and the chart, nothing loaded from elsewhere
    page = Page()
    page.feed((out / "index.html").read_text(encoding="utf-8"))
    page.close()
    assert page.headers[:3] == ["Host", "Role", "MPTCP usable"]
    assert sorted(page.rows) == ["cli", "gone<b>", "srv"]  # the name escaped, and read back
    for host in ("cli", "srv"):
        row = dict(zip(page.headers, page.rows[host]))
        assert row["MPTCP usable"] == "yes"
        assert row["Fallback ratio"] == "%.2f (%d/%d)" % (oracle[host]["ratio"], oracle[host]["fallbacks"],
                                                          oracle[host]["attempts"])
        assert row["Limits"] == ", ".join("%s %s" % kv for kv in sorted(oracle[host]["limits"].items()))
        assert page.bars[host] == pytest.approx(oracle[host]["ratio"], abs=1e-4)
    assert dict(zip(page.headers, page.rows["srv"]))["site.yml drift"] == "in step"
    assert dict(zip(page.headers, page.rows["srv"]))["Endpoints"] == "10.72.2.2 id 1 signal"
    assert "add_addr_accepted 0 on a client" in dict(zip(page.headers, page.rows["cli"]))["Flags"]
    assert dict(zip(page.headers, page.rows["gone<b>"]))["MPTCP usable"] == "unknown"
    assert "gone<b>" not in page.bars
    assert not [t for t, a in page.tags if t in ("script", "link", "img", "iframe") or "src" in a or "href" in a]
    assert [t for t, a in page.tags if t == "svg"]

    # Markdown: one table row per host, the name escaped
    rows = [line for line in (out / "report.md").read_text().splitlines() if line.startswith("| ")]
    assert len(rows) == 4 and rows[0].startswith("| Host | Role |")
    assert any(line.startswith("| gone\\<b\\> |") for line in rows)


# A fleet of six for the browser: one host flagged for its ratio, one that
# drifted, one without attempts, one unusable, one without data.
def _sample_host(ratio_counts, usable=True, drift=(), add_addr_accepted=2):
    attempts, fallbacks = ratio_counts
    return {"info": {"usable": usable, "usable_reason": "socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP) succeeded"
                     if usable else "ENOPROTOOPT: net.mptcp.enabled is 0", "kernel": "6.12.48",
                     "endpoints": [{"address": "192.0.2.%d" % (attempts % 250 + 1), "id": 1, "flags": ["subflow"],
                                    "dev": "eth1", "port": None}],
                     "limits": {"subflows": 2, "add_addr_accepted": add_addr_accepted},
                     "counters": {"MPCapableSYNTX": attempts, "MPCapableSYNRX": 0, "MPCapableFallbackSYNACK": fallbacks,
                                  "MPCapableFallbackACK": 0, "MPCapableSYNTXDrop": 0}, "sysctl": {}, "connections": []},
            "drift": {"endpoints_managed": True, "endpoint_commands": list(drift), "limits_wanted": {}}}


SAMPLE = {
    "edge-1": _sample_host((420, 12)), "edge-2": _sample_host((380, 301)),
    "edge-3": _sample_host((150, 9), drift=["ip mptcp endpoint add 198.51.100.7 id 2 subflow dev eth2"],
                           add_addr_accepted=0),
    "db-1": _sample_host((0, 0)), "legacy-1": _sample_host((0, 0), usable=False), "lost-1": None,
}
FLAGGED_BAR, PLAIN_BAR, FLAGGED_ROW = (0xC0, 0x39, 0x2B), (0x2E, 0x86, 0xC1), (0xFD, 0xEC, 0xEA)


def png_pixels(data):
    """The set of RGB colours of an 8-bit, non-interlaced RGB or RGBA PNG
    (what Chromium writes), decoded with zlib: no image library needed."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            chunks.append(body)
        pos += 12 + length
    width, height, depth, colour, dummy, dummy, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    step = 3 if colour == 2 else 4
    raw, stride, colours = zlib.decompress(b"".join(chunks)), width * step, set()
    previous = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            left = line[i - step] if i >= step else 0
            up, corner = previous[i], previous[i - step] if i >= step else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        colours.update(tuple(line[x:x + 3]) for x in range(0, stride, step))
        previous = line
    return colours


CHROMIUM = shutil.which("chromium")


@pytest.mark.skipif(not CHROMIUM, reason="no chromium (Debian's chromium package)")
def test_chromium_renders_the_table_and_the_chart(tmp_path):
    """Headless Chromium opens the page from a file: the DOM it built has
    the table and the chart, and its screenshot shows the flagged row and
    both kinds of bar. MPTCP_REPORT_SCREENSHOT=PATH keeps the screenshot
    (docs/images/report.png)."""
    page = tmp_path / "index.html"
    page.write_text(fleet_report(SAMPLE, format="html", generated="2026-12-01 12:00:00 UTC",
                                 servers=["db-1"], clients=["edge-1", "edge-2", "edge-3"]), encoding="utf-8")
    shot = tmp_path / "report.png"
    browser = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars",
               "--user-data-dir=%s" % (tmp_path / "profile"), "--window-size=1280,1000"]
    dom = subprocess.run(browser + ["--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120, check=True)
    parsed = Page()
    parsed.feed(dom.stdout)
    assert sorted(parsed.rows) == sorted(SAMPLE) and all(len(cells) == 8 for cells in parsed.rows.values())
    assert sorted(parsed.bars) == ["edge-1", "edge-2", "edge-3"]
    subprocess.run(browser + ["--screenshot=%s" % shot, page.as_uri()], capture_output=True, timeout=120, check=True)
    colours = png_pixels(shot.read_bytes())
    assert FLAGGED_BAR in colours and PLAIN_BAR in colours and FLAGGED_ROW in colours
    if os.environ.get("MPTCP_REPORT_SCREENSHOT"):
        shutil.copyfile(str(shot), os.environ["MPTCP_REPORT_SCREENSHOT"])
