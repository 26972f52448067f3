# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""os_family_values: a role's package names by OS family, and the refusal
on a family the role does not know. The roles' own tables are read from
their vars files, so that a row missing a name fails here."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

import pytest
import yaml

from ansible_collections.mptcp.linux.plugins.filter.os_family_values import os_family_values

TABLE = {
    "Debian": {"mptcp_nginx_packages": ["nginx"], "mptcp_nginx_stream_packages": ["libnginx-mod-stream"]},
    "RedHat": {"mptcp_nginx_packages": ["nginx"], "mptcp_nginx_stream_packages": ["nginx-mod-stream"]},
}
UNSET = {"mptcp_nginx_packages": None, "mptcp_nginx_stream_packages": None}


@pytest.mark.parametrize("family, packages", [
    ("Debian", ["nginx", "libnginx-mod-stream"]),
    ("RedHat", ["nginx", "nginx-mod-stream"]),
])
def test_a_known_family_gets_its_row(family, packages):
    result = os_family_values(UNSET, TABLE, family, "mptcp.linux.mptcp_nginx")
    assert result["problems"] == []
    assert result["known"] is True
    assert result["packages"] == packages
    assert result["unset"] == ["mptcp_nginx_packages", "mptcp_nginx_stream_packages"]


@pytest.mark.parametrize("family", ["Suse", "Archlinux", "Alpine", ""])
def test_an_unknown_family_stops_naming_the_family_and_the_variables(family):
    result = os_family_values(UNSET, TABLE, family, "mptcp.linux.mptcp_nginx", "mptcp_nginx_install")
    assert result["known"] is False
    assert result["packages"] == []
    [problem] = result["problems"]
    assert problem.startswith("mptcp.linux.mptcp_nginx has no values for this host's OS family %r"
                              % (family or "unknown"))
    assert "set mptcp_nginx_packages, mptcp_nginx_stream_packages" in problem
    assert "mptcp_nginx_install: false" in problem
    assert "Debian (tested: Debian 12, 13 and 14); untested: RedHat" in problem
    assert problem.endswith("Nothing was changed.")


def test_given_values_win_on_any_family():
    given = {"mptcp_nginx_packages": ["nginx-full"], "mptcp_nginx_stream_packages": []}
    for family in ("Debian", "Suse"):
        result = os_family_values(given, TABLE, family, "r")
        assert result["problems"] == []
        assert result["packages"] == ["nginx-full"]
        assert result["unset"] == []


def test_a_partly_given_set_names_only_what_is_missing():
    given = {"mptcp_nginx_packages": ["nginx"], "mptcp_nginx_stream_packages": None}
    [problem] = os_family_values(given, TABLE, "Gentoo", "r")["problems"]
    assert "set mptcp_nginx_stream_packages." in problem
    assert "set mptcp_nginx_packages" not in problem
    # No switch: no "or ...: false".
    assert ": false" not in problem


ROLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), *([os.pardir] * 4 + ["roles"]))


def _tables():
    for path in sorted(glob.glob(os.path.join(ROLES, "*", "vars", "main.yml"))):
        role = path.split(os.sep)[-3]
        with open(path) as handle:
            variables = yaml.safe_load(handle) or {}
        name = "__%s_os_family_packages" % role
        if name in variables:
            yield role, variables[name]


def test_the_roles_that_install_packages_have_a_table():
    assert sorted(role for role, dummy in _tables()) == ["mptcp", "mptcp_nginx", "mptcpd", "mptcpize"]


@pytest.mark.parametrize("role, table", list(_tables()))
def test_every_family_row_fills_every_public_package_variable(role, table):
    with open(os.path.join(ROLES, role, "defaults", "main.yml")) as handle:
        defaults = yaml.safe_load(handle)
    names = sorted(name for name in defaults if name.endswith("_packages") and "_install_" not in name)
    assert names, role
    assert list(table) == ["Debian", "RedHat"], "Debian (tested) first"
    for family, row in table.items():
        assert sorted(row) == names, (role, family)
        assert all(defaults[name] is None for name in names), "null default: the family decides"
        assert all(row[name] and all(isinstance(p, str) for p in row[name]) for name in names)


@pytest.mark.parametrize("role", ["mptcp", "mptcp_nginx", "mptcpd", "mptcpize"])
def test_the_family_check_comes_before_the_package_manager(role):
    """In the task file that installs (main.yml, or the mptcp role's packages.yml)."""
    tasks = os.path.join(ROLES, role, "tasks")
    files = [os.path.join(tasks, name) for name in ("packages.yml", "main.yml") if os.path.exists(os.path.join(tasks, name))]
    with open(files[0]) as handle:
        names = [task.get("name", "") for task in yaml.safe_load(handle)]
    install = next(i for i, task in enumerate(names) if task.startswith("Install"))
    stop = names.index("Stop on an OS family without package names, before anything changes")
    read = names.index("Read the OS family, which names the packages")
    assert read < stop < install
