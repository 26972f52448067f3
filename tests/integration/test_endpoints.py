# -*- coding: utf-8 -*-
"""mptcp_endpoints against the real kernel, `ip -j mptcp endpoint show` as oracle."""

from __future__ import absolute_import, division, print_function

import pathlib
import subprocess
from unittest import mock

import pytest

from conftest import AS_NOBODY, assert_idempotent, four_runs, run_module, shell_wrapper

M = "mptcp.linux.mptcp_endpoints"


def ep(address, id, flags, port=None, dev=None):
    return {"id": id, "address": address, "port": port, "dev": dev, "flags": sorted(flags)}


def converge(runner, netns, args, expected, expect_change=True):
    results, states = four_runs(runner, netns, M, dict(args, netns=netns.name), netns.endpoints)
    assert_idempotent(results, states, expect_change)
    assert states[2] == expected
    assert results[1]["after"] == expected  # the module's own report agrees with the oracle
    return results


def test_merged_ipv4_ipv6_ports_ids_and_dev(runner, netns):
    results = converge(runner, netns, {"config": [
        {"address": "192.0.2.10", "id": 10, "port": 8443, "flags": ["signal"]},
        {"address": "2001:db8:1::10", "id": 11, "dev": "lan1", "flags": ["subflow", "backup"]},
        {"address": "2001:db8::10", "flags": ["subflow", "fullmesh"]},
    ]}, [
        ep("192.0.2.10", 10, ["signal"], port=8443),
        ep("2001:db8:1::10", 11, ["subflow", "backup"], dev="lan1"),
        ep("2001:db8::10", 12, ["subflow", "fullmesh"]),
    ])
    assert results[0]["commands"] == [
        "ip mptcp endpoint add 192.0.2.10 port 8443 id 10 signal",
        "ip mptcp endpoint add 2001:db8:1::10 dev lan1 id 11 backup subflow",
        "ip mptcp endpoint add 2001:db8::10 fullmesh subflow",
    ]


def test_limits_are_set_with_the_endpoints(runner, netns):
    """limits: the same run sets the limits, then the endpoints; check mode
    predicts both, a second run changes neither. When only a limit differs,
    that is the one command."""
    def state():
        return netns.limits(), netns.endpoints()
    args = {"netns": netns.name, "config": [{"address": "198.51.100.11", "id": 3, "flags": ["subflow"]}],
            "limits": {"subflows": 4, "add_addr_accepted": 2}}
    results, states = four_runs(runner, netns, M, args, state)
    assert_idempotent(results, states)
    assert states[0][0] == {"subflows": 2, "add_addr_accepted": 0}  # a new namespace's
    assert states[2] == ({"subflows": 4, "add_addr_accepted": 2}, [ep("198.51.100.11", 3, ["subflow"])])
    assert results[0]["commands"] == results[1]["commands"] == [
        "ip mptcp limits set subflows 4 add_addr_accepted 2", "ip mptcp endpoint add 198.51.100.11 id 3 subflow"]
    assert results[0]["limits_after"] == results[1]["limits_after"] == states[2][0]
    assert results[1]["limits_before"] == states[0][0]
    assert results[1]["diff"]["before"]["limits"] == states[0][0]
    assert results[1]["diff"]["after"] == {"limits": states[2][0], "endpoints": states[2][1]}

    netns.ip("mptcp", "limits", "set", "subflows", "1", "add_addr_accepted", "0")
    result = runner.play([(M, dict(args, limits={"add_addr_accepted": 5}), {})])[0]
    assert result["changed"] is True and result["commands"] == ["ip mptcp limits set subflows 1 add_addr_accepted 5"]
    assert state() == ({"subflows": 1, "add_addr_accepted": 5}, [ep("198.51.100.11", 3, ["subflow"])])


def test_dev_only_entries_expand_with_family_filter(runner, netns):
    netns.ip("addr", "add", "198.51.100.99/24", "dev", "lan1")
    converge(runner, netns, {"config": [
        {"dev": "lan1", "family": "ipv4", "flags": ["subflow"]},
        {"dev": "lan0", "family": "ipv6", "flags": ["signal"]},
    ]}, [
        ep("198.51.100.11", 1, ["subflow"], dev="lan1"),
        ep("198.51.100.99", 2, ["subflow"], dev="lan1"),
        ep("2001:db8::10", 3, ["signal"], dev="lan0"),
    ])


def test_an_interface_without_an_address_is_skipped_when_asked(runner, netns):
    """A lease gone (its address removed, its endpoint still there): by
    default the interface without an address is refused, nothing changed;
    with empty_interfaces skip it makes no endpoint and overridden deletes
    the stale one."""
    netns.ip("-4", "addr", "flush", "dev", "lan1")
    netns.ip("mptcp", "endpoint", "add", "198.51.100.11", "id", "4", "dev", "lan1", "subflow")
    config = [{"dev": "lan0", "family": "ipv4", "flags": ["subflow"]}, {"dev": "lan1", "family": "ipv4", "flags": ["subflow"]}]
    before = netns.endpoints()
    refused = runner.play([(M, {"netns": netns.name, "state": "overridden", "config": config}, {"ignore_errors": True})])[0]
    assert refused.get("failed") and "config[1].dev: interface 'lan1' has no usable ipv4 address" in refused["msg"], refused
    assert netns.endpoints() == before
    # the id is the kernel's choice
    converge(runner, netns, {"state": "overridden", "empty_interfaces": "skip", "config": config},
             [ep("192.0.2.10", mock.ANY, ["subflow"], dev="lan0")])


def test_flag_change_in_place_uses_set_flags(runner, netns):
    netns.ip("mptcp", "endpoint", "add", "192.0.2.10", "id", "5", "subflow")
    results = converge(runner, netns, {"config": [{"address": "192.0.2.10", "flags": ["subflow", "backup"]}]},
                       [ep("192.0.2.10", 5, ["subflow", "backup"])])
    assert results[1]["commands"] == ["ip mptcp endpoint change id 5 backup nofullmesh"]


@pytest.mark.parametrize("flags, command", [
    (["signal", "backup"], "ip mptcp endpoint change id 5 backup nofullmesh"),
    (["signal"], "ip mptcp endpoint change id 5 nobackup nofullmesh"),
], ids=["set-backup", "clear-backup"])
def test_backup_changes_in_place_on_a_port_endpoint(runner, netns, flags, command):
    """SET_FLAGS names the endpoint by id: by address alone the kernel would
    not find an endpoint that has a port."""
    start = ["signal"] if "backup" in flags else ["signal", "backup"]
    netns.ip("mptcp", "endpoint", "add", "192.0.2.10", "port", "8443", "id", "5", *start)
    results = converge(runner, netns, {"config": [{"address": "192.0.2.10", "port": 8443, "flags": flags}]},
                       [ep("192.0.2.10", 5, flags, port=8443)])
    assert results[1]["commands"] == [command]


def test_signal_to_subflow_is_delete_then_add(runner, netns):
    netns.ip("mptcp", "endpoint", "add", "192.0.2.10", "id", "5", "signal")
    results = converge(runner, netns, {"state": "replaced", "config": [{"address": "192.0.2.10", "flags": ["subflow"]}]},
                       [ep("192.0.2.10", 5, ["subflow"])])
    assert results[1]["commands"] == ["ip mptcp endpoint delete id 5 192.0.2.10",
                                      "ip mptcp endpoint add 192.0.2.10 id 5 subflow"]


def test_merged_keeps_others_and_unspecified_flags(runner, netns):
    netns.ip("mptcp", "endpoint", "add", "192.0.2.10", "id", "1", "dev", "lan0", "signal")
    netns.ip("mptcp", "endpoint", "add", "198.51.100.11", "id", "2", "subflow")
    converge(runner, netns, {"config": [{"address": "192.0.2.10", "id": 7}]},
             [ep("198.51.100.11", 2, ["subflow"]), ep("192.0.2.10", 7, ["signal"], dev="lan0")])


def test_replaced_resets_what_is_not_given(runner, netns):
    netns.ip("mptcp", "endpoint", "add", "192.0.2.10", "id", "1", "dev", "lan0", "signal")
    netns.ip("mptcp", "endpoint", "add", "198.51.100.11", "id", "2", "subflow")
    converge(runner, netns, {"state": "replaced", "config": [{"address": "192.0.2.10", "flags": ["subflow"]}]},
             [ep("192.0.2.10", 1, ["subflow"]), ep("198.51.100.11", 2, ["subflow"])])


def test_overridden_deletes_the_rest_first(runner, netns):
    for n in range(1, 9):
        netns.ip("mptcp", "endpoint", "add", "10.9.0.%d" % n, "id", str(n), "subflow")
    # eight endpoints already: the additions only fit because deletions go first
    results = converge(runner, netns, {"state": "overridden", "config": [
        {"address": "10.9.0.1", "id": 1, "flags": ["subflow"]},
        {"address": "2001:db8::10", "id": 20, "flags": ["signal"]},
        {"address": "2001:db8:1::10", "id": 21, "flags": ["signal"]},
    ]}, [ep("10.9.0.1", 1, ["subflow"]), ep("2001:db8::10", 20, ["signal"]), ep("2001:db8:1::10", 21, ["signal"])])
    verbs = [c.split()[3] for c in results[1]["commands"]]
    assert verbs == ["delete"] * 7 + ["add"] * 2


@pytest.mark.parametrize("config, remaining", [
    ([{"address": "192.0.2.10"}], ["198.51.100.11", "2001:db8::10"]),
    ([{"id": 3}], ["192.0.2.10", "198.51.100.11"]),
    ([{"dev": "lan0"}], ["198.51.100.11"]),
    (None, []),
], ids=["by-address", "by-id", "by-dev", "all"])
def test_deleted(runner, netns, config, remaining):
    netns.ip("mptcp", "endpoint", "add", "192.0.2.10", "id", "1", "signal")
    netns.ip("mptcp", "endpoint", "add", "198.51.100.11", "id", "2", "subflow")
    netns.ip("mptcp", "endpoint", "add", "2001:db8::10", "id", "3", "dev", "lan0", "subflow")
    netns.ip("mptcp", "limits", "set", "subflows", "4", "add_addr_accepted", "3")
    args = {"state": "deleted"}
    if config is not None:
        args["config"] = config
    results, states = four_runs(runner, netns, M, dict(args, netns=netns.name), netns.endpoints)
    assert_idempotent(results, states)
    assert [e["address"] for e in states[2]] == remaining
    # never a flush: a flush would reset add_addr_accepted to 0
    assert netns.limits() == {"subflows": 4, "add_addr_accepted": 3}


def test_laminar_flag_round_trips(runner, netns):
    converge(runner, netns, {"config": [{"address": "198.51.100.11", "flags": ["subflow", "laminar"]}]},
             [ep("198.51.100.11", 1, ["subflow", "laminar"])])


def test_gathered_rendered_restores_the_same_state(runner, netns, tmp_path):
    netns.ip("mptcp", "endpoint", "add", "192.0.2.10", "id", "4", "port", "8080", "dev", "lan0", "signal")
    netns.ip("mptcp", "endpoint", "add", "2001:db8:1::10", "id", "9", "subflow", "backup")
    gathered = runner.play([(M, {"state": "gathered", "netns": netns.name}, {})])[0]
    assert gathered["changed"] is False
    rendered = runner.play([(M, {"state": "rendered", "config": gathered["gathered"]}, {})])[0]
    assert rendered["rendered"] == [
        "ip mptcp endpoint add 192.0.2.10 port 8080 dev lan0 id 4 signal",
        "ip mptcp endpoint add 2001:db8:1::10 id 9 backup subflow",
    ]
    before = netns.endpoints()
    netns.ip("mptcp", "endpoint", "flush")
    batch = tmp_path / "endpoints.batch"
    batch.write_text(rendered["rendered_batch"])
    subprocess.run(["ip", "-n", netns.name, "-batch", str(batch)], check=True)
    assert netns.endpoints() == before
    netns.ip("mptcp", "endpoint", "flush")
    for command in rendered["rendered"]:  # each one an ip command line (nothing to quote here)
        subprocess.run(["ip", "-n", netns.name] + command.split()[1:], check=True)
    assert netns.endpoints() == before


def test_parsed_reads_ip_show_as_gathered_reads_the_kernel(runner, netns, module_path):
    """The text `ip mptcp endpoint show` prints in a namespace (and its JSON
    form) parses to what gathered reads over netlink there: every flag,
    ports, IPv6, a stale interface ("ifN"). Parsed runs offline: in check
    mode, without pyroute2 (python -S), as nobody."""
    netns.ip("link", "add", "name", "gone0", "type", "veth", "peer", "name", "gone0p")
    netns.ip("addr", "add", "203.0.113.9/24", "dev", "gone0")
    converge(runner, netns, {"config": [
        {"address": "192.0.2.10", "id": 1, "dev": "lan0", "flags": ["signal"]},
        {"address": "192.0.2.10", "id": 2, "port": 8443, "flags": ["signal", "backup"]},
        {"address": "2001:db8:1::10", "id": 3, "dev": "lan1", "flags": ["subflow", "backup", "fullmesh"]},
        {"address": "198.51.100.11", "id": 40, "flags": ["subflow", "laminar"]},
        {"address": "2001:db8::10", "flags": ["signal", "subflow"]},
        {"address": "203.0.113.9", "id": 255, "dev": "gone0", "flags": ["subflow", "fullmesh"]},
        {"address": "192.0.2.99", "id": 7, "flags": []},
    ]}, [
        ep("192.0.2.10", 1, ["signal"], dev="lan0"),
        ep("192.0.2.10", 2, ["signal", "backup"], port=8443),
        ep("2001:db8:1::10", 3, ["subflow", "backup", "fullmesh"], dev="lan1"),
        ep("192.0.2.99", 7, []),
        ep("2001:db8::10", 8, ["signal", "subflow"]),  # the lowest free id
        ep("198.51.100.11", 40, ["subflow", "laminar"]),
        ep("203.0.113.9", 255, ["subflow", "fullmesh"], dev="gone0"),
    ])
    netns.ip("link", "del", "gone0")
    show = netns.ip("mptcp", "endpoint", "show")
    assert "dev if" in show  # the binding is stale now
    show_json = netns.ip("-j", "mptcp", "endpoint", "show")
    results = runner.play([
        (M, {"state": "gathered", "netns": netns.name}, {}),
        (M, {"state": "parsed", "running_config": show}, {"check_mode": True}),
        (M, {"state": "parsed", "running_config": show_json}, {}),
    ])
    gathered = results[0]["gathered"]
    assert len(gathered) == 7 and [e["id"] for e in gathered] == [1, 2, 3, 7, 8, 40, 255]
    assert results[1]["parsed"] == gathered and results[1]["changed"] is False
    assert results[2]["parsed"] == gathered
    # gathered -> rendered -> parsed gives the same structure, from either rendering
    rendered = runner.play([(M, {"state": "rendered", "config": gathered}, {})])[0]
    again = runner.play([
        (M, {"state": "parsed", "running_config": "\n".join(rendered["rendered"])}, {}),
        (M, {"state": "parsed", "running_config": rendered["rendered_batch"]}, {}),
    ])
    assert again[0]["parsed"] == gathered and again[1]["parsed"] == gathered
    # no pyroute2 (-S: no site-packages), no root, no namespace; Debian's
    # Python, which nobody can run wherever the venv lives
    assert subprocess.run(["/usr/bin/python3", "-S", "-c", "import pyroute2"], capture_output=True, check=False).returncode != 0
    wrapper = shell_wrapper(pathlib.Path(module_path) / ("python-S-%s" % netns.name), "/usr/bin/python3", "-S")
    bare = run_module(wrapper, module_path, "mptcp_endpoints",
                      {"state": "parsed", "running_config": show, "_ansible_check_mode": True}, prefix=AS_NOBODY)
    assert bare.get("failed") is not True, bare
    assert bare["parsed"] == gathered
