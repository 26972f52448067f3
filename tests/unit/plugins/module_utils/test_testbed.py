# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_testbed: validation and the plan from a read state, without root."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.mptcp.linux.plugins.module_utils import _testbed

NAMES = {"paths": "mptcp_testbed_paths", "paths_down": "mptcp_testbed_paths_down"}


def params(**extra):
    base = dict(name="ci", state="present", net4="10.92", paths=[{"rate": "50mbit"}, {"rate": "10mbit"}],
                paths_down=[], wrapper_dir="/run/x")
    base.update(extra)
    return base


def tbf(rate_bytes, burst=65531, lat=50000):
    """tc -j's view of a tbf (64kb comes back as 65531 bytes)."""
    return [{"kind": "tbf", "root": True, "options": {"rate": rate_bytes, "burst": burst, "lat": lat}}]


def built(p):
    """The state a correct build of P leaves."""
    links = {"cli": {}, "srv": {}}
    for path in _testbed.desired_paths(p):
        n = path["number"]
        for end, side, ifindex, peer in (("cli", "client_", n + 1, n + 101), ("srv", "server_", n + 101, n + 1)):
            addresses = [path[side + "address"] + "/24"]
            if path[side + "address6"]:
                addresses.append(path[side + "address6"] + "/64")
            links[end][path[side + "dev"]] = dict(ifindex=ifindex, peer_index=peer, up=path["up"], addresses=addresses,
                                                  qdiscs=tbf(_testbed.rate_bits(path["rate"]) / 8))
    return {"netns": {"cli": True, "srv": True}, "links": links}


def test_rate_bits():
    assert _testbed.rate_bits("50mbit") == 50e6
    assert _testbed.rate_bits("1.5kbps") == 12000


@pytest.mark.parametrize("extra, expected", [
    (dict(paths=[{"rate": "fast"}]), "mptcp_testbed_paths[0].rate: 'fast' is not a tc rate"),
    (dict(paths=[{"rate": "1mbit", "delay": "soon"}]), "mptcp_testbed_paths[0].delay: 'soon' is not a time"),
    (dict(paths=[{"rate": "1mbit", "loss": "120%"}]), "mptcp_testbed_paths[0].loss: '120%' is not a percentage"),
    (dict(paths=[{"rate": "1mbit"}] * 9), "mptcp_testbed_paths: 9 paths, expected 1 to 8"),
    (dict(paths_down=[3]), "mptcp_testbed_paths_down[0]: 3 is not a path number 1..2"),
    (dict(name="Bad Name"), "name: 'Bad Name' is not 1 to 20"),
    (dict(net4="10.300"), "net4: '10.300' is not the first two octets"),
    (dict(name="tb\n"), "name: 'tb\\n' is not 1 to 20"),
    (dict(paths=[{"rate": "1mbit\n"}]), "mptcp_testbed_paths[0].rate: '1mbit\\n' is not a tc rate"),
    (dict(net4="10.92\n"), "net4: '10.92\\n' is not the first two octets"),
    (dict(net6="fd92::"), "net6: 'fd92::' is not the first one to three groups"),
    (dict(net6="fd92:1:2:3"), "net6: 'fd92:1:2:3' is not the first one to three groups"),
    (dict(net6="FD92"), "net6: 'FD92' is not the first one to three groups"),
    (dict(burst="big"), "burst: 'big' is not a tc size"),
    (dict(burst="0kb"), "burst: '0kb' is not a tc size"),
    (dict(latency="50"), "latency: '50' is not a time"),
])
def test_validate_names_the_field(extra, expected):
    problems = _testbed.validate(params(**extra), NAMES)
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_netem_requests():
    p = params(paths=[{"rate": "1mbit", "loss": "1%"}, {"rate": "1mbit", "delay": "5ms"}])
    assert _testbed.netem_requests(p, NAMES) == ["mptcp_testbed_paths[0].loss", "mptcp_testbed_paths[1].delay"]


def test_plan_from_nothing_builds_everything():
    commands = _testbed.plan_present(params(), {"netns": {"cli": False, "srv": False}, "links": {"cli": {}, "srv": {}}})
    assert ["ip", "netns", "add", "ci-cli"] in commands
    assert ["ip", "-n", "ci-cli", "link", "add", "name", "cli-p2", "type", "veth", "peer", "name", "srv-p2", "netns", "ci-srv"] in commands
    assert ["ip", "-n", "ci-srv", "addr", "add", "10.92.2.2/24", "dev", "srv-p2"] in commands
    assert ["tc", "-n", "ci-srv", "qdisc", "replace", "dev", "srv-p2", "root", "tbf", "rate", "10mbit", "burst", "64kb", "latency", "50ms"] in commands


def test_plan_of_a_correct_testbed_is_empty():
    assert _testbed.plan_present(params(), built(params())) == []
    assert _testbed.plan_present(params(net6="fd92"), built(params(net6="fd92"))) == []


def test_sizes_and_times():
    assert _testbed.size_bytes("64kb") == 65536
    assert _testbed.size_bytes("1mbit") == 131072
    assert _testbed.size_bytes("1500") == 1500
    assert _testbed.time_us("50ms") == 50000


def test_plan_from_nothing_turns_rp_filter_off_without_sysctl8():
    commands = _testbed.plan_present(params(), {"netns": {"cli": False, "srv": False}, "links": {"cli": {}, "srv": {}}})
    assert [_testbed.SYSCTL, "ci-srv", "net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"] in commands
    assert not any("sysctl" in argv for argv in commands)


def test_plan_adds_ipv6_with_nodad_and_removes_it_again():
    p = params(net6="fd92:7")
    paths = _testbed.desired_paths(p)
    assert (paths[1]["client_address6"], paths[1]["server_address6"], paths[1]["prefixlen6"]) == ("fd92:7:2::1", "fd92:7:2::2", 64)
    commands = _testbed.plan_present(p, built(params()))
    assert commands == [["ip", "-n", "ci-cli", "addr", "add", "fd92:7:1::1/64", "dev", "cli-p1", "nodad"],
                        ["ip", "-n", "ci-srv", "addr", "add", "fd92:7:1::2/64", "dev", "srv-p1", "nodad"],
                        ["ip", "-n", "ci-cli", "addr", "add", "fd92:7:2::1/64", "dev", "cli-p2", "nodad"],
                        ["ip", "-n", "ci-srv", "addr", "add", "fd92:7:2::2/64", "dev", "srv-p2", "nodad"]]
    assert _testbed.plan_present(params(), built(p))[0] == ["ip", "-n", "ci-cli", "addr", "del", "fd92:7:1::1/64", "dev", "cli-p1"]
    # Path numbers are hexadecimal in an IPv6 group, as ip prints them.
    assert _testbed.desired_paths(params(net6="fd92", paths=[{"rate": "1mbit"}] * 8))[7]["client_address6"] == "fd92:8::1"
    assert _testbed.desired_paths(params())[0]["client_address6"] is None


def test_plan_reshapes_on_another_burst_or_latency():
    state = built(params())
    commands = _testbed.plan_present(params(burst="32kb", latency="20ms", paths=[{"rate": "50mbit"}, {"rate": "10mbit"}]), state)
    assert ["tc", "-n", "ci-srv", "qdisc", "replace", "dev", "srv-p2", "root", "tbf", "rate", "10mbit", "burst", "32kb", "latency", "20ms"] in commands
    assert len(commands) == 4


def test_plan_cuts_reshapes_and_drops_extra_paths():
    state = built(params(paths=[{"rate": "50mbit"}] * 3))
    commands = _testbed.plan_present(params(paths_down=[1]), state)
    assert commands == [
        ["ip", "-n", "ci-cli", "link", "set", "dev", "cli-p1", "down"],
        ["ip", "-n", "ci-srv", "link", "set", "dev", "srv-p1", "down"],
        ["tc", "-n", "ci-cli", "qdisc", "replace", "dev", "cli-p2", "root", "tbf", "rate", "10mbit", "burst", "64kb", "latency", "50ms"],
        ["tc", "-n", "ci-srv", "qdisc", "replace", "dev", "srv-p2", "root", "tbf", "rate", "10mbit", "burst", "64kb", "latency", "50ms"],
        ["ip", "-n", "ci-cli", "link", "del", "cli-p3"],
    ]


def test_plan_remakes_half_a_pair():
    state = built(params())
    del state["links"]["cli"]["cli-p2"]
    commands = _testbed.plan_present(params(), state)
    assert commands[:2] == [["ip", "-n", "ci-srv", "link", "del", "srv-p2"],
                            ["ip", "-n", "ci-cli", "link", "add", "name", "cli-p2", "type", "veth", "peer", "name", "srv-p2", "netns", "ci-srv"]]


def test_read_state():
    outputs = {
        ("ip", "netns", "list"): "ci-cli (id: 0)\n",
        ("ip", "-n", "ci-cli", "-j", "addr", "show"): json.dumps([
            {"ifindex": 1, "ifname": "lo", "link_type": "loopback", "flags": ["UP"]},
            {"ifindex": 2, "link_index": 2, "ifname": "cli-p1", "flags": ["UP"], "link_type": "ether",
             "addr_info": [{"family": "inet", "local": "10.92.1.1", "prefixlen": 24},
                           {"family": "inet6", "local": "fd92:1::1", "prefixlen": 64, "scope": "global"},
                           {"family": "inet6", "local": "fe80::1", "prefixlen": 64, "scope": "link"}]}]),
        ("tc", "-n", "ci-cli", "-j", "qdisc", "show", "dev", "cli-p1"): json.dumps(tbf(6250000)),
    }
    state = _testbed.read_state(lambda argv: outputs[tuple(argv)], "ci")
    assert state == {"netns": {"cli": True, "srv": False}, "links": {"srv": {}, "cli": {"cli-p1": dict(
        ifindex=2, peer_index=2, up=True, addresses=["10.92.1.1/24", "fd92:1::1/64"], qdiscs=tbf(6250000))}}}
