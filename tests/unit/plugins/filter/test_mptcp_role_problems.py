# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible_collections.mptcp.linux.plugins.filter.mptcp_role_problems import mptcp_role_problems, pass_through
from ansible_collections.mptcp.linux.plugins.module_utils._sysctl import KNOBS

DEFAULTS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "roles", "mptcp", "defaults", "main.yml")


def role_defaults():
    with open(DEFAULTS) as handle:
        return yaml.safe_load(handle)


def problems(systemd=True, interfaces=(), **variables):
    given = role_defaults()
    given.update(variables)
    return mptcp_role_problems(given, list(interfaces), systemd)


def test_the_defaults_pass():
    assert problems() == []
    assert problems(systemd=False) == []


def test_every_pass_through_knob_is_accepted_and_the_list_comes_from_the_knob_table():
    assert problems(mptcp_sysctls=dict((knob, 1) for knob in pass_through())) == []
    assert set(pass_through()) | {"enabled", "path_manager", "scheduler"} == set(KNOBS)


@pytest.mark.parametrize("variables, expected", [
    ({"mptcp_sysctls": {"enabled": 1}}, "mptcp_sysctls: unknown knob enabled (allowed: add_addr_timeout, "
     "allow_join_initial_addr_port, blackhole_timeout, checksum_enabled, close_timeout, stale_loss_cnt, "
     "syn_retrans_before_tcp_fallback; enabled, path_manager and scheduler have their own variables)"),
    ({"mptcp_limits_subflows": 9}, "mptcp_limits_subflows must be 0 to 8, not 9"),
    ({"mptcp_limits_add_addr_accepted": -1}, "mptcp_limits_add_addr_accepted must be 0 to 8, not -1"),
    ({"mptcp_limits_subflows": "x"}, "mptcp_limits_subflows must be 0 to 8, not x"),
    ({"mptcp_restore_dir": "etc/mptcp"}, "mptcp_restore_dir must be an absolute path, not etc/mptcp"),
    ({"mptcp_restore_dir": "/etc/mptcp\n"}, "mptcp_restore_dir"),
    ({"mptcp_scheduler": "default;"}, "mptcp_scheduler"),
    ({"mptcp_policy_routing": True, "mptcp_endpoint_manager": "mptcpd"},
     "mptcp_policy_routing needs mptcp_endpoint_manager static, not mptcpd"),
    ({"mptcp_policy_routing_table_base": 0}, "mptcp_policy_routing_table_base must be 1 to 4294967039"),
    ({"mptcp_policy_routing_priority": 32766}, "mptcp_policy_routing_priority must be 1 to 32765"),
    ({"mptcp_endpoint_manager": "networkmanager"}, "needs mptcp_endpoint_interfaces"),
    ({"mptcp_endpoint_manager": "networkmanager", "mptcp_endpoint_interfaces": ["eth1"],
      "mptcp_endpoint_flags": ["laminar"]}, "NetworkManager has no laminar flag"),
    ({"mptcp_endpoints": [{"dev": "eth1}"}]}, "mptcp_endpoints[0].dev"),
], ids=lambda value: str(value)[:40])
def test_each_problem_names_its_variable(variables, expected):
    found = problems(**variables)
    assert len(found) == 1 and expected in found[0], found


@pytest.mark.parametrize("name, ok", [("eth1", True), ("a" * 15, True), ("a" * 16, False), ("a/b", False),
                                      ("a:b", False), ("a b", False), ("lan0\n", False), ("..", False)])
def test_interface_names_follow_the_kernel(name, ok):
    assert (problems(interfaces=[name]) == []) == ok


def test_without_systemd():
    assert "mptcp_persist: true needs systemd" in problems(systemd=False, mptcp_persist="true")[0]
    assert problems(systemd=False, mptcp_persist=True)[0].startswith("mptcp_persist: true needs systemd")
    mptcpd = problems(systemd=False, mptcp_endpoint_manager="mptcpd")
    assert len(mptcpd) == 1 and "set mptcpd_manage_service: false" in mptcpd[0]
    assert problems(systemd=False, mptcp_endpoint_manager="mptcpd", mptcpd_manage_service=False) == []


def test_every_problem_is_listed_at_once():
    assert len(problems(mptcp_limits_subflows=9, mptcp_limits_add_addr_accepted=9, mptcp_restore_dir="x",
                        interfaces=["a/b"])) == 4


def test_follow_needs_interfaces_to_follow():
    from ansible_collections.mptcp.linux.plugins.filter.mptcp_role_problems import mptcp_role_problems
    assert mptcp_role_problems({"mptcp_endpoint_manager": "follow"}, [], True) == [
        "mptcp_endpoint_manager follow needs mptcp_endpoint_interfaces (whose addresses it follows)"]
    assert mptcp_role_problems({"mptcp_endpoint_manager": "follow", "mptcp_endpoint_interfaces": ["eth1"]}, ["eth1"], False) == []


@pytest.mark.parametrize("interval", ["1min", "30s", "1min 30s", "2h", "1.5min", "500ms", 45])
def test_metrics_intervals_accepted(interval):
    assert problems(mptcp_metrics=True, mptcp_metrics_interval=interval) == []


@pytest.mark.parametrize("interval", ["often", "", "0", "0s", "1 parsec", "-1min", True, "1min\nOnCalendar=x"])
def test_metrics_intervals_refused(interval):
    found = problems(mptcp_metrics=True, mptcp_metrics_interval=interval)
    assert any(p.startswith("mptcp_metrics_interval") for p in found), found


@pytest.mark.parametrize("directory, reason", [
    ("var/lib/x", "must be an absolute path"), ("/etc/metrics", "must not be / or under"), ("/usr/share/x", "must not be"),
    ("/", "must not be"), ("/var/../etc", "must not be"), ("/var/x;y", "';'"),
])
def test_metrics_textfile_dir_refused(directory, reason):
    found = problems(mptcp_metrics_textfile_dir=directory)
    assert any(p.startswith("mptcp_metrics_textfile_dir") and reason in p for p in found), found


def test_metrics_textfile_dir_with_a_blank_is_fine():
    assert problems(mptcp_metrics_textfile_dir="/var/lib/node exporter", mptcp_metrics=True) == []


def test_metrics_node_exporter_choices():
    assert problems(mptcp_metrics_node_exporter=True) == [] and problems(mptcp_metrics_node_exporter="false") == []
    assert problems(mptcp_metrics_node_exporter="maybe") == ["mptcp_metrics_node_exporter must be auto, true or false, not maybe"]
