# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_follow: the config file, the plans of a pass and the log lines, with
plain dicts in the shapes _netlink returns (no kernel). The service itself
runs against the kernel in tests/integration/test_follow.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.mptcp.linux.plugins.module_utils import _endpoints, _follow


def addr(address, scope=0):
    return {"address": address, "prefixlen": 64 if ":" in address else 24, "scope": scope,
            "family": "ipv6" if ":" in address else "ipv4", "dadfailed": False}


def interfaces(**devs):
    """eth1=["10.1.2.3"], ... -> the shape of _netlink.interfaces()."""
    result = {"lo": {"index": 1, "addresses": [addr("127.0.0.1", scope=254)]}}
    for index, (name, addresses) in enumerate(sorted(devs.items()), 2):
        result[name] = {"index": index, "addresses": [addr(a) for a in addresses]}
    return result


def kep(id, address, flags=("subflow",), dev=None, ifindex=None, port=None):
    return {"id": id, "address": address, "port": port, "flags": sorted(flags), "dev": dev, "ifindex": ifindex}


CONFIG = {"config": [{"address": "203.0.113.9", "id": 42, "flags": ["signal"]},
                     {"dev": "eth1", "flags": ["subflow"]}],
          "state": "overridden", "debounce": 0.2}


def settings(**changes):
    return _follow.load(json.dumps(dict(CONFIG, **changes)))


# ---------------------------------------------------------------- the config file


def test_load_splits_explicit_and_followed():
    loaded = settings()
    assert [e["address"] for e in loaded.explicit] == ["203.0.113.9"]
    assert loaded.followed_devs == ["eth1"]
    assert (loaded.state, loaded.debounce, loaded.lock_timeout) == ("overridden", 0.2, 60)


@pytest.mark.parametrize("text, expected", [
    ("{", "f.json: not JSON"),
    ("[]", "f.json: not a JSON object"),
    (json.dumps(dict(CONFIG, colour=1)), "unknown key 'colour'"),
    (json.dumps(dict(CONFIG, state="deleted")), "state must be one of merged, replaced, overridden"),
    (json.dumps(dict(CONFIG, debounce=11)), "debounce must be 0 to 10 seconds"),
    (json.dumps(dict(CONFIG, debounce=True)), "debounce must be 0 to 10 seconds"),
    (json.dumps(dict(CONFIG, lock_timeout=-1)), "lock_timeout must be a whole number"),
    (json.dumps(dict(CONFIG, config={"dev": "eth1"})), "config must be a list of endpoints"),
    (json.dumps(dict(CONFIG, config=[{"dev": "eth1", "id": 3}])), "config[0].id: a followed interface"),
    (json.dumps(dict(CONFIG, config=[{"address": "10.0.0.1"}])), "config has no entry to follow"),
    (json.dumps(dict(CONFIG, config=[{"dev": "a/b"}])), "f.json: config[0].dev: 'a/b' is not a valid interface name"),
])
def test_load_names_each_problem(text, expected):
    with pytest.raises(_follow.FollowError) as caught:
        _follow.load(text, "f.json")
    assert expected in str(caught.value)


def test_load_lists_every_problem_at_once():
    with pytest.raises(_follow.FollowError) as caught:
        _follow.load(json.dumps(dict(CONFIG, state="x", debounce=-1, extra=1)), "f.json")
    assert str(caught.value).count("f.json:") == 3


# ---------------------------------------------------------------- the plans


def test_start_applies_the_whole_config():
    actions, after = _follow.plan_start(settings(), [kep(7, "192.0.2.99")], interfaces(eth1=["10.1.2.3"]))
    assert [(verb, e["address"]) for verb, e in actions] == [
        ("delete", "192.0.2.99"), ("add", "203.0.113.9"), ("add", "10.1.2.3")]


def test_a_new_address_gets_an_endpoint_with_the_configured_flags():
    current = [kep(42, "203.0.113.9", ["signal"]), kep(43, "10.1.2.3", dev="eth1", ifindex=2)]
    actions, dummy = _follow.plan_event(settings(), current, interfaces(eth1=["10.1.2.3", "10.1.2.4"]), set())
    assert actions == [("add", {"id": None, "address": "10.1.2.4", "port": None, "dev": "eth1",
                                "flags": ["subflow"], "index": 1})]


def test_a_vanished_address_loses_its_endpoint():
    current = [kep(42, "203.0.113.9", ["signal"]), kep(43, "10.1.2.3", dev="eth1", ifindex=2)]
    actions, dummy = _follow.plan_event(settings(), current, interfaces(eth1=[]), set())
    assert [(verb, e["id"]) for verb, e in actions] == [("delete", 43)]


def test_a_renumbered_interface_ends_with_one_endpoint_for_the_new_address():
    current = [kep(43, "10.1.2.3", dev="eth1", ifindex=2)]
    actions, after = _follow.plan_event(settings(), current, interfaces(eth1=["10.1.2.77"]), set())
    assert [(verb, e["address"]) for verb, e in actions] == [("delete", "10.1.2.3"), ("add", "10.1.2.77")]
    assert [e["address"] for e in after] == ["10.1.2.77"]


def test_a_gone_interface_is_known_by_the_index_it_had():
    current = [kep(43, "10.1.2.3", dev="if2", ifindex=2)]
    assert _follow.plan_event(settings(), current, interfaces(), {2})[0] == [("delete", _endpoints.public(current[0]))]
    assert _follow.plan_event(settings(), current, interfaces(), set())[0] == []


def test_endpoints_not_of_a_followed_interface_are_never_touched():
    """An explicit endpoint missing, one with other flags, a foreign one,
    one on another interface, an implicit one: no action for any of them."""
    current = [kep(42, "203.0.113.9", ["signal", "backup"]), kep(5, "192.0.2.5", dev="eth2", ifindex=3),
               kep(6, "198.51.100.6"), kep(9, "10.9.9.9", ["implicit"])]
    actions, dummy = _follow.plan_event(settings(), current, interfaces(eth1=[], eth2=["192.0.2.5"]), set())
    assert actions == []


def test_an_address_an_explicit_entry_gives_stays_explicit():
    loaded = settings(config=[{"address": "10.1.2.3", "id": 42, "flags": ["signal"]}, {"dev": "eth1"}])
    current = [kep(42, "10.1.2.3", ["signal"], dev=None)]
    assert _follow.plan_event(loaded, current, interfaces(eth1=["10.1.2.3"]), set())[0] == []
    assert _follow.followed_endpoints(loaded, interfaces(eth1=["10.1.2.3", "10.1.2.4"]))[0]["address"] == "10.1.2.4"


def test_a_missing_interface_or_one_without_address_is_followed_quietly():
    assert _follow.followed_endpoints(settings(), interfaces()) == []
    assert _follow.followed_endpoints(settings(), interfaces(eth1=[])) == []


def test_the_kernel_limit_of_eight_is_a_planning_error():
    current = [kep(i, "192.0.2.%d" % i) for i in range(1, 9)]
    with pytest.raises(_endpoints.EndpointError, match="at most 8"):
        _follow.plan_event(settings(), current, interfaces(eth1=["10.1.2.3"]), set())


def test_changed_flags_are_set_in_place_or_replaced():
    loaded = settings(config=[{"dev": "eth1", "flags": ["subflow", "backup"]}])
    current = [kep(43, "10.1.2.3", dev="eth1", ifindex=2)]
    actions, dummy = _follow.plan_event(loaded, current, interfaces(eth1=["10.1.2.3"]), set())
    assert [verb for verb, e in actions] == ["set_flags"]
    assert _follow.reasons(actions, {}, {}) == ["configured flags"]


# ---------------------------------------------------------------- reasons and log lines


def test_reasons_say_what_happened():
    before = interfaces(eth1=["10.1.2.3"], eth2=["10.5.0.1"])
    now = interfaces(eth1=["10.1.2.4"], eth3=["10.7.0.1"])
    actions = [("delete", kep(43, "10.1.2.3", dev="eth1")), ("delete", kep(44, "10.5.0.1", dev="eth2")),
               ("add", kep(None, "10.1.2.4", dev="eth1")), ("add", kep(None, "10.7.0.1", dev="eth3"))]
    assert _follow.reasons(actions, before, now) == [
        "address vanished", "interface vanished", "address appeared", "interface appeared"]
    assert _follow.reasons(actions[:1] + actions[2:3], before, now, start=True) == ["not in the config", "at start"]


@pytest.mark.parametrize("verb, endpoint, line", [
    ("add", kep(5, "10.1.2.3", dev="eth1"), "added 10.1.2.3 id 5 subflow dev eth1 (address appeared)"),
    ("delete", kep(5, "2001:db8::5", ["signal", "backup"], dev="eth1", port=8080),
     "removed 2001:db8::5 port 8080 id 5 backup signal dev eth1 (address appeared)"),
    ("set_flags", kep(5, "10.1.2.3", []), "changed 10.1.2.3 id 5 noflags (address appeared)"),
])
def test_log_line(verb, endpoint, line):
    assert _follow.log_line(verb, endpoint, "address appeared") == line


# ---------------------------------------------------------------- a pass


class FakeClient(object):
    """The kernel's endpoint table, as far as a pass needs it."""

    def __init__(self, endpoints):
        self.table = list(endpoints)

    def endpoints(self):
        return [dict(e) for e in self.table]


def fake_apply(client, actions, ifindexes, sent):
    for verb, endpoint in actions:
        sent.append((verb, endpoint))
        if verb == "delete":
            client.table = [e for e in client.table if e["id"] != endpoint["id"]]
        else:
            used = set(e["id"] for e in client.table)
            client.table.append(dict(endpoint, id=min(set(range(1, 256)) - used), ifindex=ifindexes.get(endpoint["dev"])))


def test_a_pass_logs_each_change_with_the_id_the_kernel_gave(monkeypatch):
    monkeypatch.setattr(_follow._lock, "NetnsLock", lambda what, timeout: _NoLock())
    client = FakeClient([kep(42, "203.0.113.9", ["signal"]), kep(43, "10.1.2.3", dev="eth1", ifindex=2)])
    state = {"now": interfaces(eth1=["10.1.2.3"])}
    lines = []
    follower = _follow.Follower(settings(), client, lambda: state["now"], fake_apply, lines.append)
    assert follower.sync() == []  # the start: the whole config is there
    state["now"] = interfaces(eth1=["10.1.2.4"])
    follower.sync()
    assert lines == ["removed 10.1.2.3 id 43 subflow dev eth1 (address vanished)",
                     "added 10.1.2.4 id 1 subflow dev eth1 (address appeared)"]


def test_a_refusal_is_logged_and_the_pass_ends(monkeypatch):
    monkeypatch.setattr(_follow._lock, "NetnsLock", lambda what, timeout: _NoLock())

    class Refused(Exception):
        reason = "Address already in use"

    def refuse(client, actions, ifindexes, sent):
        sent.append(actions[0])
        raise Refused()

    lines = []
    follower = _follow.Follower(settings(), FakeClient([]), lambda: interfaces(eth1=["10.1.2.3"]), refuse, lines.append)
    assert follower.sync() == []
    assert lines == ["the kernel refused ip mptcp endpoint add 203.0.113.9 id 42 signal: Address already in use; "
                     "the next address or link change retries"]
    assert follower.start_pending


class _NoLock(object):
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_numbers_written_as_text_are_read_as_numbers_and_wrong_types_named():
    loaded = settings(config=[{"address": "203.0.113.9", "id": "42"}, {"dev": "eth1", "flags": None}])
    assert loaded.explicit[0]["id"] == 42
    with pytest.raises(_follow.FollowError) as caught:
        _follow.load(json.dumps(dict(CONFIG, config=[{"dev": "eth1", "port": "x", "flags": "subflow", "colour": 1}])), "f")
    assert str(caught.value) == ("f: config[0].port: 'x' is not a whole number; "
                                 "f: config[0].flags: 'subflow' is not a list of flags; f: config[0]: unknown key 'colour'")


def test_the_shipped_files_are_all_the_service_imports():
    """The role installs _follow.SHIPPED on the host: every module_utils
    that the service imports, at any depth, must be among them."""
    import ast
    import os
    source = os.path.dirname(_follow.__file__)
    for name in _follow.SHIPPED:
        with open(os.path.join(source, name)) as handle:
            tree = ast.parse(handle.read())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ansible_collections"):
                for alias in node.names:
                    target = alias.name if node.module.endswith("module_utils") else node.module.rsplit(".", 1)[1]
                    assert target + ".py" in _follow.SHIPPED, "%s imports %s" % (name, target)


def test_the_whole_config_is_applied_once_its_interfaces_are_there(monkeypatch):
    """At boot an explicit entry's interface may come later: the followed
    endpoints are set meanwhile, the explicit one once it can be."""
    monkeypatch.setattr(_follow._lock, "NetnsLock", lambda what, timeout: _NoLock())
    loaded = settings(config=[{"address": "192.0.2.5", "dev": "eth2", "flags": ["signal"]}, {"dev": "eth1"}])
    client = FakeClient([])
    state = {"now": interfaces(eth1=["10.1.2.3"])}
    lines = []
    follower = _follow.Follower(loaded, client, lambda: state["now"], fake_apply, lines.append)
    follower.sync()
    follower.sync()
    assert [e["address"] for e in client.table] == ["10.1.2.3"]
    assert len(lines) == 2 and lines[0].startswith("cannot apply the whole config yet: config[0].dev: interface 'eth2' does not exist")
    state["now"] = interfaces(eth1=["10.1.2.3"], eth2=["192.0.2.5"])
    follower.sync()
    assert sorted(e["address"] for e in client.table) == ["10.1.2.3", "192.0.2.5"]
    assert lines[-1] == "added 192.0.2.5 id 2 signal dev eth2 (at start)"


class _Events(object):
    """A socket that holds an event at each of the given times (seconds from now)."""

    def __init__(self, times):
        import time
        self.clock = time.monotonic
        start = self.clock()
        self.times = [start + t for t in times]
        self.drained = 0

    def due(self):
        return [t for t in self.times if t <= self.clock()]


def test_a_steady_stream_of_events_does_not_starve_the_passes(monkeypatch):
    import time
    events = _Events([0.05 * n for n in range(100)])  # one every 50 ms for 5 s

    def fake_select(readers, writers, errors, timeout=None):
        end = None if timeout is None else events.clock() + timeout
        while not events.due():
            if end is not None and events.clock() >= end:
                return [], [], []
            time.sleep(0.005)
        return readers, [], []

    def fake_drain(ipr):
        events.times = [t for t in events.times if t > events.clock()]
        events.drained += 1

    monkeypatch.setattr(_follow.select, "select", fake_select)
    monkeypatch.setattr(_follow, "_drain", fake_drain)
    began = time.monotonic()
    _follow.wait_for_change(object(), 0.2)
    took = time.monotonic() - began
    assert 0.9 <= took < 4, took  # after MAX_WAIT (1 s), although the events go on for 5 s
    assert events.drained > 10
