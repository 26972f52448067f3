# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_routing, the rp_filter and policy-routing planner, on fake host states."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.mptcp.linux.plugins.module_utils import _quote, _routing
from ansible_collections.mptcp.linux.plugins.module_utils._routing import RoutingError


def iface(index, *addresses):
    return {"index": index, "addresses": [
        {"address": a, "prefixlen": p, "family": "ipv6" if ":" in a else "ipv4", "scope": 0, "dadfailed": False}
        for a, p in addresses]}


INTERFACES = {
    "lo": iface(1, ("127.0.0.1", 8), ("::1", 128)),
    "eth1": iface(2, ("192.0.2.10", 24), ("2001:db8:1::10", 64)),
    "eth2": iface(3, ("198.51.100.11", 24), ("2001:db8:2::10", 64)),
}


DEFAULTS = {4: [{"dev": "eth1", "gateway": "192.0.2.1", "metric": 0, "onlink": False}],
            6: [{"dev": "eth2", "gateway": "fe80::1", "metric": 1024, "onlink": False}]}


def state(rules=(), tables=None, defaults=None, rp_filter=None, interfaces=None):
    return {
        "rp_filter": rp_filter or {},
        "interfaces": copy.deepcopy(INTERFACES if interfaces is None else interfaces),
        "rules": [dict(r) for r in rules],
        "tables": copy.deepcopy(tables or {}),
        "defaults": copy.deepcopy(defaults or DEFAULTS),
    }


def rule(src, table, family=4, priority=1000, src_len=None, **selectors):
    return {"family": family, "priority": priority, "table": table, "src": src,
            "src_len": src_len if src_len is not None else (0 if src is None else _routing.HOST_PREFIX[family]),
            "selectors": selectors}


def route(dst, dev, gateway=None, prefsrc=None, onlink=False):
    found = {"dst": dst, "gateway": gateway, "dev": dev, "prefsrc": prefsrc}
    if onlink:
        found["onlink"] = True
    return found


def request(endpoints=None, rp_filter=None, state_="present", table_base=100, priority=1000, check_mode=False):
    params = {"rp_filter_interfaces": rp_filter, "policy_routing": None}
    if endpoints is not None or state_ == "absent":
        params["policy_routing"] = {"state": state_, "endpoints": endpoints or [], "table_base": table_base,
                                    "priority": priority}
    return _routing.validate(params, check_mode)


TWO = [{"address": "192.0.2.10", "id": 1}, {"address": "2001:db8:2::10", "id": 7, "dev": "eth2"}]


def simulate(current, actions):
    """What the kernel does with the actions, on the fake state."""
    result = copy.deepcopy(current)
    for verb, item in actions:
        if verb == "sysctl":
            result["rp_filter"][item["interface"]] = item["value"]
        elif verb == "table_flush":
            result["tables"].pop((item["family"], item["table"]), None)
        elif verb == "route_add":
            result["tables"].setdefault((item["family"], item["table"]), []).append(dict(item["route"]))
        elif verb == "rule_del":
            result["rules"].remove(item)
        else:
            result["rules"].append(dict(item))
    return result


# ---------------------------------------------------------------- rp_filter


@pytest.mark.parametrize("all_value, values, after, persist", [
    (0, {"eth1": 1, "eth2": 0}, {"eth1": 2, "eth2": 0}, ["eth1"]),
    (1, {"eth1": 0, "eth2": 2}, {"eth1": 2, "eth2": 2}, ["eth1", "eth2"]),
    (2, {"eth1": 1, "eth2": 0}, {"eth1": 1, "eth2": 0}, ["eth1", "eth2"]),
    (0, {"eth1": 0, "eth2": 2}, {"eth1": 0, "eth2": 2}, ["eth2"]),
], ids=["own-strict", "all-strict", "all-loose", "nothing-strict"])
def test_rp_filter(all_value, values, after, persist):
    """Effective value max(all, iface): 1 becomes 2 on the interface; 0
    and 2 stay; conf/all is never written."""
    current = state(rp_filter=dict(values, all=all_value))
    req = request(rp_filter=["eth2", "eth1", "eth2"])
    found = _routing.plan(req, current)
    assert found["before"] == {"rp_filter": dict(values, all=all_value)}
    assert found["after"] == {"rp_filter": dict(after, all=all_value)}
    assert found["rp_filter_persist"] == persist
    changed = sorted(n for n in values if values[n] != after[n])
    assert found["changed"] is bool(changed)
    assert found["commands"] == ["sysctl -w net.ipv4.conf.%s.rp_filter=2" % n for n in changed]
    assert "all" not in [a[1]["interface"] for a in found["actions"]]
    again = _routing.plan(req, simulate(current, found["actions"]))
    assert again["actions"] == [] and again["changed"] is False
    assert again["before"] == again["after"] == found["after"]


def test_rp_filter_missing_interface_names_the_field():
    with pytest.raises(RoutingError) as info:
        _routing.plan(request(rp_filter=["eth1", "gone0"]), state(rp_filter={"all": 1, "eth1": 1, "gone0": None}))
    assert str(info.value) == ("rp_filter_interfaces[1]: interface 'gone0' has no net.ipv4.conf.gone0.rp_filter "
                               "(no such interface here, or no IPv4 on it)")


def test_rp_filter_command_of_a_vlan_name_uses_slashes():
    found = _routing.plan(request(rp_filter=["eth1.100"]), state(rp_filter={"all": 0, "eth1.100": 1}))
    assert found["commands"] == ["sysctl -w net/ipv4/conf/eth1.100/rp_filter=2"]


# ---------------------------------------------------------------- validation


def test_validate_names_every_problem():
    with pytest.raises(RoutingError) as info:
        _routing.validate({
            "rp_filter_interfaces": ["eth1", "a/b", "", "x" * 16, "all"],
            "policy_routing": {"state": "present", "table_base": 100, "priority": 32766, "endpoints": [
                {"address": "300.1.1.1", "id": 1},
                {"address": "192.0.2.10", "id": 0},
                {"address": "192.0.2.11", "id": 154},
                {"address": "192.0.2.12", "id": 2, "dev": "a#b"},
                {"address": "192.0.2.13", "id": 3, "dev": "'a\""},
                {"address": "192.0.2.14"},
                {"address": "192.0.2.15", "id": 3},
                {"address": "fe80::1%eth1", "id": 4},
            ]}}, check_mode=False)
    problems = info.value.problems
    expected = [
        "rp_filter_interfaces[1]: 'a/b' is not a Linux interface name",
        "rp_filter_interfaces[2]: '' is not an interface name",
        "rp_filter_interfaces[3]: 'xxxxxxxxxxxxxxxx' is not a Linux interface name",
        "rp_filter_interfaces[4]: 'all' is not an interface: net.ipv4.conf.all is read, never written",
        "policy_routing.priority: 32766 is out of range 1..32765",
        "policy_routing.endpoints[0].address: '300.1.1.1' is not an IPv4 or IPv6 address",
        "policy_routing.endpoints[1].id: 0 is out of range 1..255",
        "policy_routing.endpoints[2].id: table_base 100 + id 154 is table 254, the kernel's main table",
        "policy_routing.endpoints[3].dev: 'a#b' contains '#', which ip -batch reads as the start of a comment",
        "policy_routing.endpoints[4].dev: '\\'a\"' contains both quote characters",
        "policy_routing.endpoints[5].id: endpoint 192.0.2.14 has no id",
        "policy_routing.endpoints[7].address: 'fe80::1%eth1' is not an IPv4 or IPv6 address (a scoped address)",
        "policy_routing.endpoints[6].id: id 3 is also the id of endpoints[4] (192.0.2.13)",
    ]
    assert len(problems) == len(expected), problems
    for text, problem in zip(expected, problems):
        assert problem.startswith(text), (text, problem)


@pytest.mark.parametrize("base, priority, message", [
    (-1, 1000, "policy_routing.table_base: -1 is out of range 0..4294967040"),
    (4294967041, 1000, "policy_routing.table_base: 4294967041 is out of range"),
    (100, 0, "policy_routing.priority: 0 is out of range 1..32765"),
])
def test_validate_ranges(base, priority, message):
    with pytest.raises(RoutingError, match=message):
        request([], table_base=base, priority=priority)


def test_validate_keeps_nothing_of_implicit_endpoints_and_accepts_the_endpoints_module_shape():
    req = request([{"address": "192.0.2.10", "id": 1, "port": None, "dev": "eth1", "flags": ["subflow"]},
                   {"address": "2001:db8:1::10", "id": 9, "port": None, "dev": None, "flags": ["implicit"]}])
    assert [e["address"] for e in req["routing"]["endpoints"]] == ["192.0.2.10"]


def test_interface_names_the_kernel_accepts():
    for name in ("eth0", "wlp3s0", "eth0.100", "a#b", '"q', "br-lan", "x" * 15, u"\u00e9" * 7):
        assert _routing.interface_name_problem(name) is None, name
    for name in ("", ".", "..", "a b", "a/b", "a:b", "a\nb", "x" * 16, u"\u00e9" * 8):
        assert _routing.interface_name_problem(name), name


# ---------------------------------------------------------------- policy routing


def test_fresh_host_ipv4_and_ipv6():
    current = state()
    found = _routing.plan(request(TWO), current)
    v4 = [route("192.0.2.0/24", "eth1", prefsrc="192.0.2.10"), route("default", "eth1", gateway="192.0.2.1")]
    # the IPv6 default route leaves through eth2: table 107 gets it; eth1's
    # endpoint has no IPv6 default.
    v6 = [route("2001:db8:2::/64", "eth2", prefsrc="2001:db8:2::10"), route("default", "eth2", gateway="fe80::1")]
    assert found["commands"] == [
        "ip -4 route add 192.0.2.0/24 dev eth1 src 192.0.2.10 table 101",
        "ip -4 route add default via 192.0.2.1 dev eth1 table 101",
        "ip -6 route add 2001:db8:2::/64 dev eth2 src 2001:db8:2::10 table 107",
        "ip -6 route add default via fe80::1 dev eth2 table 107",
        "ip -4 rule add from 192.0.2.10 table 101 priority 1000",
        "ip -6 rule add from 2001:db8:2::10 table 107 priority 1000",
    ]
    assert found["before"] == {"rules": [], "tables": []}
    assert found["after"] == {
        "rules": [{"family": "ipv4", "priority": 1000, "src": "192.0.2.10", "table": 101},
                  {"family": "ipv6", "priority": 1000, "src": "2001:db8:2::10", "table": 107}],
        "tables": [{"family": "ipv4", "table": 101, "routes": v4}, {"family": "ipv6", "table": 107, "routes": v6}],
    }
    assert found["batch"] == {
        "ipv4": ["rule add from 192.0.2.10 table 101 priority 1000",
                 "route replace 192.0.2.0/24 dev eth1 src 192.0.2.10 table 101",
                 "route replace default via 192.0.2.1 dev eth1 table 101"],
        "ipv6": ["rule add from 2001:db8:2::10 table 107 priority 1000",
                 "route replace 2001:db8:2::/64 dev eth2 src 2001:db8:2::10 table 107",
                 "route replace default via fe80::1 dev eth2 table 107"],
    }
    assert found["changed"] is True and found["pending"] == []

    written = simulate(current, found["actions"])
    assert _routing.view(request(TWO), written) == found["after"]
    again = _routing.plan(request(TWO), written)
    assert again["actions"] == [] and again["changed"] is False
    assert again["before"] == again["after"] == found["after"]
    assert again["batch"] == found["batch"]


def test_default_route_choice():
    """Only a default through the endpoint's own interface, the lowest
    metric first; onlink is kept; a default without gateway is no default."""
    defaults = {4: [{"dev": "eth2", "gateway": "198.51.100.1", "metric": 0, "onlink": False},
                    {"dev": "eth1", "gateway": "192.0.2.254", "metric": 200, "onlink": False},
                    {"dev": "eth1", "gateway": "203.0.113.1", "metric": 100, "onlink": True}],
                6: []}
    found = _routing.plan(request([{"address": "192.0.2.10", "id": 1}, {"address": "2001:db8:1::10", "id": 2}]),
                          state(defaults=defaults))
    tables = dict(((t["family"], t["table"]), t["routes"]) for t in found["after"]["tables"])
    assert tables[("ipv4", 101)] == [route("192.0.2.0/24", "eth1", prefsrc="192.0.2.10"),
                                     route("default", "eth1", gateway="203.0.113.1", onlink=True)]
    assert tables[("ipv6", 102)] == [route("2001:db8:1::/64", "eth1", prefsrc="2001:db8:1::10")]
    assert "ip -4 route add default via 203.0.113.1 dev eth1 onlink table 101" in found["commands"]
    assert "route replace default via 203.0.113.1 dev eth1 onlink table 101" in found["batch"]["ipv4"]


def test_host_address_and_prefix():
    interfaces = {"eth1": iface(2, ("192.0.2.10", 32), ("2001:db8::1", 128))}
    found = _routing.plan(request([{"address": "192.0.2.10", "id": 1}, {"address": "2001:db8::1", "id": 2}]),
                          state(interfaces=interfaces, defaults={4: [], 6: []}))
    assert [t["routes"][0]["dst"] for t in found["after"]["tables"]] == ["192.0.2.10/32", "2001:db8::1/128"]


def test_obsolete_rules_and_tables_go_in_a_safe_order():
    """A changed default, a rule for an endpoint that left, a rule with a
    selector the module does not set: tables are filled first, wrong rules
    go, right rules come, unused tables are emptied last."""
    current = state(
        rules=[rule("192.0.2.10", 101), rule("198.51.100.11", 102), rule("192.0.2.10", 103, iifname="eth1"),
               rule(None, 254), rule("192.0.2.10", 101, priority=999), rule("192.0.2.10", 400)],
        tables={(4, 101): [route("192.0.2.0/24", "eth1", prefsrc="192.0.2.10"),
                           route("default", "eth1", gateway="192.0.2.99")],
                (4, 102): [route("198.51.100.0/24", "eth2", prefsrc="198.51.100.11")],
                (4, 103): [route("10.0.0.0/8", "eth1")]})
    req = request([{"address": "192.0.2.10", "id": 1}, {"address": "192.0.2.10", "id": 4}])
    found = _routing.plan(req, current)
    assert found["commands"] == [
        "ip -4 route flush table 101",
        "ip -4 route add 192.0.2.0/24 dev eth1 src 192.0.2.10 table 101",
        "ip -4 route add default via 192.0.2.1 dev eth1 table 101",
        "ip -4 route add 192.0.2.0/24 dev eth1 src 192.0.2.10 table 104",
        "ip -4 route add default via 192.0.2.1 dev eth1 table 104",
        "ip -4 rule del from 198.51.100.11 table 102 priority 1000",
        "ip -4 rule del from 192.0.2.10 iif eth1 table 103 priority 1000",
        "ip -4 rule add from 192.0.2.10 table 104 priority 1000",
        "ip -4 route flush table 102",
        "ip -4 route flush table 103",
    ]
    # The main table's rule, a rule at another priority and a table outside
    # the range are not the module's.
    assert found["before"]["rules"] == [
        {"family": "ipv4", "priority": 1000, "src": "192.0.2.10", "table": 101},
        {"family": "ipv4", "priority": 1000, "src": "198.51.100.11", "table": 102},
        {"family": "ipv4", "priority": 1000, "src": "192.0.2.10", "table": 103, "selectors": {"iifname": "eth1"}}]
    written = simulate(current, found["actions"])
    assert rule(None, 254) in written["rules"] and rule("192.0.2.10", 400) in written["rules"]
    assert _routing.view(req, written) == found["after"]
    assert _routing.plan(req, written)["actions"] == []


def test_absent_removes_the_modules_rules_and_tables_only():
    current = state(rules=[rule("192.0.2.10", 101), rule("2001:db8:2::10", 107, family=6), rule(None, 254),
                           rule("192.0.2.10", 356)],
                    tables={(4, 101): [route("192.0.2.0/24", "eth1")], (6, 107): [route("default", "eth2", "fe80::1")],
                            (4, 356): [route("default", "eth1", "192.0.2.1")]})
    req = request(state_="absent")
    found = _routing.plan(req, current)
    assert found["commands"] == ["ip -4 rule del from 192.0.2.10 table 101 priority 1000",
                                 "ip -6 rule del from 2001:db8:2::10 table 107 priority 1000",
                                 "ip -4 route flush table 101", "ip -6 route flush table 107"]
    assert found["after"] == {"rules": [], "tables": []}
    assert found["batch"] == {"ipv4": [], "ipv6": []}
    assert _routing.plan(req, simulate(current, found["actions"]))["changed"] is False


def test_check_mode_endpoint_without_id_is_pending():
    """A dry run of a role adds endpoints whose id the kernel will choose:
    they are predicted, not refused; the rest is planned as usual."""
    endpoints = [{"address": "192.0.2.10", "id": None}, {"address": "198.51.100.11", "id": 2}]
    current = state(rules=[rule("192.0.2.10", 105)], tables={(4, 105): [route("192.0.2.0/24", "eth1")]})
    found = _routing.plan(request(endpoints, check_mode=True), current, check_mode=True)
    assert found["pending"] == [{"address": "192.0.2.10", "reason": "would be routed once the kernel assigns its id"}]
    assert found["changed"] is True
    # its rule may be the one the real run keeps: not deleted in the prediction
    assert found["commands"] == ["ip -4 route add 198.51.100.0/24 dev eth2 src 198.51.100.11 table 102",
                                 "ip -4 rule add from 198.51.100.11 table 102 priority 1000"]
    assert "192.0.2.10" not in " ".join(found["batch"]["ipv4"])

    only_pending = _routing.plan(request(endpoints[:1], check_mode=True), state(), check_mode=True)
    assert only_pending["actions"] == [] and only_pending["changed"] is True

    with pytest.raises(RoutingError, match=r"endpoints\[0\]\.id: endpoint 192\.0\.2\.10 has no id"):
        request(endpoints)


def test_state_refusals_name_the_field():
    interfaces = dict(INTERFACES, **{"a#b": iface(9, ("203.0.113.5", 24))})
    with pytest.raises(RoutingError) as info:
        _routing.plan(request([{"address": "192.0.2.99", "id": 1}, {"address": "192.0.2.10", "id": 2, "dev": "eth2"},
                               {"address": "203.0.113.5", "id": 3}]), state(interfaces=interfaces))
    assert info.value.problems == [
        "policy_routing.endpoints[0].address: no interface here holds 192.0.2.99; policy routing needs its connected prefix",
        "policy_routing.endpoints[1].dev: eth2 does not hold 192.0.2.10 (eth1 does)",
        "policy_routing.endpoints[2].address: the interface that holds 203.0.113.5, 'a#b' contains '#', "
        "which ip -batch reads as the start of a comment, even in quotes",
    ]


def test_interface_names_that_need_quoting():
    """A name ip -batch would split is quoted, and reads back as itself."""
    interfaces = dict(INTERFACES, **{'"q': iface(9, ("203.0.113.5", 24)), "a'b": iface(10, ("203.0.113.6", 32))})
    found = _routing.plan(request([{"address": "203.0.113.5", "id": 1}, {"address": "203.0.113.6", "id": 2}]),
                          state(interfaces=interfaces))
    assert found["batch"]["ipv4"][2] == "route replace 203.0.113.0/24 dev '\"q' src 203.0.113.5 table 101"
    assert _quote.ip_batch_split(found["batch"]["ipv4"][2])[4] == '"q'
    assert found["batch"]["ipv4"][3] == "route replace 203.0.113.6/32 dev a'b src 203.0.113.6 table 102"
    # the commands are shell words
    assert "ip -4 route add 203.0.113.0/24 dev '\"q' src 203.0.113.5 table 101" in found["commands"]
    assert "ip -4 route add 203.0.113.6/32 dev 'a'\"'\"'b' src 203.0.113.6 table 102" in found["commands"]


def test_same_address_two_ids_routes_both_tables():
    found = _routing.plan(request([{"address": "192.0.2.10", "id": 1, "port": 8080},
                                   {"address": "192.0.2.10", "id": 2}]), state())
    assert [r["table"] for r in found["after"]["rules"]] == [101, 102]


def test_differences_in_words():
    before = {"rp_filter": {"all": 1, "eth1": 1},
              "rules": [{"family": "ipv4", "priority": 1000, "src": "192.0.2.10", "table": 101}],
              "tables": [{"family": "ipv4", "table": 101, "routes": [route("192.0.2.0/24", "eth1")]}]}
    assert _routing.differences(before, copy.deepcopy(before)) == []
    now = {"rp_filter": {"all": 1, "eth1": 2},
           "rules": [{"family": "ipv4", "priority": 1000, "src": "192.0.2.11", "table": 102}],
           "tables": [{"family": "ipv4", "table": 101, "routes": []}]}
    assert _routing.differences(before, now) == [
        "net.ipv4.conf.eth1.rp_filter is 2, was 1",
        "ipv4 rule from 192.0.2.10 lookup 101 priority 1000 is missing",
        "ipv4 rule from 192.0.2.11 lookup 102 priority 1000 was added",
        "ipv4 table 101 holds [], held [192.0.2.0/24 dev eth1]",
    ]


def test_reserved_tables_are_never_the_modules():
    assert 254 not in _routing.our_tables(100)
    assert _routing.our_tables(0) == set(range(1, 253))
    found = _routing.plan(request(state_="absent", table_base=0),
                          state(rules=[rule(None, 254), rule(None, 255)], tables={(4, 254): [route("default", "eth1")]}))
    assert found["actions"] == []


# ---------------------------------------------------------------- property


ADDRESSES = [("192.0.2.10", "eth1"), ("198.51.100.11", "eth2"), ("2001:db8:1::10", "eth1"), ("2001:db8:2::10", "eth2")]


@st.composite
def scenarios(draw):
    """Random endpoints over the fake host, and a random leftover state
    (rules and tables of the range, some wrong, some foreign)."""
    chosen = draw(st.lists(st.sampled_from(ADDRESSES), unique=True, max_size=4))
    ids = draw(st.lists(st.integers(1, 20), unique=True, min_size=len(chosen), max_size=len(chosen)))
    endpoints = [{"address": a, "id": i} for (a, dummy), i in zip(chosen, ids)]
    rules = []
    for dummy in range(draw(st.integers(0, 4))):
        address, dev = draw(st.sampled_from(ADDRESSES))
        family = 6 if ":" in address else 4
        table = draw(st.sampled_from([100 + i for i in range(1, 21)] + [254, 500]))
        priority = draw(st.sampled_from([1000, 1000, 999]))
        selectors = draw(st.sampled_from([{}, {}, {"iifname": dev}]))
        found = rule(address, table, family=family, priority=priority, **selectors)
        if found not in rules:
            rules.append(found)
    tables = {}
    for dummy in range(draw(st.integers(0, 3))):
        address, dev = draw(st.sampled_from(ADDRESSES))
        family = 6 if ":" in address else 4
        table = draw(st.integers(101, 120))
        tables[(family, table)] = [route("default" if draw(st.booleans()) else address + ("/128" if family == 6 else "/32"),
                                         dev)]
    state_ = draw(st.sampled_from(["present", "present", "absent"]))
    return endpoints, state(rules=rules, tables=tables), state_


@settings(max_examples=300, deadline=None)
@given(scenarios())
def test_plan_then_apply_converges(scenario):
    """Whatever the leftovers: the planned actions lead to the predicted
    after, a second plan finds nothing to do, and nothing outside the
    module's priority and tables is touched."""
    endpoints, current, state_ = scenario
    req = request(endpoints, state_=state_)
    found = _routing.plan(req, current)
    written = simulate(current, found["actions"])
    assert _routing.view(req, written) == found["after"]
    again = _routing.plan(req, written)
    assert again["actions"] == [] and again["changed"] is False
    assert again["before"] == again["after"]
    foreign = [r for r in current["rules"] if r["priority"] != 1000 or r["table"] not in _routing.our_tables(100)]
    assert [r for r in written["rules"] if r in foreign] == foreign
    for line in found["batch"]["ipv4"] + found["batch"]["ipv6"]:
        assert _quote.ip_batch_line(_quote.ip_batch_split(line)) == line
    # rules that stay point to filled tables
    for kept in again["after"]["rules"]:
        assert any(t["table"] == kept["table"] and t["family"] == kept["family"] for t in again["after"]["tables"])
