# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mptcp_routing in throw-away namespaces: `ip -j rule`, `ip -j route show
table all` and /proc/sys/net/ipv4/conf/*/rp_filter are the oracle."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import subprocess

import pytest

from conftest import Netns, assert_idempotent, four_runs, ip

MODULE = "mptcp.linux.mptcp_routing"
BASE = 100
OUR_TABLES = range(BASE + 1, BASE + 256)


def proc(ns, path):
    return subprocess.run(["ip", "netns", "exec", ns.name, "cat", path], check=True, capture_output=True,
                          text=True).stdout.strip()


def rules(ns, family):
    return json.loads(ns.ip("-j", "-%d" % family, "rule", "show"))


def tables(ns, family):
    """The routes of the tables in the module's range, by table, as ip prints them."""
    found = {}
    for route in json.loads(ns.ip("-j", "-%d" % family, "route", "show", "table", "all") or "[]"):
        table = str(route.get("table", ""))
        if table.isdigit() and int(table) in OUR_TABLES:
            found.setdefault(int(table), []).append(route)
    return dict((t, sorted(r, key=lambda x: json.dumps(x, sort_keys=True))) for t, r in found.items())


def snapshot(ns, interfaces=("all", "lan0", "lan1")):
    return {
        "rp_filter": dict((n, proc(ns, "/proc/sys/net/ipv4/conf/%s/rp_filter" % n)) for n in interfaces),
        "rules": (rules(ns, 4), rules(ns, 6)),
        "tables": (tables(ns, 4), tables(ns, 6)),
        "endpoints": ns.endpoints(),
    }


def sysctl(ns, **values):
    subprocess.run(["ip", "netns", "exec", ns.name, "sysctl", "-qw"]
                   + ["net.ipv4.conf.%s.rp_filter=%d" % item for item in values.items()], check=True)


def route_view(routes):
    return sorted((r["dst"], r.get("gateway"), r["dev"], r.get("prefsrc")) for r in routes)


def ours(ns, family, priority=1000):
    return sorted((r["src"], int(r["table"])) for r in rules(ns, family)
                  if r.get("priority") == priority and str(r.get("table")).isdigit() and int(r["table"]) in OUR_TABLES)


@pytest.fixture
def host(netns):
    """lan0 192.0.2.10/24 2001:db8::10/64, lan1 198.51.100.11/24
    2001:db8:1::10/64; the IPv4 default through lan0, the IPv6 one through
    lan1; rp_filter strict on all and lan0."""
    netns.ip("route", "add", "default", "via", "192.0.2.1", "dev", "lan0")
    netns.ip("-6", "route", "add", "default", "via", "2001:db8:1::1", "dev", "lan1")
    sysctl(netns, all=1, lan0=1, lan1=0)
    return netns


ENDPOINTS = [
    {"address": "192.0.2.10", "id": 1},
    {"address": "198.51.100.11", "id": 2, "dev": "lan1"},
    {"address": "2001:db8::10", "id": 3},
    {"address": "2001:db8:1::10", "id": 4, "port": None, "flags": ["subflow"]},
]


def args(ns, **extra):
    found = {"netns": ns.name, "rp_filter_interfaces": ["lan0", "lan1"], "policy_routing": {"endpoints": ENDPOINTS}}
    found.update(extra)
    return found


def test_four_runs(runner, host):
    results, states = four_runs(runner, host, MODULE, args(host), lambda: snapshot(host))
    assert_idempotent(results, states)
    check1, real1, dummy, real2 = results
    assert check1["commands"] == real1["commands"] == [
        "sysctl -w net.ipv4.conf.lan0.rp_filter=2",
        "sysctl -w net.ipv4.conf.lan1.rp_filter=2",
        "ip -4 route add 192.0.2.0/24 dev lan0 src 192.0.2.10 table 101",
        "ip -4 route add default via 192.0.2.1 dev lan0 table 101",
        "ip -4 route add 198.51.100.0/24 dev lan1 src 198.51.100.11 table 102",
        "ip -6 route add 2001:db8::/64 dev lan0 src 2001:db8::10 table 103",
        "ip -6 route add 2001:db8:1::/64 dev lan1 src 2001:db8:1::10 table 104",
        "ip -6 route add default via 2001:db8:1::1 dev lan1 table 104",
        "ip -4 rule add from 192.0.2.10 table 101 priority 1000",
        "ip -4 rule add from 198.51.100.11 table 102 priority 1000",
        "ip -6 rule add from 2001:db8::10 table 103 priority 1000",
        "ip -6 rule add from 2001:db8:1::10 table 104 priority 1000",
    ]
    assert check1["after"] == real1["after"] == real2["before"]
    assert real2["commands"] == []

    # The oracle: strict lan0 and lan1 (through all) are loose, all is left.
    after = states[2]
    assert after["rp_filter"] == {"all": "1", "lan0": "2", "lan1": "2"}
    assert ours(host, 4) == [("192.0.2.10", 101), ("198.51.100.11", 102)]
    assert ours(host, 6) == [("2001:db8:1::10", 104), ("2001:db8::10", 103)]
    v4, v6 = after["tables"]
    assert route_view(v4[101]) == [("192.0.2.0/24", None, "lan0", "192.0.2.10"), ("default", "192.0.2.1", "lan0", None)]
    assert route_view(v4[102]) == [("198.51.100.0/24", None, "lan1", "198.51.100.11")]
    assert route_view(v6[103]) == [("2001:db8::/64", None, "lan0", "2001:db8::10")]
    assert route_view(v6[104]) == [("2001:db8:1::/64", None, "lan1", "2001:db8:1::10"),
                                   ("default", "2001:db8:1::1", "lan1", None)]
    assert sorted(v4) == [101, 102] and sorted(v6) == [103, 104]
    assert real1["rp_filter_persist"] == ["lan0", "lan1"]


def test_changes_and_absent(runner, host):
    """An endpoint leaves and a default route moves: its rule and table go,
    the other table is rewritten. Then state absent removes the module's
    rules and tables, and only those."""
    first = runner.play([(MODULE, args(host), {})])[0]
    assert not first.get("failed"), first
    host.ip("route", "replace", "default", "via", "192.0.2.254", "dev", "lan0")
    host.ip("rule", "add", "from", "192.0.2.10", "table", "101", "priority", "999")
    host.ip("rule", "add", "from", "192.0.2.10", "table", "500", "priority", "1000")
    host.ip("route", "add", "10.9.0.0/16", "dev", "lan0", "table", "500")

    fewer = args(host, policy_routing={"endpoints": ENDPOINTS[:1] + ENDPOINTS[2:]})
    results, states = four_runs(runner, host, MODULE, fewer, lambda: snapshot(host))
    assert_idempotent(results, states)
    assert results[1]["commands"] == [
        "ip -4 route flush table 101",
        "ip -4 route add 192.0.2.0/24 dev lan0 src 192.0.2.10 table 101",
        "ip -4 route add default via 192.0.2.254 dev lan0 table 101",
        "ip -4 rule del from 198.51.100.11 table 102 priority 1000",
        "ip -4 route flush table 102",
    ]
    assert ours(host, 4) == [("192.0.2.10", 101)]
    assert route_view(tables(host, 4)[101])[1] == ("default", "192.0.2.254", "lan0", None)
    assert 102 not in tables(host, 4)

    absent = {"netns": host.name, "policy_routing": {"state": "absent"}}
    results, states = four_runs(runner, host, MODULE, absent, lambda: snapshot(host))
    assert_idempotent(results, states)
    assert ours(host, 4) == [] and ours(host, 6) == []
    assert tables(host, 4) == {} and tables(host, 6) == {}
    # Not the module's: another priority, a table outside the range, rp_filter.
    assert ("192.0.2.10", 101) in ours(host, 4, priority=999)
    assert [r["table"] for r in rules(host, 4) if r.get("priority") == 1000] == ["500"]
    assert host.ip("-4", "route", "show", "table", "500").strip() == "10.9.0.0/16 dev lan0 scope link"
    assert states[3]["rp_filter"] == {"all": "1", "lan0": "2", "lan1": "2"}


def test_bad_input_names_the_field_and_changes_nothing(runner, host):
    host.ip("link", "add", "a#b", "type", "veth", "peer", "name", "abpeer")
    host.ip("addr", "add", "203.0.113.5/24", "dev", "a#b")
    host.ip("link", "set", "a#b", "up")
    before = snapshot(host)
    cases = [
        (args(host, rp_filter_interfaces=["lan0", "nosuch0"]),
         ["rp_filter_interfaces[1]: interface 'nosuch0' has no net.ipv4.conf.nosuch0.rp_filter"]),
        (args(host, policy_routing={"endpoints": [{"address": "203.0.113.99", "id": 1}]}),
         ["policy_routing.endpoints[0].address: no interface here holds 203.0.113.99"]),
        (args(host, policy_routing={"endpoints": [{"address": "192.0.2.10"}, {"address": "198.51.100.11", "id": 300}]}),
         ["policy_routing.endpoints[0].id: endpoint 192.0.2.10 has no id",
          "policy_routing.endpoints[1].id: 300 is out of range 1..255"]),
        (args(host, policy_routing={"table_base": 200, "endpoints": [{"address": "192.0.2.10", "id": 54}]}),
         ["policy_routing.endpoints[0].id: table_base 200 + id 54 is table 254, the kernel's main table"]),
        (args(host, policy_routing={"endpoints": [{"address": "203.0.113.5", "id": 1}]}),
         ["policy_routing.endpoints[0].address: the interface that holds 203.0.113.5, 'a#b' contains '#'"]),
        (args(host, policy_routing={"endpoints": [{"address": "203.0.113.5", "id": 1, "dev": "a#b"}]}),
         ["policy_routing.endpoints[0].dev: 'a#b' contains '#'"]),
        (args(host, policy_routing={"endpoints": [{"address": "192.0.2.10", "id": 1, "dev": "lan1"}]}),
         ["policy_routing.endpoints[0].dev: lan1 does not hold 192.0.2.10 (lan0 does)"]),
        (args(host, policy_routing={"priority": 40000}), ["policy_routing.priority: 40000 is out of range 1..32765"]),
        (args(host, netns="no-such-ns-%s" % host.name[-8:]), ["does not exist"]),
    ]
    results = runner.play([(MODULE, a, {"ignore_errors": True}) for a, dummy in cases])
    for (dummy, expected), result in zip(cases, results):
        assert result.get("failed"), result
        for text in expected:
            assert text in result["msg"], (text, result["msg"])
    assert snapshot(host) == before
    assert proc(host, "/proc/sys/net/ipv4/conf/lan0/rp_filter") == "1"


def test_kernel_refusal_part_way_leaves_the_host_as_before(runner, host):
    """lan1 is down: the kernel refuses a route through it, after this run
    loosened lan0 and rewrote table 101. Both are put back."""
    host.ip("route", "add", "default", "via", "192.0.2.254", "dev", "lan0", "table", "101")
    host.ip("link", "set", "lan1", "down")
    before = snapshot(host)
    request = {"netns": host.name, "rp_filter_interfaces": ["lan0"],
               "policy_routing": {"endpoints": [{"address": "192.0.2.10", "id": 1}, {"address": "198.51.100.11", "id": 2}]}}
    result = runner.play([(MODULE, request, {"ignore_errors": True})])[0]
    assert result.get("failed"), result
    assert result["msg"].startswith("ip -4 route add 198.51.100.0/24 dev lan1 src 198.51.100.11 table 102: "
                                    "the kernel refused it: "), result["msg"]
    assert "is not up" in result["msg"] or "Network is down" in result["msg"], result["msg"]
    assert result["msg"].endswith("What this run changed was put back; the state read back is the state before "
                                  "the run."), result["msg"]
    assert result["restored"] is True
    assert result["after"] == result["before"]
    assert snapshot(host) == before
    assert route_view(before["tables"][0][101]) == [("default", "192.0.2.254", "lan0", None)]


def test_batch_lines_replay_in_a_fresh_namespace(runner, host, tmp_path):
    """The batch lines, replayed with `ip -4 -batch` / `ip -6 -batch` into
    a namespace with the same interfaces, give the same rules and tables; an
    interface name that needs quoting in them included."""
    def quoted_interface(ns):
        ns.ip("link", "add", '"q', "type", "veth", "peer", "name", "qpeer")
        ns.ip("addr", "add", "203.0.113.5/24", "dev", '"q')
        ns.ip("link", "set", '"q', "up")
        ns.ip("link", "set", "qpeer", "up")

    quoted_interface(host)
    request = args(host, policy_routing={"endpoints": ENDPOINTS + [{"address": "203.0.113.5", "id": 9}]})
    result = runner.play([(MODULE, request, {})])[0]
    assert not result.get("failed"), result
    assert "route replace 203.0.113.0/24 dev '\"q' src 203.0.113.5 table 109" in result["batch"]["ipv4"]
    applied = snapshot(host, ("all",))

    fresh = Netns()
    try:
        quoted_interface(fresh)
        for family in (4, 6):
            path = tmp_path / ("routing-ipv%d.batch" % family)
            path.write_text("".join(line + "\n" for line in result["batch"]["ipv%d" % family]))
            ip("-n", fresh.name, "-%d" % family, "-batch", str(path))
        replayed = snapshot(fresh, ("all",))
        assert replayed["rules"] == applied["rules"]
        assert replayed["tables"] == applied["tables"]
        assert sorted(applied["tables"][0]) == [101, 102, 109] and sorted(applied["tables"][1]) == [103, 104]
    finally:
        fresh.delete()
