# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcpd role's interface: the defaults other roles rely on, and the
flag choices and template keys agree with mptcpd's own option names."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.mptcp.linux.tests.unit.roles.role_files import options, role_path

ROLE = "mptcpd"
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


def test_fixed_interface():
    specs = options(ROLE)
    for name, default in FIXED.items():
        assert specs[name]["default"] == default, name
    assert specs["mptcpd_state"]["choices"] == ["started", "stopped"]


def test_flag_choices_are_mptcpds():
    specs = options(ROLE)
    assert specs["mptcpd_addr_flags"]["choices"] == MPTCPD_ADDR_FLAGS
    assert specs["mptcpd_notify_flags"]["choices"] == MPTCPD_NOTIFY_FLAGS
    for name in ("mptcpd_addr_flags", "mptcpd_notify_flags", "mptcpd_state", "mptcpd_kernel_path_manager"):
        default = specs[name]["default"]
        assert set(default if isinstance(default, list) else [default]) <= set(specs[name]["choices"]), name


def test_template_writes_only_mptcpd_keys():
    with open(role_path(ROLE, "templates", "mptcpd.conf.j2")) as handle:
        keys = re.findall(r"^([a-z-]+)=", handle.read(), re.MULTILINE)
    assert keys == ["plugin-dir", "path-manager", "addr-flags", "notify-flags", "load-plugins"]
