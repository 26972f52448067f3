# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcpd role's interface: meta/argument_specs.yml, defaults and
handlers agree with each other and with mptcpd's own option names."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

import yaml

ROLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, os.pardir, "roles", "mptcpd")
# The interface other roles rely on (mptcp includes this role).
FIXED = {
    "mptcpd_path_manager": "addr_adv",
    "mptcpd_addr_flags": ["subflow"],
    "mptcpd_notify_flags": ["existing", "skip_link_local", "skip_loopback"],
    "mptcpd_load_plugins": [],
    "mptcpd_state": "started",
    "mptcpd_install_packages": True,
}
# What mptcpd 0.12 (bookworm) and 0.13 (trixie) parse; anything else it
# ignores with at most a log line, so the role must refuse it.
MPTCPD_ADDR_FLAGS = ["subflow", "signal", "backup", "fullmesh"]
MPTCPD_NOTIFY_FLAGS = ["existing", "skip_link_local", "skip_loopback", "check_route"]


def load(*parts):
    with open(os.path.join(ROLE, *parts)) as handle:
        return yaml.safe_load(handle)


def options():
    return load("meta", "argument_specs.yml")["argument_specs"]["main"]["options"]


def test_every_option_is_documented_typed_and_defaulted():
    for name, spec in options().items():
        assert name.startswith("mptcpd_"), name
        assert spec.get("type") in ("str", "bool", "list", "int", "dict"), name
        assert spec.get("description"), name
        assert "default" in spec, name
        if spec["type"] == "list":
            assert spec.get("elements") == "str", name


def test_defaults_are_the_argument_specs_defaults():
    defaults = load("defaults", "main.yml")
    assert defaults == dict((name, spec["default"]) for name, spec in options().items())


def test_fixed_interface():
    specs = options()
    for name, default in FIXED.items():
        assert specs[name]["default"] == default, name
    assert specs["mptcpd_state"]["choices"] == ["started", "stopped"]


def test_flag_choices_are_mptcpds():
    specs = options()
    assert specs["mptcpd_addr_flags"]["choices"] == MPTCPD_ADDR_FLAGS
    assert specs["mptcpd_notify_flags"]["choices"] == MPTCPD_NOTIFY_FLAGS
    for name in ("mptcpd_addr_flags", "mptcpd_notify_flags", "mptcpd_state", "mptcpd_kernel_path_manager"):
        default = specs[name]["default"]
        assert set(default if isinstance(default, list) else [default]) <= set(specs[name]["choices"]), name


def test_notified_topics_are_private_and_heard():
    tasks = load("tasks", "main.yml")
    handlers = load("handlers", "main.yml")
    notified = set(task["notify"] for task in tasks if "notify" in task)
    heard = set(handler["listen"] for handler in handlers)
    assert notified and notified == heard
    assert all(topic.startswith("__mptcpd_") for topic in heard)


def test_template_writes_only_mptcpd_keys():
    with open(os.path.join(ROLE, "templates", "mptcpd.conf.j2")) as handle:
        keys = re.findall(r"^([a-z-]+)=", handle.read(), re.MULTILINE)
    assert keys == ["plugin-dir", "path-manager", "addr-flags", "notify-flags", "load-plugins"]


def test_readme_keeps_the_generated_section_markers():
    with open(os.path.join(ROLE, "README.md")) as handle:
        text = handle.read()
    assert text.index("<!-- BEGIN ARGUMENT SPECS -->") < text.index("<!-- END ARGUMENT SPECS -->")
