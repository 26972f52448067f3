# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcp role's interface (argument specs and defaults agree) and the
pure parts of its host-network helper (files/mptcp_host_net.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.mptcp.linux.roles.mptcp.files import mptcp_host_net as helper
from conftest import options

ROLE = "mptcp"


def test_site_variables_are_role_variables():
    """playbooks/site.yml's documented variables keep working."""
    for name in ("mptcp_endpoint_interfaces", "mptcp_endpoints", "mptcp_endpoints_state", "mptcp_limits_subflows",
                 "mptcp_limits_add_addr_accepted", "mptcp_scheduler", "mptcp_path_manager", "mptcp_persist"):
        assert name in options(ROLE), name


def _links(*addresses):
    return [{"ifname": dev, "addr_info": [{"local": address, "prefixlen": prefixlen}]}
            for dev, address, prefixlen in addresses]


def test_policy_routing_tables():
    links = _links(("eth1", "192.0.2.10", 24), ("eth2", "2001:db8:2::10", 64))
    main = {4: [{"dst": "default", "gateway": "192.0.2.1", "dev": "eth1"}],
            6: [{"dst": "default", "gateway": "fe80::1", "dev": "eth3"}]}
    spec = {"table_base": 100,
            "endpoints": [{"address": "192.0.2.10", "id": 3}, {"address": "2001:db8:2::10", "id": 7, "dev": "eth2"}]}
    rules, tables = helper.desired_routing(spec, links, main, False)
    assert rules == [{"family": 4, "src": "192.0.2.10", "table": 103},
                     {"family": 6, "src": "2001:db8:2::10", "table": 107}]
    assert tables[(4, 103)] == [
        {"dst": "192.0.2.0/24", "gateway": None, "dev": "eth1", "prefsrc": "192.0.2.10"},
        {"dst": "default", "gateway": "192.0.2.1", "dev": "eth1", "prefsrc": None},
    ]
    # The IPv6 default route leaves by another interface: not in this table.
    assert tables[(6, 107)] == [{"dst": "2001:db8:2::/64", "gateway": None, "dev": "eth2", "prefsrc": "2001:db8:2::10"}]


def test_policy_routing_needs_ids_except_in_check_mode():
    links = _links(("eth1", "192.0.2.10", 24))
    spec = {"table_base": 100, "endpoints": [{"address": "192.0.2.10", "id": None}]}
    assert helper.desired_routing(spec, links, {4: [], 6: []}, True) == ([], {})
    with pytest.raises(helper.Failure, match="no id"):
        helper.desired_routing(spec, links, {4: [], 6: []}, False)
    with pytest.raises(helper.Failure, match="no interface holds"):
        helper.desired_routing({"table_base": 100, "endpoints": [{"address": "192.0.2.99", "id": 1}]},
                               links, {4: [], 6: []}, False)


@pytest.mark.parametrize("all_value, values, changed, after, persist", [
    (0, {"eth1": 1, "eth2": 0}, True, {"eth1": 2, "eth2": 0}, ["eth1"]),
    (1, {"eth1": 0, "eth2": 2}, True, {"eth1": 2, "eth2": 2}, ["eth1", "eth2"]),
    (2, {"eth1": 1, "eth2": 0}, False, {"eth1": 1, "eth2": 0}, ["eth1", "eth2"]),
    (0, {"eth1": 0, "eth2": 2}, False, {"eth1": 0, "eth2": 2}, ["eth2"]),
], ids=["own-strict", "all-strict", "all-loose", "nothing-strict"])
def test_rp_filter(tmp_path, monkeypatch, all_value, values, changed, after, persist):
    for name, value in dict(values, all=all_value).items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "rp_filter").write_text("%d\n" % value)
    monkeypatch.setattr(helper, "PROC_CONF", str(tmp_path))

    dry = helper.rp_filter({"interfaces": ["eth2", "eth1"]}, True)
    assert (dry["changed"], dry["after"], dry["persist"]) == (changed, after, persist)
    assert dict((n, int((tmp_path / n / "rp_filter").read_text())) for n in values) == values

    real = helper.rp_filter({"interfaces": ["eth1", "eth2"]}, False)
    assert real["changed"] is changed
    assert dict((n, int((tmp_path / n / "rp_filter").read_text())) for n in values) == after
    assert helper.rp_filter({"interfaces": ["eth1", "eth2"]}, False)["changed"] is False


def test_rp_filter_missing_interface(tmp_path, monkeypatch):
    (tmp_path / "all").mkdir()
    (tmp_path / "all" / "rp_filter").write_text("1\n")
    monkeypatch.setattr(helper, "PROC_CONF", str(tmp_path))
    with pytest.raises(helper.Failure, match="'eth9'"):
        helper.rp_filter({"interfaces": ["eth9"]}, False)
