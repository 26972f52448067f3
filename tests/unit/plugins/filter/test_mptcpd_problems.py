# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcpd role's checks: every problem named by its variable, the
plugin names and directory that mptcpd.conf can carry, and the installed
plugins."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.mptcp.linux.plugins.filter.mptcpd_problems import FilterModule, mptcpd_problems

DEFAULTS = {"mptcpd_path_manager": "addr_adv", "mptcpd_load_plugins": [], "mptcpd_plugin_dir": "",
            "mptcpd_addr_flags": ["subflow"]}


def test_registered_name():
    assert FilterModule().filters()["mptcpd_problems"] is mptcpd_problems


def test_defaults_pass():
    assert mptcpd_problems(DEFAULTS) == []
    assert mptcpd_problems(dict(DEFAULTS, mptcpd_plugin_dir="/opt/mptcpd;1/plugins")) == []


@pytest.mark.parametrize("settings, expected", [
    ({"mptcpd_path_manager": "addr_adv\nload-plugins=evil"},
     ['mptcpd_path_manager: "addr_adv\\nload-plugins=evil" is not a plugin name']),
    ({"mptcpd_path_manager": "addr_adv\n"}, ['mptcpd_path_manager: "addr_adv\\n" is not a plugin name']),
    ({"mptcpd_path_manager": "addr adv"}, ['mptcpd_path_manager: "addr adv" is not a plugin name']),
    ({"mptcpd_load_plugins": ["addr_adv", "sspi,evil", "x;y"]},
     ['mptcpd_load_plugins[1]: "sspi,evil" is not a plugin name', 'mptcpd_load_plugins[2]: "x;y" is not a plugin name']),
    ({"mptcpd_addr_flags": ["signal", "fullmesh"]}, ["mptcpd_addr_flags: signal and fullmesh cannot be combined"]),
    ({"mptcpd_load_plugins": ["sspi"]},
     ['mptcpd_path_manager: "addr_adv" is not in mptcpd_load_plugins (sspi), so mptcpd would not load it']),
    ({"mptcpd_plugin_dir": "lib/mptcpd"}, ['mptcpd_plugin_dir: "lib/mptcpd" is not an absolute path']),
    ({"mptcpd_plugin_dir": "/usr/lib/mptcpd\nload-plugins=evil"},
     ["mptcpd_plugin_dir: \"/usr/lib/mptcpd\\nload-plugins=evil\" holds '\\n', which mptcpd.conf cannot carry"]),
    ({"mptcpd_plugin_dir": "/usr/lib/mptcpd\\s"}, ["holds '\\\\', which mptcpd.conf cannot carry"]),
    ({"mptcpd_plugin_dir": "/usr/lib/mptcpd "}, ["starts or ends with a blank"]),
], ids=["newline", "trailing-newline", "blank", "load-plugins", "flags", "not-loaded", "relative-dir", "dir-newline",
        "dir-backslash", "dir-blank"])
def test_each_problem_names_its_variable(settings, expected):
    found = mptcpd_problems(dict(DEFAULTS, **settings))
    assert len(found) == len(expected), found
    for text, problem in zip(expected, found):
        assert problem.startswith(text) or text in problem, (text, problem)


def test_installed_plugins():
    settings = dict(DEFAULTS, mptcpd_path_manager="ndiffports", mptcpd_load_plugins=["ndiffports", "sspi", "x"])
    assert mptcpd_problems(settings, "/usr/lib/x86_64-linux-gnu/mptcpd", ["sspi", "addr_adv"]) == [
        "mptcpd_path_manager: plugin ndiffports is not installed in /usr/lib/x86_64-linux-gnu/mptcpd "
        "(installed: addr_adv, sspi)",
        "mptcpd_load_plugins: ndiffports, x not installed in /usr/lib/x86_64-linux-gnu/mptcpd (installed: addr_adv, sspi)"]
    assert mptcpd_problems(DEFAULTS, "/p", ["addr_adv"]) == []
    assert mptcpd_problems(DEFAULTS, "/p", []) == [
        "mptcpd_path_manager: plugin addr_adv is not installed in /p (installed: none)"]
    assert mptcpd_problems(DEFAULTS, "", [], ["/usr/lib", "/usr/lib64"]) == [
        "mptcpd has no plugin directory under /usr/lib or /usr/lib64: install mptcpd-plugins "
        "(mptcpd_install_packages) or set mptcpd_plugin_dir"]
