# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcpize role's interface: the fixed interface other roles rely on
holds, and the service-name pattern accepts what systemd names services and
nothing that could leave the drop-in directory."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest

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


@pytest.mark.parametrize("name,valid", [
    ("nginx", True), ("getty@tty1", True), ("systemd-networkd", True), ("foo_bar.baz:1", True),
    ("getty@", False), ("../etc", False), (".hidden", False), ("-x", False), ("a b", False),
    ("a/b", False), ("a@b@c", False), ("", False), ("a\\x2d", False),
])
def test_service_name_pattern(name, valid):
    assert bool(re.match(load(ROLE, "vars", "main.yml")["__mptcpize_name_re"], name)) is valid
