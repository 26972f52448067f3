# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcpize role's interface: the fixed interface other roles rely on
holds, and its rules come from the collection's filters (their cases are in
tests/unit/plugins/filter/test_mptcpize.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mptcp.linux.tests.unit.roles.role_files import load, options

ROLE = "mptcpize"


def test_fixed_interface():
    specs = options(ROLE)
    service = specs["mptcpize_services"]["options"]
    assert service["name"]["required"] is True
    assert service["state"]["choices"] == ["present", "absent"] and service["state"]["default"] == "present"
    assert specs["mptcpize_restart"]["default"] is True
    assert specs["mptcpize_verify_listeners"]["default"] is True
    assert specs["mptcpize_install_packages"]["default"] is True


def test_the_rules_are_the_filters():
    variables = load(ROLE, "vars", "main.yml")
    assert "mptcp.linux.mptcpize_problems" in variables["__mptcpize_problems"]
    assert "mptcp.linux.mptcpize_plan" in variables["__mptcpize_plan"]
    assert "mptcp.linux.mptcpize_actions" in variables["__mptcpize_actions"]
    assert "mptcp.linux.mptcpize_listener_problems" in variables["__mptcpize_listener_problems"]
