# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_routing_host's write, verify and put-back logic against a fake netlink
socket: the failures a real kernel rarely gives on demand (a refused
put-back, a change it accepts and does not keep). The real kernel runs in
tests/integration/test_routing.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import socket

import pytest

from ansible_collections.mptcp.linux.plugins.module_utils import _netlink, _routing, _routing_host, _sysctl

pytest.importorskip("pyroute2")

INTERFACES = {
    "eth1": {"index": 2, "addresses": [{"address": "192.0.2.10", "prefixlen": 24, "family": "ipv4"}]},
    "eth2": {"index": 3, "addresses": [{"address": "198.51.100.11", "prefixlen": 24, "family": "ipv4"},
                                       {"address": "2001:db8:2::10", "prefixlen": 64, "family": "ipv6"}]},
}
NAMES = {2: "eth1", 3: "eth2"}


class FakeMsg(dict):
    def __init__(self, fields, attrs):
        dict.__init__(self, fields)
        self.attrs = attrs

    def get_attr(self, name):
        return self.attrs.get(name)


class FakeIPRoute(object):
    """Rules and routes as pyroute2 keyword dicts; ``refuse(cmd, kind,
    kwargs)`` returns an errno to refuse a request, ``drop`` silently
    ignores one."""

    def __init__(self):
        self.rules = []
        self.routes = []
        self.refuse = lambda cmd, kind, kwargs: None
        self.drop = lambda cmd, kind, kwargs: False
        self.log = []

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def get_rules(self, family):
        for kw in self.rules:
            if kw["family"] != family:
                continue
            attrs = {"FRA_TABLE": kw["table"], "FRA_PRIORITY": kw["priority"], "FRA_SUPPRESS_PREFIXLEN": 0xFFFFFFFF}
            for key, attr in (("src", "FRA_SRC"), ("dst", "FRA_DST"), ("iifname", "FRA_IIFNAME")):
                if key in kw:
                    attrs[attr] = kw[key]
            yield FakeMsg({"family": family, "table": kw["table"] if kw["table"] < 256 else 252,
                           "src_len": kw.get("src_len", 0), "dst_len": kw.get("dst_len", 0), "tos": 0,
                           "action": 1, "flags": 0}, attrs)

    def get_routes(self, family):
        for kw in self.routes:
            if kw["family"] != family:
                continue
            attrs = {"RTA_TABLE": kw["table"]}
            for key, attr in (("dst", "RTA_DST"), ("gateway", "RTA_GATEWAY"), ("oif", "RTA_OIF"),
                              ("prefsrc", "RTA_PREFSRC"), ("priority", "RTA_PRIORITY")):
                if key in kw and not (key == "dst" and kw["dst_len"] == 0):
                    attrs[attr] = kw[key]
            yield FakeMsg({"family": family, "dst_len": kw["dst_len"], "table": min(kw["table"], 252),
                           "scope": kw.get("scope", 0), "proto": kw.get("proto", 3), "type": kw.get("type", 1),
                           "tos": 0, "flags": kw.get("flags", 0)}, attrs)

    def _request(self, store, cmd, kind, kwargs, identity):
        self.log.append((kind, cmd, kwargs))
        code = self.refuse(cmd, kind, kwargs)
        if code:
            raise _netlink.NetlinkError(code, "refused by the test")
        if self.drop(cmd, kind, kwargs):
            return
        key = identity(kwargs)
        if cmd == "add":
            if any(identity(k) == key for k in store):
                raise _netlink.NetlinkError(17, "File exists")
            store.append(dict(kwargs))
        else:
            for item in store:
                if identity(item) == key:
                    store.remove(item)
                    return
            raise _netlink.NetlinkError(2, "No such file or directory")

    def rule(self, cmd, **kwargs):
        self._request(self.rules, cmd, "rule", kwargs,
                      lambda k: (k["family"], k["priority"], k["table"], k.get("src"), k.get("iifname")))

    def route(self, cmd, **kwargs):
        self._request(self.routes, cmd, "route", kwargs,
                      lambda k: (k["family"], k["table"], k.get("dst") if k["dst_len"] else None, k["dst_len"],
                                 k.get("gateway")))


@pytest.fixture
def host(monkeypatch, tmp_path):
    fake = FakeIPRoute()
    monkeypatch.setattr(_netlink, "IPRoute", lambda: fake, raising=False)
    monkeypatch.setattr(_netlink, "interfaces", lambda: copy.deepcopy(INTERFACES))
    monkeypatch.setattr(_sysctl, "IPV4_CONF_DIR", str(tmp_path))
    for name, value in (("all", 1), ("eth1", 1), ("eth2", 0)):
        (tmp_path / name).mkdir()
        (tmp_path / name / "rp_filter").write_text("%d\n" % value)
    fake.rp_filter = lambda: dict((n, int((tmp_path / n / "rp_filter").read_text())) for n in ("all", "eth1", "eth2"))
    # the main table's default route, which the tables copy
    fake.routes.append({"family": socket.AF_INET, "table": 254, "dst": "0.0.0.0", "dst_len": 0,
                        "gateway": "192.0.2.1", "oif": 2})
    return fake


def kernel(fake):
    """The fake kernel's state, routes as the dump shows them."""
    routes = sorted((r["family"], r["table"], r["dst_len"], r.get("dst") if r["dst_len"] else None, r.get("gateway"),
                     r.get("oif"), r.get("prefsrc"), r.get("proto", 3), r.get("scope", 0), r.get("type", 1))
                    for r in fake.routes)
    return copy.deepcopy((fake.rules, routes, fake.rp_filter()))


REQUEST = {"rp_filter_interfaces": ["eth1", "eth2"], "policy_routing": {
    "state": "present", "table_base": 100, "priority": 1000,
    "endpoints": [{"address": "192.0.2.10", "id": 1}, {"address": "198.51.100.11", "id": 2},
                  {"address": "2001:db8:2::10", "id": 3}]}}


def converge(check_mode=False):
    return _routing_host.converge(_routing.validate(REQUEST, check_mode), check_mode)


def test_converge_then_nothing_to_do(host):
    first = converge()
    assert first["changed"] is True
    assert host.rp_filter() == {"all": 1, "eth1": 2, "eth2": 2}
    assert sorted((r["src"], r["table"]) for r in host.rules) == [
        ("192.0.2.10", 101), ("198.51.100.11", 102), ("2001:db8:2::10", 103)]
    assert {"family": socket.AF_INET, "table": 101, "dst": "0.0.0.0", "dst_len": 0, "oif": 2, "proto": 3,
            "type": 1, "scope": 0, "gateway": "192.0.2.1"} in host.routes
    assert {"family": socket.AF_INET, "table": 102, "dst": "198.51.100.0", "dst_len": 24, "oif": 3, "proto": 3,
            "type": 1, "scope": 253, "prefsrc": "198.51.100.11"} in host.routes
    second = converge()
    assert second["changed"] is False
    assert second["before"] == second["after"] == first["after"]


def test_check_mode_writes_nothing(host):
    before = kernel(host)
    result = converge(check_mode=True)
    assert result["changed"] is True and len(result["commands"]) == 9
    assert kernel(host) == before
    assert host.log == []


def test_first_refusal_changes_nothing(host):
    host.routes = [r for r in host.routes if r["table"] != 254]
    REQ = dict(REQUEST, rp_filter_interfaces=None)
    before = kernel(host)
    host.refuse = lambda cmd, kind, kwargs: 22 if kind == "route" else None
    with pytest.raises(_routing_host.Failure) as info:
        _routing_host.converge(_routing.validate(REQ), False)
    assert info.value.msg == ("ip -4 route add 192.0.2.0/24 dev eth1 src 192.0.2.10 table 101: the kernel refused it: "
                              "refused by the test (Invalid argument). Nothing was changed.")
    assert kernel(host) == before


def test_refusal_part_way_is_put_back(host):
    """After rp_filter was written and a stale table rewritten."""
    host.routes.append({"family": socket.AF_INET, "table": 101, "dst": "0.0.0.0", "dst_len": 0,
                        "gateway": "192.0.2.254", "oif": 2, "proto": 4})
    before = kernel(host)
    host.refuse = lambda cmd, kind, kwargs: 100 if cmd == "add" and kwargs.get("oif") == 3 else None
    with pytest.raises(_routing_host.Failure) as info:
        converge()
    assert info.value.msg.startswith("ip -4 route add 198.51.100.0/24 dev eth2 src 198.51.100.11 table 102: "
                                     "the kernel refused it: refused by the test (Network is down). ")
    assert info.value.msg.endswith("What this run changed was put back; the state read back is the state "
                                   "before the run.")
    assert info.value.details["restored"] is True
    assert info.value.details["after"] == info.value.details["before"]
    assert kernel(host) == before


def test_flush_that_stops_half_way_is_put_back(host):
    host.routes += [{"family": socket.AF_INET, "table": 101, "dst": "10.%d.0.0" % n, "dst_len": 16, "oif": 2}
                    for n in (1, 2)]
    before = kernel(host)
    refused = []

    def refuse_once(cmd, kind, kwargs):
        if cmd == "del" and kwargs.get("dst") == "10.2.0.0" and not refused:
            refused.append(kwargs)
            return 16
        return None
    host.refuse = refuse_once
    with pytest.raises(_routing_host.Failure) as info:
        converge()
    assert info.value.msg.startswith("ip -4 route flush table 101: the kernel refused it: ")
    assert info.value.msg.endswith("What this run changed was put back; the state read back is the state "
                                   "before the run.")
    assert kernel(host) == before


def test_put_back_that_fails_says_what_differs(host):
    host.rules.append({"family": socket.AF_INET, "priority": 1000, "table": 150, "src": "203.0.113.9", "src_len": 32})
    before = kernel(host)

    def refuse(cmd, kind, kwargs):
        if kind == "rule" and cmd == "add":
            return 95  # every rule addition, the put-back's too
        return None
    host.refuse = refuse
    with pytest.raises(_routing_host.Failure) as info:
        converge()
    msg = info.value.msg
    assert msg.startswith("ip -4 rule add from 192.0.2.10 table 101 priority 1000: the kernel refused it: ")
    assert ("Putting back what this run changed failed (ip -4 rule add from 203.0.113.9 table 150 priority 1000: "
            "refused by the test (Operation not supported)); the state read back differs from the state before the "
            "run: ipv4 rule from 203.0.113.9 lookup 150 priority 1000 is missing.") in msg
    assert info.value.details["restored"] is False
    after = kernel(host)
    assert after[1:] == before[1:]  # routes and rp_filter are back
    assert after[0] == []


def test_change_the_kernel_does_not_keep_is_put_back(host):
    before = kernel(host)
    host.drop = lambda cmd, kind, kwargs: kind == "rule" and kwargs.get("table") == 103
    with pytest.raises(_routing_host.Failure) as info:
        converge()
    assert info.value.msg == (
        "the state read back differs from the plan: ipv6 rule from 2001:db8:2::10 lookup 103 priority 1000 is "
        "missing. What this run changed was put back; the state read back is the state before the run.")
    assert kernel(host) == before


def test_rp_filter_only_needs_no_netlink(host, monkeypatch):
    monkeypatch.setattr(_netlink, "IPRoute", None, raising=False)
    result = _routing_host.converge(_routing.validate({"rp_filter_interfaces": ["eth1"]}), False)
    assert result["commands"] == ["sysctl -w net.ipv4.conf.eth1.rp_filter=2"]
    assert host.rp_filter()["eth1"] == 2
