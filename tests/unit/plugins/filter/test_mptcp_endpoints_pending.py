# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller's plan of the endpoints: "planned" only when the module's
own planning ran with every input there and found no problem; false
"pending" only when that plan has nothing to do."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

import pytest

from ansible_collections.mptcp.linux.plugins.filter.mptcp_endpoints_pending import mptcp_endpoints_pending


def addr(address, scope=0, dadfailed=False):
    v6 = ":" in address
    return {"address": address, "prefixlen": 64 if v6 else 24, "scope": scope,
            "family": "ipv6" if v6 else "ipv4", "dadfailed": dadfailed}


# mptcp_info with interfaces: true on a converged client: lan0 has an IPv4
# and an IPv6 address (and a link-local one), lan1 one IPv4 address.
INTERFACES = {
    "lo": {"index": 1, "addresses": [addr("127.0.0.1", scope=254), addr("::1", scope=254)]},
    "lan0": {"index": 2, "addresses": [addr("192.0.2.10"), addr("2001:db8::10"), addr("fe80::10", scope=253)]},
    "lan1": {"index": 3, "addresses": [addr("198.51.100.11")]},
}
ENDPOINTS = [
    {"id": 1, "address": "192.0.2.10", "port": None, "dev": "lan0", "flags": ["subflow"]},
    {"id": 2, "address": "2001:db8::10", "port": None, "dev": "lan0", "flags": ["subflow"]},
    {"id": 3, "address": "198.51.100.11", "port": None, "dev": "lan1", "flags": ["subflow"]},
]
# A read as the registered result of mptcp_info, through JSON as Ansible hands it over.
INFO = json.loads(json.dumps({"changed": False, "endpoints": ENDPOINTS, "limits": {"subflows": 2, "add_addr_accepted": 2},
                              "interfaces": INTERFACES, "kernel": "6.18.0"}))
CONFIG = [{"dev": "lan0", "flags": ["subflow"], "family": "all"}, {"dev": "lan1", "flags": ["subflow"], "family": "all"}]


def read(**changes):
    info = copy.deepcopy(INFO)
    info.update(changes)
    return info


def test_a_converged_host_has_nothing_pending_and_the_plan_is_the_kernels_endpoints():
    result = mptcp_endpoints_pending(CONFIG, INFO, "overridden")
    assert result == {"pending": False, "planned": True, "reason": "", "commands": [], "after": ENDPOINTS}


def test_a_dev_entry_expands_to_every_usable_address_the_kernel_holds():
    # lan0 alone: both its global addresses, not the link-local one; the
    # endpoint of lan1 is not the config's, and overridden deletes it.
    result = mptcp_endpoints_pending(CONFIG[:1], INFO, "overridden")
    assert result["pending"] is True
    assert result["commands"] == ["ip mptcp endpoint delete id 3 198.51.100.11"]
    assert [e["address"] for e in result["after"]] == ["192.0.2.10", "2001:db8::10"]
    # merged keeps lan1's: nothing to do
    assert mptcp_endpoints_pending(CONFIG[:1], INFO, "merged")["pending"] is False
    # ipv4 only: the IPv6 endpoint goes
    ipv4 = [dict(CONFIG[0], family="ipv4"), CONFIG[1]]
    assert mptcp_endpoints_pending(ipv4, INFO, "overridden")["commands"] == ["ip mptcp endpoint delete id 2 2001:db8::10"]


def test_one_pending_change_is_named():
    drifted = read(endpoints=[e for e in ENDPOINTS if e["id"] != 3])
    result = mptcp_endpoints_pending(CONFIG, drifted, "overridden")
    assert result["pending"] is True and result["planned"] is True
    assert result["after"] == [e for e in ENDPOINTS if e["id"] != 3] + [
        {"id": None, "address": "198.51.100.11", "port": None, "dev": "lan1", "flags": ["subflow"]}]
    assert result["commands"] == ["ip mptcp endpoint add 198.51.100.11 dev lan1 subflow"]
    assert "198.51.100.11" in result["reason"]


def test_a_flag_change_is_pending():
    config = [CONFIG[0], dict(CONFIG[1], flags=["subflow", "backup"])]
    result = mptcp_endpoints_pending(config, INFO, "overridden")
    assert result["commands"] == ["ip mptcp endpoint change id 3 backup nofullmesh"]


def test_a_stale_dev_binding_is_pending():
    stale = read(endpoints=ENDPOINTS[:2] + [dict(ENDPOINTS[2], dev="if9")])
    assert mptcp_endpoints_pending(CONFIG, stale, "overridden")["pending"] is True


@pytest.mark.parametrize("config, state, empty, message", [
    ([{"dev": "nosuch0", "flags": ["subflow"]}], "overridden", "fail", "config[0].dev: interface 'nosuch0' does not exist"),
    ([{"address": "192.0.2.10", "flags": ["signal", "fullmesh"]}], "merged", "fail", "fullmesh cannot be combined with signal"),
    ([{"address": "192.0.2.10", "id": 300}], "merged", "fail", "config[0].id: 300 is out of range"),
    ([{"address": "192.0.2.10", "weight": 3}], "merged", "fail", "config.weight"),
    ([{"address": "192.0.2.10", "flags": ["turbo"]}], "merged", "fail", "turbo"),
    ([{"address": "192.0.2.10", "id": "three"}], "merged", "fail", "three"),
    ([{"address": "203.0.113.9", "port": 8080, "flags": ["signal"]}], "merged", "fail", "not an address of this host"),
    ([{"address": "10.0.0.%d" % n} for n in range(1, 7)], "merged", "fail", "at most 8"),
    (CONFIG, "gathered", "fail", "state=gathered is not planned"),
    (CONFIG, "sideways", "fail", "state must be one of"),
    (CONFIG, "overridden", "maybe", "empty_interfaces must be one of"),
], ids=["missing-dev", "flag-rule", "id-range", "unknown-key", "unknown-flag", "id-type", "port-address",
        "max-endpoints", "gathered", "bad-state", "bad-empty"])
def test_an_error_is_pending_with_the_modules_message(config, state, empty, message):
    result = mptcp_endpoints_pending(config, INFO, state, empty)
    assert result["pending"] is True and result["planned"] is False and result["commands"] == []
    assert message in result["reason"], result["reason"]


def test_an_empty_interface_fails_or_is_skipped_as_the_module_does():
    info = read(interfaces=dict(INTERFACES, lan1={"index": 3, "addresses": []}), endpoints=ENDPOINTS[:2])
    assert "has no usable address" in mptcp_endpoints_pending(CONFIG, info, "overridden")["reason"]
    assert mptcp_endpoints_pending(CONFIG, info, "overridden", "skip")["pending"] is False


def test_values_the_argument_spec_converts_plan_as_the_module_takes_them():
    config = [{"address": "192.0.2.10", "id": "1", "dev": "lan0", "flags": ["subflow"]}]
    assert mptcp_endpoints_pending(config, INFO, "merged")["pending"] is False


@pytest.mark.parametrize("info, message", [
    (None, "no read of the host"),
    (read(endpoints=None), "no endpoints"),
    ({k: v for k, v in INFO.items() if k != "endpoints"}, "no endpoints"),
    (read(limits={}), "no limits"),
    ({k: v for k, v in INFO.items() if k != "interfaces"}, "no interfaces"),
    (read(interfaces=["lan0"]), "not a mapping"),
    (read(interfaces={"lan0": {"index": 2}}), "no list of addresses"),
    (read(interfaces={"lan0": {"index": 2, "addresses": [{"address": "192.0.2.10"}]}}), "unexpected shape"),
    (read(endpoints=[{"id": 1, "address": "192.0.2.10", "flags": ["subflow", "warp"]}]), "not flags"),
    (read(endpoints=[{"id": "1", "address": "192.0.2.10", "flags": []}]), "not a number"),
    (read(endpoints=["192.0.2.10"]), "not an endpoint"),
], ids=["no-read", "endpoints-null", "no-pyroute2", "no-netlink", "no-interfaces", "interfaces-list",
        "no-addresses", "address-shape", "unknown-flag", "id-text", "endpoint-text"])
def test_missing_or_odd_data_is_pending(info, message):
    result = mptcp_endpoints_pending(CONFIG, info, "overridden")
    assert result["pending"] is True and result["planned"] is False and result["after"] is None
    assert message in result["reason"], result["reason"]


def test_an_implicit_endpoint_is_left_alone_and_kept_in_the_plan():
    implicit = {"id": 4, "address": "203.0.113.50", "port": None, "dev": None, "flags": ["implicit"]}
    result = mptcp_endpoints_pending(CONFIG, read(endpoints=ENDPOINTS + [implicit]), "overridden")
    assert result["pending"] is False
    assert result["after"] == ENDPOINTS + [implicit]


class _NoDeepCopy(list):
    """A list that refuses to be deep-copied, as a stand-in for Ansible's
    lazily templated containers, whose deep copy renders them again."""

    def __deepcopy__(self, memo):
        raise AssertionError("the filter deep-copied the caller's container")


def test_the_callers_containers_are_never_deep_copied():
    config = _NoDeepCopy(dict(entry, flags=_NoDeepCopy(entry["flags"])) for entry in CONFIG)
    assert mptcp_endpoints_pending(config, INFO, "overridden")["pending"] is False
