# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcp_socket role's wiring: the minimum systemd is the first with
MPTCP sockets, the rules come from the collection's filters (their cases are
in tests/unit/plugins/filter/test_socket_unit.py), and the role's variables
stay data and short expressions."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mptcp.linux.tests.unit.roles.role_files import load

ROLE = "mptcp_socket"


def test_minimum_systemd_is_the_first_with_mptcp_sockets():
    assert load(ROLE, "vars", "main.yml")["__mptcp_socket_min_systemd"] == 257


def test_the_rules_are_the_filters():
    variables = load(ROLE, "vars", "main.yml")
    assert "mptcp.linux.socket_unit_problems" in variables["__mptcp_socket_problems"]
    assert "mptcp.linux.socket_unit_plan" in variables["__mptcp_socket_plan"]
    assert "mptcp.linux.socket_unit_actions" in variables["__mptcp_socket_actions"]
    assert "mptcp.linux.socket_listener_problems" in variables["__mptcp_socket_listener_problems"]
    assert "mptcp.linux.systemd_show" in variables["__mptcp_socket_state"]
