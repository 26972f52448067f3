# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcp_nginx role's interface (argument specs and defaults agree,
handlers on private topics), and how it is built: one staged transaction
validated by nginx, acknowledged after the reload, one check-mode
detection, no logic in vars (the checks, the rendering and the probe are
tested in tests/unit/plugins/module_utils/test_nginx.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mptcp.linux.tests.unit.roles.role_files import load, options, role_path

ROLE = "mptcp_nginx"


def test_fixed_interface():
    specs = options(ROLE)
    assert specs["mptcp_nginx_fallback"]["choices"] == ["mptcpize", "fail"]
    for kind in ("mptcp_nginx_servers", "mptcp_nginx_streams"):
        entry = specs[kind]["options"]
        assert entry["name"]["required"] is True
        assert entry["state"]["choices"] == ["present", "absent"] and entry["state"]["default"] == "present"
        assert entry["listen"]["options"]["port"] == dict(entry["listen"]["options"]["port"], type="int", required=True)
    assert "quic" in specs["mptcp_nginx_servers"]["options"]["listen"]["options"]
    assert "udp" in specs["mptcp_nginx_streams"]["options"]["listen"]["options"]


def test_the_role_includes_mptcpize_for_nginx():
    tasks = load(ROLE, "tasks", "main.yml")
    include = [t for t in tasks if t.get("ansible.builtin.include_role", {}).get("name") == "mptcp.linux.mptcpize"]
    assert len(include) == 1
    assert include[0]["vars"]["mptcpize_services"] == [{"name": "nginx"}]


def _tasks(items):
    for item in items or []:
        yield item
        for key in ("block", "rescue", "always"):
            yield from _tasks(item.get(key))


def test_files_go_through_one_staged_transaction_validated_by_nginx():
    tasks = list(_tasks(load(ROLE, "tasks", "main.yml")))
    staged = [t for t in tasks if "mptcp.linux.staged_files" in t]
    assert len(staged) == 1
    assert staged[0]["mptcp.linux.staged_files"]["validate"] == "{{ __mptcp_nginx_validate }}"
    assert load(ROLE, "vars", "main.yml")["__mptcp_nginx_validate"][:2] == ["nginx", "-t"]
    assert staged[0]["notify"] == "__mptcp_nginx_reload"
    # No file is written any other way, no backups, no rescue to keep in step.
    for task in tasks:
        for module in ("ansible.builtin.template", "ansible.builtin.copy", "ansible.builtin.lineinfile",
                       "ansible.builtin.file"):
            assert module not in task, task["name"]
        assert "rescue" not in task, task["name"]


def test_the_reload_is_acknowledged_after_it_ran():
    handlers = load(ROLE, "handlers", "main.yml")
    assert [h["listen"] for h in handlers] == ["__mptcp_nginx_reload"] * 3
    assert handlers[-1]["mptcp.linux.staged_files"]["state"] == "loaded"
    assert handlers[-1]["mptcp.linux.staged_files"]["name"] == \
        [t for t in _tasks(load(ROLE, "tasks", "main.yml")) if "mptcp.linux.staged_files" in t][0][
            "mptcp.linux.staged_files"]["name"]


def test_one_check_mode_detection():
    text = open(role_path(ROLE, "tasks", "main.yml")).read() + open(role_path(ROLE, "handlers", "main.yml")).read()
    assert "ansible_check_mode" not in text
    assert "mptcp.linux.check_mode" in text


def test_vars_hold_short_expressions_only():
    with open(role_path(ROLE, "vars", "main.yml")) as handle:
        lines = handle.read().splitlines()
    length = {}
    current = None
    for line in lines:
        if line and not line.startswith((" ", "#", "-")):
            current = line.split(":", 1)[0]
            length[current] = 1
        elif current and line.startswith(" "):
            length[current] += 1
    assert length and max(length.values()) <= 5, length
