# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_endpoints: validate, expand, plan, verify and the ip-mptcp renderings,
driven with plain dicts in the shapes _netlink returns (no kernel)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.mptcp.linux.plugins.module_utils import _endpoints as ep
from ansible_collections.mptcp.linux.plugins.module_utils import _netlink, _quote
from ansible_collections.mptcp.linux.plugins.module_utils._endpoints import EndpointError


# ---------------------------------------------------------------- helpers


def addr(address, scope=0, dadfailed=False, prefixlen=None):
    """One address in the shape _netlink.interfaces() gives."""
    v6 = ":" in address
    return {
        "address": address,
        "prefixlen": prefixlen if prefixlen is not None else (64 if v6 else 24),
        "scope": scope,
        "family": "ipv6" if v6 else "ipv4",
        "dadfailed": dadfailed,
    }


# {ifname: {"index": n, "addresses": [...]}} as _netlink.interfaces() returns it
INTERFACES = {
    "lo": {"index": 1, "addresses": [addr("127.0.0.1", scope=254, prefixlen=8), addr("::1", scope=254, prefixlen=128)]},
    "eth0": {"index": 2, "addresses": [addr("192.0.2.10"), addr("2001:db8::10"), addr("fe80::10", scope=253)]},
    "eth1": {"index": 3, "addresses": [addr("198.51.100.10")]},
    "eth2": {"index": 4, "addresses": [addr("2001:db8:2::5", dadfailed=True), addr("203.0.113.7")]},
    "dummy0": {"index": 5, "addresses": []},
    # the addresses most tests give explicitly, some with a port (which needs an address of this host)
    "eth3": {"index": 7, "addresses": [addr("192.0.2.%d" % n) for n in range(1, 5)]},
    # 169.254/16 is link-local whatever scope it was given; fec0::/10 (site) is usable
    "ll0": {"index": 6, "addresses": [addr("fe80::6", scope=253), addr("169.254.1.1"), addr("fec0::6", scope=200)]},
}


def kep(id, address, flags=("subflow",), port=None, dev=None):
    """An endpoint as MptcpClient.endpoints() returns it."""
    return {"id": id, "address": address, "port": port, "flags": sorted(flags), "dev": dev,
            "ifindex": INTERFACES[dev]["index"] if dev in INTERFACES else None}


def entries_for(config, state="merged", interfaces=None):
    entries = ep.validate(config, state)
    return ep.expand(entries, INTERFACES if interfaces is None else interfaces, state)


def run(current, config, state="merged"):
    """As the module calls plan(): for deleted, no config at all means every endpoint."""
    entries = entries_for(config, state)
    return ep.plan(current, entries if config else None, state)


def verbs(actions):
    return [(verb, e["address"]) for verb, e in actions]


def kernelize(after):
    """What the kernel would then list: ids for the endpoints it numbered
    (lowest free id, as the in-kernel path manager does)."""
    used = set(e["id"] for e in after if e["id"] is not None)
    result = []
    for endpoint in after:
        endpoint = dict(endpoint)
        if endpoint["id"] is None:
            endpoint["id"] = min(set(range(1, 256)) - used)
            used.add(endpoint["id"])
        result.append(endpoint)
    return sorted(result, key=lambda e: e["id"])


def problems_of(excinfo):
    return excinfo.value.problems


# ---------------------------------------------------------------- validate


def test_validate_normalizes_entries():
    entries = ep.validate([
        {"address": "2001:DB8::0001", "flags": ["subflow", "backup"], "id": 7, "port": None},
        {"dev": "eth0", "family": "ipv6", "flags": None},
    ], "merged")
    assert entries[0] == {"index": 0, "address": "2001:db8::1", "id": 7, "port": None, "dev": None,
                          "family": "all", "flags": ["backup", "subflow"]}
    assert entries[1]["index"] == 1
    assert entries[1]["address"] is None
    assert entries[1]["family"] == "ipv6"
    assert entries[1]["flags"] is None  # unspecified, unlike []


def test_validate_empty_flags_list_is_kept_as_no_flags():
    assert ep.validate([{"address": "192.0.2.1", "flags": []}], "merged")[0]["flags"] == []


@pytest.mark.parametrize("config", [None, []])
def test_validate_no_config(config):
    assert ep.validate(config, "deleted") == []


GOOD = {"address": "192.0.2.1", "flags": ["subflow"]}


@pytest.mark.parametrize("bad, field", [
    ({"address": "10.0.0.300"}, "config[1].address: '10.0.0.300' is not a valid"),
    ({"address": "not-an-address"}, "config[1].address: 'not-an-address' is not a valid"),
    ({"address": "224.0.0.1"}, "config[1].address: '224.0.0.1' is not a valid IPv4 or IPv6 unicast address"),
    ({"address": "ff02::1"}, "config[1].address: 'ff02::1' is not a valid IPv4 or IPv6 unicast address"),
    ({"address": "0.0.0.0"}, "config[1].address: '0.0.0.0' is not a valid IPv4 or IPv6 unicast address"),
    ({"address": "::"}, "config[1].address: '::' is not a valid IPv4 or IPv6 unicast address"),
    ({"address": "192.0.2.2", "id": 0}, "config[1].id: 0 is out of range 1..255"),
    ({"address": "192.0.2.2", "id": 256}, "config[1].id: 256 is out of range 1..255"),
    ({"address": "192.0.2.2", "port": 0, "flags": ["signal"]}, "config[1].port: 0 is out of range 1..65535"),
    ({"address": "192.0.2.2", "port": 65536, "flags": ["signal"]}, "config[1].port: 65536 is out of range 1..65535"),
    ({"address": "192.0.2.2", "flags": ["signal", "bogus"]}, "config[1].flags: unknown flag(s) bogus; known: "
                                                             "signal, subflow, backup, fullmesh, laminar"),
    ({"address": "192.0.2.2", "flags": ["implicit"]}, "config[1].flags: unknown flag(s) implicit"),
    ({"address": "192.0.2.2", "flags": ["signal", "signal"]}, "config[1].flags: a flag is given twice"),
    ({"dev": "eth0:1"}, "config[1].dev: 'eth0:1' is not a valid interface name"),
    ({"dev": "a" * 16}, "config[1].dev: '%s' is not a valid interface name" % ("a" * 16)),
    ({"dev": "my eth"}, "config[1].dev: 'my eth' is not a valid interface name"),
    ({"dev": "a/b"}, "config[1].dev: 'a/b' is not a valid interface name"),
    ({"dev": ""}, "config[1].dev: '' is not a valid interface name"),
    ({"dev": "eth0", "family": "ipv5"}, "config[1].family: must be one of all, ipv4, ipv6"),
    ({"address": "192.0.2.2", "family": "ipv4"}, "config[1].family: only applies to an entry that gives dev without address"),
    ({}, "config[1]: give an address, or a dev to use all of its addresses"),
    ({"flags": ["signal"]}, "config[1]: give an address, or a dev"),
    ({"id": 3}, "config[1]: give an address, or a dev"),
])
def test_validate_rejects_and_names_the_field(bad, field):
    with pytest.raises(EndpointError) as excinfo:
        ep.validate([GOOD, bad], "merged")
    assert len(problems_of(excinfo)) == 1
    assert problems_of(excinfo)[0].startswith(field), problems_of(excinfo)


@pytest.mark.parametrize("state", ["merged", "replaced", "overridden", "rendered"])
def test_validate_id_only_entry_needs_state_deleted(state):
    with pytest.raises(EndpointError, match=r"config\[0\]: give an address"):
        ep.validate([{"id": 4}], state)


def test_validate_id_only_entry_allowed_for_deleted():
    entries = ep.validate([{"id": 4}], "deleted")
    assert entries[0]["id"] == 4 and entries[0]["address"] is None


def test_validate_reports_every_problem_at_once():
    with pytest.raises(EndpointError) as excinfo:
        ep.validate([{"address": "nope", "id": 0}, GOOD, {"dev": "x y", "port": 70000}], "merged")
    fields = [p.split(":")[0] for p in problems_of(excinfo)]
    assert fields == ["config[0].address", "config[0].id", "config[2].port", "config[2].dev"]
    assert str(excinfo.value) == "; ".join(problems_of(excinfo))


def test_endpoint_error_from_a_string():
    exc = EndpointError("one problem")
    assert exc.problems == ["one problem"] and str(exc) == "one problem"


def test_validate_leaves_kernel_rules_to_plan():
    """port without signal and fullmesh with signal depend on the merged
    result, so they are checked by plan()'s final check, before any action."""
    entries = ep.validate([{"address": "192.0.2.1", "port": 8080, "flags": ["subflow"]},
                           {"address": "192.0.2.2", "flags": ["signal", "fullmesh"]}], "merged")
    with pytest.raises(EndpointError) as excinfo:
        ep.plan([], entries, "merged")
    assert problems_of(excinfo) == [
        "config[0].port: a port needs the signal flag (the kernel listens on it to accept joins)",
        "config[1].flags: fullmesh cannot be combined with signal",
    ]


def test_port_with_signal_is_accepted():
    actions, dummy = run([], [{"address": "192.0.2.1", "port": 8080, "flags": ["signal"]}])
    assert actions == [("add", {"id": None, "address": "192.0.2.1", "port": 8080, "dev": None,
                                "flags": ["signal"], "index": 0})]


def test_merged_flags_inherited_from_kernel_are_checked_too():
    """merged keeps the kernel's signal flag, which the port needs; replaced drops it."""
    current = [kep(1, "192.0.2.1", ["signal"], port=8080)]
    assert run(current, [{"address": "192.0.2.1", "port": 8080}], "merged")[0] == []
    with pytest.raises(EndpointError, match=r"^config\[0\]\.port: a port needs the signal flag"):
        run(current, [{"address": "192.0.2.1", "port": 8080}], "replaced")


def test_a_port_makes_another_identity():
    """(address, port) is the identity: adding a port is a new endpoint, with its own flags."""
    current = [kep(1, "192.0.2.1", ["signal"])]
    with pytest.raises(EndpointError, match=r"^config\[0\]\.port: a port needs the signal flag"):
        run(current, [{"address": "192.0.2.1", "port": 8080}], "merged")
    actions, after = run(current, [{"address": "192.0.2.1", "port": 8080, "flags": ["signal"]}], "merged")
    assert verbs(actions) == [("add", "192.0.2.1")]
    assert [(e["id"], e["port"]) for e in after] == [(1, None), (None, 8080)]


def test_validate_rejects_scoped_ipv6_address():
    with pytest.raises(EndpointError, match=r"config\[0\]\.address"):
        ep.validate([{"address": "fe80::1%eth0"}], "merged")


# ---------------------------------------------------------------- expand


def test_usable_addresses_skip_link_local_host_scope_and_dadfailed():
    assert ep.usable_addresses(INTERFACES["eth0"], "all") == ["192.0.2.10", "2001:db8::10"]
    assert ep.usable_addresses(INTERFACES["lo"], "all") == []
    assert ep.usable_addresses(INTERFACES["eth2"], "all") == ["203.0.113.7"]
    assert ep.usable_addresses(INTERFACES["ll0"], "all") == ["fec0::6"]


@pytest.mark.parametrize("family, expected", [
    ("all", ["192.0.2.10", "2001:db8::10"]),
    ("ipv4", ["192.0.2.10"]),
    ("ipv6", ["2001:db8::10"]),
])
def test_expand_dev_only_entry_with_family(family, expected):
    entries = entries_for([{"dev": "eth0", "family": family, "flags": ["subflow"]}])
    assert [e["address"] for e in entries] == expected
    assert all(e["dev"] == "eth0" and e["flags"] == ["subflow"] and e["index"] == 0 for e in entries)


def test_expand_keeps_entries_with_an_address():
    entries = entries_for([{"address": "198.51.100.10", "dev": "eth1", "flags": ["signal"]},
                           {"address": "192.0.2.99", "flags": ["signal"]}])
    assert [(e["address"], e["dev"]) for e in entries] == [("198.51.100.10", "eth1"), ("192.0.2.99", None)]


def test_expand_missing_dev_is_an_error_naming_the_interfaces():
    with pytest.raises(EndpointError) as excinfo:
        entries_for([GOOD, {"dev": "eth9"}])
    assert problems_of(excinfo) == [
        "config[1].dev: interface 'eth9' does not exist (interfaces here: dummy0, eth0, eth1, eth2, eth3, ll0, lo)"]


def test_expand_missing_dev_even_with_an_address_is_an_error():
    with pytest.raises(EndpointError, match=r"config\[0\]\.dev: interface 'eth9' does not exist"):
        entries_for([{"address": "192.0.2.1", "dev": "eth9"}])


@pytest.mark.parametrize("dev, family, words", [
    ("lo", "all", "interface 'lo' has no usable address"),
    ("dummy0", "all", "interface 'dummy0' has no usable address"),
    ("eth1", "ipv6", "interface 'eth1' has no usable ipv6 address"),
])
def test_expand_dev_without_usable_address_is_an_error(dev, family, words):
    with pytest.raises(EndpointError) as excinfo:
        entries_for([{"dev": dev, "family": family}])
    assert problems_of(excinfo) == ["config[0].dev: %s (global scope, not link-local)" % words]


@pytest.mark.parametrize("dev, family", [("lo", "all"), ("dummy0", "all"), ("eth1", "ipv6")])
def test_expand_dev_without_usable_address_makes_nothing_when_skipped(dev, family):
    entries = ep.validate([GOOD, {"dev": dev, "family": family, "flags": ["subflow"]}], "overridden")
    assert [e["address"] for e in ep.expand(entries, INTERFACES, "overridden", empty="skip")] == [GOOD["address"]]


def test_expand_skip_still_refuses_a_missing_interface():
    entries = ep.validate([{"dev": "eth9", "flags": ["subflow"]}], "merged")
    with pytest.raises(EndpointError, match=r"config\[0\]\.dev: interface 'eth9' does not exist"):
        ep.expand(entries, INTERFACES, "merged", empty="skip")


def test_expand_id_with_a_multi_address_dev_is_an_error():
    with pytest.raises(EndpointError) as excinfo:
        entries_for([{"dev": "eth0", "id": 5}])
    assert problems_of(excinfo) == [
        "config[0].id: interface 'eth0' has 2 usable addresses (192.0.2.10, 2001:db8::10); an id needs exactly one"]


def test_expand_id_with_a_single_address_dev():
    entries = entries_for([{"dev": "eth0", "family": "ipv4", "id": 5}, {"dev": "eth1", "id": 6}])
    assert [(e["address"], e["id"]) for e in entries] == [("192.0.2.10", 5), ("198.51.100.10", 6)]


def test_expand_duplicate_address_and_port_across_entries():
    with pytest.raises(EndpointError) as excinfo:
        entries_for([{"dev": "eth1"}, {"address": "198.51.100.10", "flags": ["signal"]}])
    assert problems_of(excinfo) == ["config[1]: endpoint 198.51.100.10 is also given by config[0]"]


def test_expand_duplicate_with_port_names_the_port():
    with pytest.raises(EndpointError) as excinfo:
        entries_for([{"address": "192.0.2.1", "port": 80, "flags": ["signal"]},
                     {"address": "192.0.2.1", "port": 80, "flags": ["signal"]}])
    assert problems_of(excinfo) == ["config[1]: endpoint 192.0.2.1 port 80 is also given by config[0]"]


def test_expand_same_address_other_port_is_another_endpoint():
    entries = entries_for([{"address": "192.0.2.1", "flags": ["signal"]},
                           {"address": "192.0.2.1", "port": 80, "flags": ["signal"]}])
    assert [ep.key(e) for e in entries] == [("192.0.2.1", 0), ("192.0.2.1", 80)]


def test_expand_duplicate_ids_across_entries():
    with pytest.raises(EndpointError) as excinfo:
        entries_for([{"address": "192.0.2.1", "id": 9}, {"address": "192.0.2.2", "id": 8},
                     {"address": "192.0.2.3", "id": 9}])
    assert problems_of(excinfo) == ["config[2].id: id 9 is also given by config[0]"]


def test_expand_deleted_tolerates_missing_devs_duplicates_and_no_addresses():
    entries = entries_for([{"dev": "eth9"}, {"dev": "dummy0"}, {"address": "192.0.2.1", "id": 3},
                           {"address": "192.0.2.1", "id": 3}], state="deleted")
    assert [(e.get("match_dev"), e["address"]) for e in entries] == [
        ("eth9", None), ("dummy0", None), (None, "192.0.2.1"), (None, "192.0.2.1")]


def test_expand_deleted_dev_matches_bound_endpoints_and_its_addresses():
    entries = entries_for([{"dev": "eth0"}], state="deleted")
    assert [(e.get("match_dev"), e["address"]) for e in entries] == [
        ("eth0", None), (None, "192.0.2.10"), (None, "2001:db8::10")]


# ---------------------------------------------------------------- plan: adds and ordering


def test_plan_adds_fixed_ids_before_kernel_numbered_ones():
    actions, after = run([], [
        {"address": "192.0.2.1", "flags": ["subflow"]},
        {"address": "192.0.2.2", "id": 20, "flags": ["signal"]},
        {"address": "192.0.2.3", "flags": ["subflow"]},
        {"address": "192.0.2.4", "id": 10, "flags": ["signal"]},
    ])
    assert [(v, e["address"], e["id"]) for v, e in actions] == [
        ("add", "192.0.2.2", 20), ("add", "192.0.2.4", 10), ("add", "192.0.2.1", None), ("add", "192.0.2.3", None)]
    assert [(e["id"], e["address"]) for e in after] == [
        (10, "192.0.2.4"), (20, "192.0.2.2"), (None, "192.0.2.1"), (None, "192.0.2.3")]
    assert set(after[0]) == {"id", "address", "port", "dev", "flags"}  # public shape, no index


def test_plan_orders_deletions_then_set_flags_then_adds():
    current = [kep(1, "192.0.2.1", ["subflow"]), kep(2, "192.0.2.2", ["subflow"]),
               kep(3, "192.0.2.3", ["subflow"]), kep(4, "192.0.2.4", ["subflow"])]
    actions, dummy = run(current, [
        {"address": "192.0.2.9", "flags": ["subflow"]},            # new, kernel id
        {"address": "192.0.2.1", "flags": ["subflow", "backup"]},  # set_flags
        {"address": "192.0.2.2", "flags": ["signal"]},             # delete + add (same id)
        {"address": "192.0.2.8", "id": 30, "flags": ["subflow"]},  # new, fixed id
    ], state="overridden")
    assert [(v, e["address"], e["id"]) for v, e in actions] == [
        ("delete", "192.0.2.3", 3), ("delete", "192.0.2.4", 4), ("delete", "192.0.2.2", 2),
        ("set_flags", "192.0.2.1", 1),
        ("add", "192.0.2.2", 2), ("add", "192.0.2.8", 30), ("add", "192.0.2.9", None)]


# ---------------------------------------------------------------- plan: merged


def test_merged_keeps_unspecified_flags_and_dev():
    current = [kep(1, "192.0.2.10", ["signal", "backup"], dev="eth0")]
    actions, after = run(current, [{"address": "192.0.2.10"}], "merged")
    assert actions == []
    assert after == [{"id": 1, "address": "192.0.2.10", "port": None, "dev": "eth0", "flags": ["backup", "signal"]}]


def test_merged_given_flags_replace_the_flag_list():
    current = [kep(1, "192.0.2.10", ["signal", "backup"], dev="eth0")]
    actions, after = run(current, [{"address": "192.0.2.10", "flags": ["signal"]}], "merged")
    assert actions == [("set_flags", {"id": 1, "address": "192.0.2.10", "port": None, "dev": "eth0",
                                      "flags": ["signal"], "index": 0})]
    assert after[0]["flags"] == ["signal"] and after[0]["dev"] == "eth0"


def test_merged_leaves_other_endpoints_alone():
    current = [kep(1, "192.0.2.1"), kep(2, "192.0.2.2", ["signal"])]
    actions, after = run(current, [{"address": "192.0.2.3", "flags": ["subflow"]}], "merged")
    assert verbs(actions) == [("add", "192.0.2.3")]
    assert [e["address"] for e in after] == ["192.0.2.1", "192.0.2.2", "192.0.2.3"]


def test_merged_empty_flags_clear_them_with_delete_and_add():
    current = [kep(4, "192.0.2.1", ["signal"])]
    actions, dummy = run(current, [{"address": "192.0.2.1", "flags": []}], "merged")
    assert [(v, e["id"], e["flags"]) for v, e in actions] == [("delete", 4, ["signal"]), ("add", 4, [])]


# ---------------------------------------------------------------- plan: replaced, overridden


def test_replaced_resets_unspecified_flags_and_dev():
    current = [kep(1, "192.0.2.10", ["signal", "backup"], dev="eth0"), kep(2, "192.0.2.2")]
    actions, after = run(current, [{"address": "192.0.2.10"}], "replaced")
    assert actions == [
        ("delete", {"id": 1, "address": "192.0.2.10", "port": None, "dev": "eth0", "flags": ["backup", "signal"]}),
        ("add", {"id": 1, "address": "192.0.2.10", "port": None, "dev": None, "flags": [], "index": 0}),
    ]
    assert [(e["id"], e["address"], e["flags"]) for e in after] == [(1, "192.0.2.10", []), (2, "192.0.2.2", ["subflow"])]


def test_overridden_deletes_every_other_managed_endpoint():
    current = [kep(1, "192.0.2.1"), kep(2, "192.0.2.2"), kep(3, "192.0.2.3", ["implicit"])]
    actions, after = run(current, [{"address": "192.0.2.2", "flags": ["subflow"]}], "overridden")
    assert verbs(actions) == [("delete", "192.0.2.1")]
    assert [(e["id"], e["address"]) for e in after] == [(2, "192.0.2.2"), (3, "192.0.2.3")]


def test_overridden_with_nothing_deletes_all_but_implicit():
    current = [kep(1, "192.0.2.1"), kep(2, "192.0.2.2", ["implicit"]), kep(3, "192.0.2.3", ["signal"])]
    actions, after = run(current, [], "overridden")
    assert verbs(actions) == [("delete", "192.0.2.1"), ("delete", "192.0.2.3")]
    assert after == [{"id": 2, "address": "192.0.2.2", "port": None, "dev": None, "flags": ["implicit"]}]


# ---------------------------------------------------------------- plan: deleted


CURRENT = [
    kep(1, "192.0.2.10", ["signal"], dev="eth0"),
    kep(2, "198.51.100.10", ["subflow"]),           # eth1's address, not bound to it
    kep(3, "203.0.113.1", ["subflow"], dev="eth1"),  # bound to eth1, another address
    kep(4, "192.0.2.50", ["signal"], port=8080),
    kep(5, "192.0.2.60", ["implicit"]),
]


def test_deleted_without_config_deletes_every_managed_endpoint():
    actions, after = run(CURRENT, [], "deleted")
    assert [e["id"] for v, e in actions if v == "delete"] == [1, 2, 3, 4]
    assert len(actions) == 4
    assert [e["id"] for e in after] == [5]


def test_deleted_by_address():
    actions, after = run(CURRENT, [{"address": "192.0.2.10"}], "deleted")
    assert actions == [("delete", {"id": 1, "address": "192.0.2.10", "port": None, "dev": "eth0", "flags": ["signal"]})]
    assert [e["id"] for e in after] == [2, 3, 4, 5]


def test_deleted_by_address_compares_the_id_only_when_given():
    assert run(CURRENT, [{"address": "192.0.2.10", "id": 9}], "deleted")[0] == []
    assert verbs(run(CURRENT, [{"address": "192.0.2.10", "id": 1}], "deleted")[0]) == [("delete", "192.0.2.10")]


def test_deleted_by_address_and_port():
    assert run(CURRENT, [{"address": "192.0.2.50"}], "deleted")[0] == []
    actions, dummy = run(CURRENT, [{"address": "192.0.2.50", "port": 8080}], "deleted")
    assert [e["id"] for v, e in actions] == [4]


def test_deleted_by_id_only():
    actions, dummy = run(CURRENT, [{"id": 3}, {"id": 77}], "deleted")
    assert [(v, e["id"]) for v, e in actions] == [("delete", 3)]


def test_deleted_by_dev_takes_bound_endpoints_and_the_devs_addresses():
    actions, after = run(CURRENT, [{"dev": "eth1"}], "deleted")
    assert sorted(e["id"] for v, e in actions) == [2, 3]
    assert [e["id"] for e in after] == [1, 4, 5]


def test_deleted_by_missing_dev_matches_endpoints_bound_to_that_name():
    current = [kep(6, "192.0.2.70", dev="gone0"), kep(7, "192.0.2.71")]
    actions, dummy = run(current, [{"dev": "gone0"}], "deleted")
    assert [e["id"] for v, e in actions] == [6]


def test_deleted_never_touches_implicit_endpoints():
    assert run(CURRENT, [{"address": "192.0.2.60"}, {"id": 5}], "deleted")[0] == []


def test_deleted_is_idempotent():
    actions, after = run(CURRENT, [{"dev": "eth1"}, {"id": 1}], "deleted")
    assert len(actions) == 3
    again, after2 = run(after, [{"dev": "eth1"}, {"id": 1}], "deleted")
    assert again == [] and after2 == after


def test_deleted_by_address_with_a_vanished_dev():
    current = [kep(6, "192.0.2.70", ["signal"], dev="if42"), kep(7, "192.0.2.71")]
    actions, dummy = run(current, [{"address": "192.0.2.70", "dev": "eth9"}], "deleted")
    assert [(v, e["id"]) for v, e in actions] == [("delete", 6)]


def test_deleted_with_a_config_never_deletes_unnamed_endpoints():
    actions, after = run(CURRENT, [{"address": "192.0.2.99", "dev": "eth9"}], "deleted")
    assert actions == []


def test_deleted_by_dev_and_id_compares_the_id():
    current = [kep(5, "198.51.100.10", dev="eth1"), kep(6, "203.0.113.1", dev="eth1")]
    actions, dummy = run(current, [{"dev": "eth1", "id": 5}], "deleted")
    assert [(v, e["id"]) for v, e in actions] == [("delete", 5)]


# ---------------------------------------------------------------- plan: in place or delete + add


@pytest.mark.parametrize("before, wanted, expected", [
    (["subflow"], ["subflow", "backup"], "ip mptcp endpoint change id 3 backup nofullmesh"),
    (["subflow", "backup"], ["subflow"], "ip mptcp endpoint change id 3 nobackup nofullmesh"),
    (["subflow"], ["subflow", "fullmesh"], "ip mptcp endpoint change id 3 nobackup fullmesh"),
    (["subflow", "fullmesh"], ["subflow", "backup"], "ip mptcp endpoint change id 3 backup nofullmesh"),
])
def test_backup_and_fullmesh_change_in_place(before, wanted, expected):
    current = [kep(3, "192.0.2.1", before, dev="eth0")]
    actions, after = run(current, [{"address": "192.0.2.1", "flags": wanted}], "merged")
    assert [v for v, e in actions] == ["set_flags"]
    assert actions[0][1]["id"] == 3 and actions[0][1]["dev"] == "eth0"
    assert ep.render_action(actions[0]) == expected
    assert after[0]["flags"] == sorted(wanted)


@pytest.mark.parametrize("change", [
    {"flags": ["signal"]},                          # subflow -> signal
    {"flags": ["subflow", "laminar"]},              # laminar is not settable
    {"flags": ["subflow", "backup", "signal"]},     # backup and signal: not only settable bits
    {"dev": "eth3", "flags": ["subflow"]},          # dev changes
    {"id": 8, "flags": ["subflow"]},                # a given id differs
])
def test_other_changes_are_delete_then_add(change):
    current = [kep(3, "192.0.2.1", ["subflow"], dev="eth0")]
    config = [dict({"address": "192.0.2.1"}, **change)]
    actions, after = run(current, config, "replaced" if "dev" not in change else "merged")
    assert [(v, e["address"]) for v, e in actions] == [("delete", "192.0.2.1"), ("add", "192.0.2.1")]
    assert actions[0][1]["id"] == 3
    assert actions[1][1]["id"] == change.get("id", 3)
    assert actions[1][1]["flags"] == sorted(change["flags"])


def test_id_is_compared_only_when_given():
    current = [kep(7, "192.0.2.1", ["subflow"])]
    assert run(current, [{"address": "192.0.2.1", "flags": ["subflow"]}], "replaced")[0] == []
    assert run(current, [{"address": "192.0.2.1", "id": 7, "flags": ["subflow"]}], "overridden")[0] == []


def test_id_conflict_with_a_kept_endpoint_is_an_error():
    current = [kep(1, "192.0.2.1"), kep(2, "192.0.2.2")]
    with pytest.raises(EndpointError) as excinfo:
        run(current, [{"address": "192.0.2.3", "id": 2, "flags": ["subflow"]}], "merged")
    assert problems_of(excinfo) == ["config[0].id: id 2 is already used by endpoint 192.0.2.2, which this state keeps"]


def test_id_conflict_with_an_implicit_endpoint_is_an_error():
    current = [kep(4, "192.0.2.4", ["implicit"])]
    with pytest.raises(EndpointError, match=r"^config\[0\]\.id: id 4 is already used by endpoint 192\.0\.2\.4"):
        run(current, [{"address": "192.0.2.3", "id": 4}], "overridden")


def test_id_of_an_endpoint_that_overridden_deletes_can_be_reused():
    current = [kep(1, "192.0.2.1"), kep(2, "192.0.2.2")]
    actions, after = run(current, [{"address": "192.0.2.3", "id": 2, "flags": ["subflow"]}], "overridden")
    assert [(v, e["id"]) for v, e in actions] == [("delete", 1), ("delete", 2), ("add", 2)]
    assert [(e["id"], e["address"]) for e in after] == [(2, "192.0.2.3")]


def test_ids_can_be_swapped_by_overridden():
    current = [kep(1, "192.0.2.1"), kep(2, "192.0.2.2")]
    actions, dummy = run(current, [{"address": "192.0.2.1", "id": 2, "flags": ["subflow"]},
                                   {"address": "192.0.2.2", "id": 1, "flags": ["subflow"]}], "overridden")
    assert [(v, e["address"], e["id"]) for v, e in actions] == [
        ("delete", "192.0.2.1", 1), ("delete", "192.0.2.2", 2), ("add", "192.0.2.1", 2), ("add", "192.0.2.2", 1)]


# ---------------------------------------------------------------- plan: the 8-endpoint limit


def many(count, start=1):
    return [{"address": "192.0.2.%d" % (start + i), "flags": ["subflow"]} for i in range(count)]


def test_eight_endpoints_are_allowed():
    actions, after = run([], many(8))
    assert len(actions) == 8 and len(after) == 8


def test_more_than_eight_endpoints_is_an_error():
    with pytest.raises(EndpointError) as excinfo:
        run([], many(9))
    assert problems_of(excinfo) == [
        "config: the result would have 9 endpoints; the kernel allows at most 8 per network namespace"]


def test_kept_endpoints_count_toward_eight_with_merged():
    current = [kep(i + 1, "198.51.100.%d" % (i + 1)) for i in range(5)]
    with pytest.raises(EndpointError, match="would have 9 endpoints"):
        run(current, many(4), "merged")
    assert len(run(current, many(4), "overridden")[0]) == 9  # 5 deletions, then 4 additions


def test_implicit_endpoints_count_toward_eight():
    current = [kep(20, "198.51.100.1", ["implicit"]), kep(21, "198.51.100.2", ["implicit"])]
    with pytest.raises(EndpointError, match="would have 9 endpoints"):
        run(current, many(7), "overridden")
    actions, after = run(current, many(6), "overridden")
    assert len(actions) == 6 and len(after) == 8
    assert all(e["address"] not in ("198.51.100.1", "198.51.100.2") for v, e in actions)


def test_endpoint_replacing_an_implicit_one_is_predicted_once():
    current = [kep(9, "192.0.2.8", ["implicit"])]
    actions, after = run(current, [{"address": "192.0.2.8", "flags": ["subflow"]}], "merged")
    assert verbs(actions) == [("add", "192.0.2.8")]
    assert [(e["address"], e["flags"]) for e in after] == [("192.0.2.8", ["subflow"])]


# ---------------------------------------------------------------- idempotence


IDEMPOTENCE_CONFIG = [
    {"address": "192.0.2.1", "flags": ["signal"], "port": 8080},
    {"address": "192.0.2.2", "id": 40, "flags": ["subflow", "backup"]},
    {"dev": "eth0", "flags": ["subflow", "fullmesh"]},
    {"dev": "eth1", "id": 12, "flags": ["signal", "laminar"]},
]


@pytest.mark.parametrize("state", ["merged", "replaced", "overridden"])
def test_second_plan_on_the_result_has_no_action(state):
    current = [kep(1, "192.0.2.2", ["signal"]), kep(2, "192.0.2.10", ["subflow"]),
               kep(3, "203.0.113.99"), kep(4, "203.0.113.98", ["implicit"])]
    actions, after = run(current, IDEMPOTENCE_CONFIG, state)
    assert actions  # something to do the first time
    kernel = kernelize(after)
    again, after2 = run(kernel, IDEMPOTENCE_CONFIG, state)
    assert again == []
    assert after2 == kernel


def test_plan_with_the_same_state_again_keeps_kernel_ids():
    actions, after = run([], IDEMPOTENCE_CONFIG, "overridden")
    assert [e["id"] for e in after] == [12, 40, None, None, None]
    assert [e["id"] for e in kernelize(after)] == [1, 2, 3, 12, 40]


# ---------------------------------------------------------------- verify


def test_verify_reports_a_flag_the_kernel_dropped():
    expected = [{"id": None, "address": "192.0.2.1", "port": None, "dev": None, "flags": ["laminar", "subflow"]}]
    after = [kep(1, "192.0.2.1", ["subflow"])]
    assert ep.verify(after, expected) == [
        "endpoint 192.0.2.1: the kernel dropped flag 'laminar'; this kernel does not support it (added in Linux 6.18)"]


def test_verify_reports_a_missing_endpoint_and_fullmesh_version():
    expected = [{"address": "192.0.2.1", "port": 8080, "flags": ["signal"]},
                {"address": "192.0.2.2", "port": None, "flags": ["fullmesh", "subflow"]}]
    after = [kep(1, "192.0.2.1", ["signal"]), kep(2, "192.0.2.2", ["subflow"])]
    assert ep.verify(after, expected) == [
        "endpoint 192.0.2.1 port 8080 is missing after it was added",
        "endpoint 192.0.2.2: the kernel dropped flag 'fullmesh'; this kernel does not support it (added in Linux 5.18)",
    ]


def test_verify_accepts_what_was_asked():
    config = [{"address": "192.0.2.1", "flags": ["subflow", "backup"]},
              {"address": "192.0.2.2", "flags": ["signal", "laminar"]}]
    actions, after = run([kep(1, "192.0.2.1")], config)
    assert [v for v, e in actions] == ["set_flags", "add"]
    assert ep.verify(kernelize(after), [a[1] for a in actions if a[0] != "delete"]) == []


# ---------------------------------------------------------------- renderings


def test_render_action_add_with_every_field():
    endpoint = {"id": 5, "address": "2001:db8::1", "port": 8080, "dev": "eth0", "flags": ["backup", "signal"]}
    assert ep.render_action(("add", endpoint)) == "ip mptcp endpoint add 2001:db8::1 port 8080 dev eth0 id 5 backup signal"


def test_render_action_add_minimal():
    endpoint = {"id": None, "address": "192.0.2.1", "port": None, "dev": None, "flags": []}
    assert ep.render_action(("add", endpoint)) == "ip mptcp endpoint add 192.0.2.1"


def test_render_action_delete():
    endpoint = {"id": 3, "address": "192.0.2.1", "port": 80, "dev": None, "flags": ["signal"]}
    assert ep.render_action(("delete", endpoint)) == "ip mptcp endpoint delete id 3 192.0.2.1"


def test_commands_for_a_plan():
    current = [kep(1, "192.0.2.1", ["subflow"]), kep(2, "192.0.2.2", ["subflow"], dev="eth3")]
    actions, dummy = run(current, [{"address": "192.0.2.2", "dev": "eth3", "flags": ["subflow", "backup"]},
                                   {"address": "192.0.2.3", "dev": "eth3", "flags": ["subflow"]},
                                   {"address": "192.0.2.4", "id": 9, "port": 443, "flags": ["signal"]}], "overridden")
    assert [ep.render_action(a) for a in actions] == [
        "ip mptcp endpoint delete id 1 192.0.2.1",
        "ip mptcp endpoint change id 2 backup nofullmesh",
        "ip mptcp endpoint add 192.0.2.4 port 443 id 9 signal",
        "ip mptcp endpoint add 192.0.2.3 dev eth3 subflow",
    ]


def test_render_batch_fixed_ids_first():
    endpoints = [
        {"id": None, "address": "192.0.2.1", "port": None, "dev": "eth0", "flags": ["subflow"]},
        {"id": 7, "address": "192.0.2.2", "port": 8080, "dev": None, "flags": ["signal"]},
    ]
    assert ep.render_batch(endpoints) == (
        "mptcp endpoint add 192.0.2.2 port 8080 id 7 signal\n"
        "mptcp endpoint add 192.0.2.1 dev eth0 subflow\n")
    assert ep.render_batch([]) == ""


def test_rendered_state_as_the_module_drives_it():
    """state=rendered: validate, plan against an empty namespace, render (no host read)."""
    entries = ep.validate([{"address": "192.0.2.1", "flags": ["subflow", "backup"]},
                           {"address": "2001:db8::2", "id": 2, "port": 9000, "flags": ["signal"]}], "rendered")
    endpoints = ep.render(entries)
    assert ep.render_batch(endpoints) == (
        "mptcp endpoint add 2001:db8::2 port 9000 id 2 signal\n"
        "mptcp endpoint add 192.0.2.1 backup subflow\n")
    # the network resource convention: a list of commands, the same words after "ip"
    assert ep.render_commands(endpoints) == [
        "ip mptcp endpoint add 2001:db8::2 port 9000 id 2 signal",
        "ip mptcp endpoint add 192.0.2.1 backup subflow",
    ]
    assert ep.render_commands([]) == [] and ep.render_batch([]) == ""


def test_rendered_needs_an_address_in_every_entry():
    entries = ep.validate([GOOD, {"dev": "eth0", "flags": ["subflow"]}, {"dev": "eth1"}], "rendered")
    with pytest.raises(EndpointError) as excinfo:
        ep.render(entries)
    assert problems_of(excinfo) == [
        "config[1], config[2]: rendered needs an address in every entry; a dev-only entry depends on the "
        "host's addresses (use gathered on the host first)"]


def test_rendered_refuses_an_endpoint_given_twice():
    """Without this check the second entry would silently replace the first."""
    entries = ep.validate([{"address": "192.0.2.1", "flags": ["subflow"]},
                           {"address": "192.0.2.1", "port": 80, "flags": ["signal"]},
                           {"address": "192.0.2.1", "id": 4, "flags": ["signal"]}], "rendered")
    with pytest.raises(EndpointError) as excinfo:
        ep.render(entries)
    assert problems_of(excinfo) == ["config[2]: endpoint 192.0.2.1 is also given by config[0]"]


def test_gathered_leaves_out_unset_keys_but_keeps_flags():
    before = [kep(1, "192.0.2.1", ["signal"], port=8080, dev="eth0"), kep(2, "192.0.2.2", []),
              kep(3, "192.0.2.3", ["implicit"])]
    assert ep.gathered(before) == [
        {"id": 1, "address": "192.0.2.1", "port": 8080, "dev": "eth0", "flags": ["signal"]},
        {"id": 2, "address": "192.0.2.2", "flags": []},
        {"id": 3, "address": "192.0.2.3", "flags": ["implicit"]},
    ]


def test_gathered_round_trips_through_rendered():
    """gathered output (minus implicit) is valid config for rendered."""
    before = [kep(1, "192.0.2.1", ["signal"], port=8080), kep(2, "192.0.2.2", ["subflow", "backup"])]
    config = ep.gathered(before)
    entries = ep.validate(config, "rendered")
    actions, dummy = ep.plan([], entries, "overridden")
    assert ep.render_batch([a[1] for a in actions]) == (
        "mptcp endpoint add 192.0.2.1 port 8080 id 1 signal\n"
        "mptcp endpoint add 192.0.2.2 id 2 backup subflow\n")


def test_public_shape():
    assert ep.public({"address": "192.0.2.1", "port": 0, "flags": None, "ifindex": 3, "index": 1}) == {
        "id": None, "address": "192.0.2.1", "port": None, "dev": None, "flags": []}


def test_flags_agree_with_the_netlink_client():
    assert set(ep.FLAGS) == set(name for name, bit in _netlink.FLAG_BITS) - {"implicit"}


# ---------------------------------------------------------------- addresses MPTCP cannot use


@pytest.mark.parametrize("address, reason", [
    ("::ffff:192.0.2.10", "an IPv4-mapped IPv6 address, which the kernel does not use as an IPv4 endpoint; "
                          "write the IPv4 address 192.0.2.10"),
    ("127.0.0.1", "a loopback address, which no peer can reach"),
    ("127.3.2.1", "a loopback address"),
    ("::1", "a loopback address"),
    ("255.255.255.255", "the limited broadcast address"),
    ("0.1.2.3", "in 0.0.0.0/8 (this host on this network)"),
    ("240.0.0.1", "in a reserved range (240.0.0.0/4)"),
    ("::2", "in a reserved range (reserved by the IETF)"),
    ("fe80::10", "an IPv6 link-local address, which needs a scope: give the interface as dev"),
])
def test_addresses_mptcp_cannot_use_are_refused(address, reason):
    with pytest.raises(EndpointError) as excinfo:
        ep.validate([GOOD, {"address": address, "flags": ["signal"]}], "merged")
    assert len(problems_of(excinfo)) == 1
    assert problems_of(excinfo)[0].startswith("config[1].address: %r is %s" % (address, reason))


@pytest.mark.parametrize("state", ["merged", "replaced", "overridden", "rendered"])
def test_addresses_are_checked_for_every_state_that_makes_endpoints(state):
    with pytest.raises(EndpointError, match=r"^config\[0\]\.address: '127\.0\.0\.1' is a loopback address"):
        ep.validate([{"address": "127.0.0.1", "flags": ["signal"]}], state)


def test_deleted_may_name_any_endpoint_the_kernel_holds():
    """ip mptcp accepts such addresses; deleted must be able to remove them."""
    entries = ep.validate([{"address": "127.0.0.1"}, {"address": "::ffff:192.0.2.10"}, {"address": "fe80::1"}], "deleted")
    assert [e["address"] for e in entries] == ["127.0.0.1", "::ffff:c000:20a", "fe80::1"]


def test_link_local_ipv6_with_the_dev_that_holds_it():
    entries = entries_for([{"address": "fe80::10", "dev": "eth0", "flags": ["subflow"]}])
    assert [(e["address"], e["dev"]) for e in entries] == [("fe80::10", "eth0")]


def test_link_local_ipv4_needs_no_scope():
    assert ep.validate([{"address": "169.254.1.1", "flags": ["subflow"]}], "merged")[0]["address"] == "169.254.1.1"


def test_an_address_not_on_the_host_is_fine_without_a_port():
    """An endpoint may wait for its address (DHCP, an interface that comes later)."""
    assert [e["address"] for e in entries_for([{"address": "203.0.113.200", "flags": ["subflow"]}])] == ["203.0.113.200"]


def test_a_dev_must_hold_the_address_given_with_it():
    with pytest.raises(EndpointError) as excinfo:
        entries_for([{"address": "192.0.2.10", "dev": "eth1", "flags": ["subflow"]},
                     {"address": "192.0.2.99", "dev": "dummy0", "flags": ["subflow"]}])
    assert problems_of(excinfo) == [
        "config[0].dev: interface 'eth1' does not hold 192.0.2.10 (its addresses: 198.51.100.10); bind the "
        "endpoint to the interface that has the address (eth0), or leave dev out",
        "config[1].dev: interface 'dummy0' does not hold 192.0.2.99 (it has no address); bind the endpoint to "
        "the interface that has the address, or leave dev out",
    ]


def test_a_port_needs_an_address_of_this_host():
    with pytest.raises(EndpointError) as excinfo:
        entries_for([{"address": "203.0.113.5", "port": 9000, "flags": ["signal"]}])
    assert problems_of(excinfo) == [
        "config[0].address: 203.0.113.5 is not an address of this host; an endpoint with a port needs one, "
        "because the kernel listens on that address and port"]
    # an address whose duplicate address detection failed cannot be listened on either
    with pytest.raises(EndpointError, match=r"^config\[0\]\.address: 2001:db8:2::5 is not an address of this host"):
        entries_for([{"address": "2001:db8:2::5", "port": 9000, "flags": ["signal"]}])


def test_host_checks_do_not_apply_to_deleted():
    entries = entries_for([{"address": "203.0.113.5", "port": 9000}, {"address": "192.0.2.10", "dev": "eth1"}], "deleted")
    assert [e["address"] for e in entries] == ["203.0.113.5", "192.0.2.10"]


def test_a_port_endpoint_takes_signal_without_subflow():
    entries = ep.validate([GOOD, {"address": "192.0.2.2", "port": 8080, "flags": ["signal", "subflow"]}], "merged")
    with pytest.raises(EndpointError) as excinfo:
        ep.plan([], entries_for([GOOD, {"address": "192.0.2.2", "port": 8080, "flags": ["signal", "subflow"]}]), "merged")
    assert problems_of(excinfo) == [
        "config[1].port: an endpoint with a port takes signal without subflow "
        "(the kernel listens on the port; it opens no subflow from it)"]
    assert entries[1]["flags"] == ["signal", "subflow"]  # validate() alone cannot tell: merged may inherit flags


def test_a_port_endpoint_may_be_a_backup():
    actions, dummy = run([], [{"address": "192.0.2.2", "port": 8080, "flags": ["signal", "backup"]}])
    assert verbs(actions) == [("add", "192.0.2.2")]


# ---------------------------------------------------------------- names, full matches only


@pytest.mark.parametrize("name", ["lan0\n", "lan0\r", "\nlan0", "lan 0", "lan0\t", ".", "..", u"\u00e9" * 8, "a" * 16])
def test_interface_names_are_checked_whole(name):
    assert not ep.valid_ifname(name)
    with pytest.raises(EndpointError, match=r"^config\[0\]\.dev: .* is not a valid interface name"):
        ep.validate([{"dev": name}], "merged")


@pytest.mark.parametrize("name", ["lan0", "a" * 15, "br#1", "v'1", 'v"1', "..x", u"\u00e9" * 7])
def test_interface_names_linux_accepts(name):
    assert ep.valid_ifname(name)


@pytest.mark.parametrize("state", ["rendered", "merged"])
def test_a_trailing_newline_in_dev_is_refused_before_rendering(state):
    with pytest.raises(EndpointError, match=r"^config\[0\]\.dev: 'lan0\\n' is not a valid interface name"):
        ep.validate([{"address": "192.0.2.1", "dev": "lan0\n", "flags": ["signal"]}], state)


def rendered(config):
    return ep.render_batch(ep.render(ep.validate(config, "rendered")))


@pytest.mark.parametrize("dev, reason", [
    ("br#1", "contains '#', which ip -batch reads as the start of a comment, even in quotes"),
    ("'a\"b", "contains both quote characters and needs quoting, which ip -batch cannot express"),
])
def test_rendered_refuses_a_dev_that_ip_batch_cannot_hold(dev, reason):
    with pytest.raises(EndpointError) as excinfo:
        rendered([GOOD, {"address": "192.0.2.2", "dev": dev, "flags": ["subflow"]}])
    assert problems_of(excinfo) == ["config[1].dev: %r cannot be written to an ip -batch file: %s" % (dev, reason)]


@pytest.mark.parametrize("dev", ["v'1", 'v"1', "'lead", '"lead', "a'b\"c"])
def test_rendered_quotes_a_dev_and_reads_back_the_same(dev):
    config = [{"address": "192.0.2.2", "dev": dev, "id": 3, "flags": ["subflow"]}]
    words = ["mptcp", "endpoint", "add", "192.0.2.2", "dev", dev, "id", "3", "subflow"]
    assert _quote.ip_batch_split(rendered(config).rstrip("\n")) == words
    commands = ep.render_commands(ep.render(ep.validate(config, "rendered")))
    assert [_quote.ip_batch_split(c) for c in commands] == [["ip"] + words]


def test_rendered_commands_refuse_what_the_batch_refuses():
    with pytest.raises(EndpointError, match=r"^config\[0\]\.dev: 'br#1' cannot be written to an ip -batch file"):
        ep.render_commands(ep.render(ep.validate([{"address": "192.0.2.2", "dev": "br#1", "flags": ["subflow"]}], "rendered")))


# ---------------------------------------------------------------- after a failure: differences, undo, outcome


def pub(id, address, flags=("subflow",), port=None, dev=None):
    return ep.public(kep(id, address, flags, port=port, dev=dev))


def test_differences_field_by_field():
    expected = [pub(1, "192.0.2.1", ["signal"], dev="eth0"), pub(2, "192.0.2.2"), pub(3, "192.0.2.3", port=80),
                pub(None, "192.0.2.4"), pub(5, "192.0.2.5", ["implicit"])]
    actual = [pub(1, "192.0.2.1", ["signal"]), pub(7, "192.0.2.2", ["subflow", "backup"]), pub(9, "192.0.2.4"),
              pub(8, "192.0.2.9", ["signal"], port=8080, dev="eth1")]
    assert ep.differences(expected, actual) == [
        "endpoint 192.0.2.1 has dev none instead of eth0",
        "endpoint 192.0.2.2 has id 7 instead of 2, flags [backup, subflow] instead of [subflow]",
        "endpoint 192.0.2.3 port 80 id 3 (subflow; no dev) is missing",
        "endpoint 192.0.2.9 port 8080 id 8 (signal; dev eth1) is there and should not be",
    ]
    assert ep.differences(expected, expected) == []


def test_undo_takes_back_only_what_was_done_newest_first():
    before = [kep(1, "192.0.2.1", ["signal"], dev="if42"), kep(2, "192.0.2.2"), kep(3, "192.0.2.3", ["subflow", "backup"]),
              kep(4, "192.0.2.4")]
    done = [("delete", pub(1, "192.0.2.1", ["signal"], dev="if42")),
            ("delete", pub(2, "192.0.2.2")),
            ("set_flags", pub(3, "192.0.2.3")),
            ("add", pub(None, "192.0.2.9")),
            ("add", pub(2, "192.0.2.2", ["signal"]))]
    current = [kep(2, "192.0.2.2", ["signal"]), kep(3, "192.0.2.3"), kep(4, "192.0.2.4"), kep(5, "192.0.2.9")]
    assert [ep.render_action(a) for a in ep.undo(done, before, current)] == [
        "ip mptcp endpoint delete id 2 192.0.2.2",
        "ip mptcp endpoint delete id 5 192.0.2.9",
        "ip mptcp endpoint change id 3 backup nofullmesh",
        "ip mptcp endpoint add 192.0.2.2 id 2 subflow",
        "ip mptcp endpoint add 192.0.2.1 dev if42 id 1 signal",  # the stale binding as it was
    ]
    assert ep.undo([], before, current) == []


def test_undo_of_an_add_the_kernel_does_not_show_is_nothing():
    assert ep.undo([("add", pub(None, "192.0.2.9"))], [], []) == []


class Refused(object):
    def __init__(self, action, reason):
        self.action, self.reason = action, reason


def test_failure_outcome_says_exactly_one_thing():
    before = [kep(1, "192.0.2.1", ["signal"], dev="if42")]
    assert ep.failure_outcome([], [], before, before) == (
        "Nothing was changed: the kernel refused the first command; the endpoints read back as before.")
    done = [("delete", pub(1, "192.0.2.1", ["signal"], dev="if42"))]
    assert ep.failure_outcome(done, [], before, before) == (
        "The previous endpoints were restored: the 1 accepted command(s) were undone and the endpoints read back as before.")
    after = [kep(1, "192.0.2.1", ["signal"])]
    refused = [Refused(("add", pub(1, "192.0.2.1", ["signal"], dev="if42")), "No such device")]
    assert ep.failure_outcome(done, refused, before, after) == (
        "The endpoints now differ from before after the attempt to undo the 1 accepted command(s): endpoint "
        "192.0.2.1 has dev none instead of if42. The kernel refused to undo: ip mptcp endpoint add 192.0.2.1 "
        "dev if42 id 1 signal (No such device).")
    assert ep.failure_outcome([], [], before, []) == (
        "The endpoints now differ from before: endpoint 192.0.2.1 id 1 (signal; dev if42) is missing.")
