# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every role of the collection promises about its interface."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import glob
import os

import pytest

from ansible_collections.mptcp.linux.tests.unit.roles.role_files import ROLES, load, options, role_path

ALL_ROLES = sorted(os.path.basename(path) for path in glob.glob(os.path.join(ROLES, "*")) if os.path.isdir(path))
TYPES = ("str", "bool", "list", "int", "dict", "path", "raw")


def _walk(specs, path=""):
    for name, spec in specs.items():
        yield path + name, spec
        yield from _walk(spec.get("options", {}), path + name + ".")


def _tasks(items):
    """Every task of a task list, blocks included."""
    for item in items or []:
        yield item
        for key in ("block", "rescue", "always"):
            yield from _tasks(item.get(key))


def test_the_six_roles_exist():
    assert ALL_ROLES == ["mptcp", "mptcp_nginx", "mptcp_socket", "mptcp_testbed", "mptcpd", "mptcpize"]


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_option_is_documented_and_typed(role):
    for name, spec in _walk(options(role)):
        assert spec.get("description"), name
        assert spec.get("type") in TYPES, name
        if spec["type"] == "list":
            assert spec.get("elements"), name


@pytest.mark.parametrize("role", ALL_ROLES)
def test_public_variables_are_prefixed_and_defaulted(role):
    for name, spec in options(role).items():
        assert name.startswith(role + "_"), name
        assert "default" in spec, name


@pytest.mark.parametrize("role", ALL_ROLES)
def test_defaults_are_the_argument_specs_defaults(role):
    public = dict((k, v) for k, v in (load(role, "defaults", "main.yml") or {}).items() if not k.startswith("__"))
    assert public == dict((name, spec["default"]) for name, spec in options(role).items())


@pytest.mark.parametrize("role", ALL_ROLES)
def test_handlers_listen_on_private_topics_that_tasks_notify(role):
    heard = set()
    if os.path.exists(role_path(role, "handlers", "main.yml")):
        for handler in load(role, "handlers", "main.yml"):
            assert handler["listen"].startswith("__%s_" % role), handler["name"]
            heard.add(handler["listen"])
    notified = set()
    for path in glob.glob(role_path(role, "tasks", "*.yml")):
        for task in _tasks(load(role, "tasks", os.path.basename(path))):
            topics = task.get("notify", [])
            notified.update([topics] if isinstance(topics, str) else topics)
    assert notified <= heard, "notified but no handler listens: %s" % sorted(notified - heard)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_systemd_analyze_verify_checks_no_man_pages(role):
    """Every systemd-analyze verify a role runs passes --man=no: it would
    otherwise run man for each Documentation=man:... of the units and fail
    on hosts without man pages (minimal and cloud images leave them out)."""
    for path in glob.glob(role_path(role, "tasks", "*.yml")):
        with open(path) as handle:
            text = handle.read()
        for start in [i for i in range(len(text)) if text.startswith("systemd-analyze", i)]:
            line = text[start:text.index("\n", start)]
            if "verify" in line:
                assert "--man=no" in line, "%s: %s" % (os.path.relpath(path, ROLES), line)


@pytest.mark.parametrize("role", ALL_ROLES)
def test_readme_keeps_the_generated_section_markers(role):
    with open(role_path(role, "README.md")) as handle:
        text = handle.read()
    assert text.index("<!-- BEGIN ARGUMENT SPECS -->") < text.index("<!-- END ARGUMENT SPECS -->")


JINJA_MAX_LINES = 5


def _value_lines(text, name):
    """The non-blank lines of NAME's value in a vars file: the rest of its
    key line, and the indented lines after it."""
    lines = text.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith(name + ":"))
    value = [lines[start][len(name) + 1:].strip()]
    for line in lines[start + 1:]:
        if line and not line.startswith(" "):
            break
        value.append(line.strip())
    return [line for line in value if line and line not in (">-", ">", "|", "|-")]


@pytest.mark.parametrize("role", ["mptcp_socket", "mptcpize", "mptcpd"])
def test_variables_are_data_and_short_expressions(role):
    """Rules live in filter plugins with unit tests: no variable of these
    roles holds a Jinja statement or more than a few lines of Jinja."""
    with open(role_path(role, "vars", "main.yml")) as handle:
        text = handle.read()
    for name, value in (load(role, "vars", "main.yml") or {}).items():
        if isinstance(value, str) and "{{" in value:
            assert "{%" not in value, name
            assert len(_value_lines(text, name)) <= JINJA_MAX_LINES, name
    assert _value_lines("a: >-\n  {{ x\n     | y }}\nb: 1\n", "a") == ["{{ x", "| y }}"]
