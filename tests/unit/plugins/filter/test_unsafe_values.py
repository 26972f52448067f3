# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.mptcp.linux.plugins.filter.unsafe_values import FilterModule, unsafe_values


def test_registered_name():
    assert FilterModule().filters()["unsafe_values"] is unsafe_values


@pytest.mark.parametrize("value", ["", "nginx.service", "/usr/bin/python3 -m http.server 8080", "0.0.0.0:80", 80, None, True])
def test_safe_values_pass(value):
    assert unsafe_values(value, "v") == []


@pytest.mark.parametrize(
    "value, reason",
    [
        ("a\nExecStartPre=/bin/rm -rf /", "a newline"),
        ("a\rb", "a carriage return"),
        ("a\x00b", "a NUL byte"),
        ("80; include /etc/passwd", "';'"),
        ("x { return 200; }", "'{'"),
        ("}", "'}'"),
    ],
)
def test_each_forbidden_character_is_named(value, reason):
    problems = unsafe_values(value, "v")
    assert any(problem.startswith("v: contains " + reason) for problem in problems)


def test_paths_name_the_nested_field():
    data = [{"name": "web", "listen": ["80", "81;"]}, {"name": "ok", "env": {"A": "1\n2"}}]
    assert unsafe_values(data, "units") == [
        "units[0].listen[1]: contains ';' (a directive or block delimiter)",
        "units[1].env.A: contains a newline",
    ]


def test_keys_are_checked():
    assert unsafe_values({"A;B": "x"}, "env") == ["env (key 'A;B'): contains ';' (a directive or block delimiter)"]


def test_every_character_is_reported():
    assert len(unsafe_values("{;}\n", "v")) == 4
