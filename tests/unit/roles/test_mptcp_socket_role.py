# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcp_socket role's constants: the listen and name patterns accept what
systemd's ListenStream= and unit names take and refuse the rest, and the
minimum systemd is the first with MPTCP sockets."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import jinja2
import pytest

from ansible_collections.mptcp.linux.tests.unit.roles.role_files import load

ROLE = "mptcp_socket"


def role_var(name):
    """A role variable, with the role variables it is built from filled in."""
    variables = load(ROLE, "vars", "main.yml")
    return jinja2.Template(variables[name]).render(**variables)


@pytest.mark.parametrize("address,valid", [
    ("22", True), ("65535", True), ("1", True), ("0.0.0.0:8080", True), ("192.0.2.1:80", True),
    ("255.255.255.255:1", True), ("[::]:8080", True), ("[2001:db8::1]:443", True), ("[::ffff:192.0.2.1]:80", True),
    ("0", False), ("65536", False), ("08080", False), ("256.0.0.1:80", False), ("192.0.2.1", False),
    ("::1:80", False), ("[::1]", False), ("[zz::1]:80", False), ("localhost:80", False), ("*:80", False),
    ("80 ", False), ("/run/x.sock", False), ("", False),
])
def test_listen_pattern(address, valid):
    assert bool(re.match(role_var("__mptcp_socket_listen_re").strip(), address)) is valid


@pytest.mark.parametrize("name,valid", [
    ("echo", True), ("my-service_2.x", True), ("a:b", True),
    ("a@b", False), ("a b", False), ("../x", False), ("-x", False), ("", False),
])
def test_unit_name_pattern(name, valid):
    assert bool(re.match(load(ROLE, "vars", "main.yml")["__mptcp_socket_name_re"], name)) is valid


def test_minimum_systemd_is_the_first_with_mptcp_sockets():
    assert load(ROLE, "vars", "main.yml")["__mptcp_socket_min_systemd"] == 257
