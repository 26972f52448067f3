# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcpize role's interface: meta/argument_specs.yml and defaults agree,
the fixed interface other roles rely on holds, and the service-name pattern
accepts what systemd names services and nothing that could leave the
drop-in directory."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import pytest
import yaml

ROLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, os.pardir, "roles", "mptcpize")


def load(*parts):
    with open(os.path.join(ROLE, *parts)) as handle:
        return yaml.safe_load(handle)


def options():
    return load("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]


def test_every_option_is_documented_typed_and_defaulted():
    for name, spec in options().items():
        assert name.startswith("mptcpize_"), name
        assert spec.get("type") in ("str", "bool", "list", "int"), name
        assert spec.get("description"), name
        assert "default" in spec, name


def test_defaults_are_the_argument_specs_defaults():
    public = dict((k, v) for k, v in load("defaults", "main.yml").items() if not k.startswith("__"))
    assert public == dict((name, spec["default"]) for name, spec in options().items())


def test_fixed_interface():
    specs = options()
    service = specs["mptcpize_services"]["options"]
    assert service["name"]["required"] is True
    assert service["state"]["choices"] == ["present", "absent"] and service["state"]["default"] == "present"
    assert specs["mptcpize_restart"]["default"] is True
    assert specs["mptcpize_verify_listeners"]["default"] is True
    assert specs["mptcpize_install_packages"]["default"] is True


def test_handlers_listen_on_private_topics():
    for handler in load("handlers", "main.yml"):
        assert handler["listen"].startswith("__mptcpize_"), handler


@pytest.mark.parametrize("name,valid", [
    ("nginx", True), ("getty@tty1", True), ("systemd-networkd", True), ("foo_bar.baz:1", True),
    ("getty@", False), ("../etc", False), (".hidden", False), ("-x", False), ("a b", False),
    ("a/b", False), ("a@b@c", False), ("", False), ("a\\x2d", False),
])
def test_service_name_pattern(name, valid):
    assert bool(re.match(load("vars", "main.yml")["__mptcpize_name_re"], name)) is valid
