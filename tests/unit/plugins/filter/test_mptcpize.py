# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcpize role's rules, without a host: what it refuses, the drop-in
it writes (read back by the port of systemd's reader in
tests/quote_consumers.py), which services it
restarts for each state systemd and /proc can report (interrupted runs
included), and its listener check."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.mptcp.linux.plugins.filter import (mptcpize_actions, mptcpize_listener_problems,
                                                            mptcpize_plan, mptcpize_problems)
from ansible_collections.mptcp.linux.plugins.plugin_utils import _mptcpize_role
from ansible_collections.mptcp.linux.tests import quote_consumers as consumer

problems = mptcpize_problems.mptcpize_problems
plan = mptcpize_plan.mptcpize_plan
actions = mptcpize_actions.mptcpize_actions
listener_problems = mptcpize_listener_problems.mptcpize_listener_problems
LIBRARY = "/usr/lib/x86_64-linux-gnu/mptcpize/libmptcpwrap.so.0"


def test_registered_names():
    for module, name in ((mptcpize_problems, "mptcpize_problems"), (mptcpize_plan, "mptcpize_plan"),
                         (mptcpize_actions, "mptcpize_actions"),
                         (mptcpize_listener_problems, "mptcpize_listener_problems")):
        assert name in module.FilterModule().filters()


@pytest.mark.parametrize("services, library, expected", [
    ([{"name": "nginx\nExecStartPre=/bin/rm"}], "", ["mptcpize_services[0].name: 'nginx\\nExecStartPre=/bin/rm' is not"
                                                     " a systemd service name"]),
    ([{"name": "nginx\n"}], "", ["mptcpize_services[0].name: 'nginx\\n' is not a systemd service name"]),
    ([{"name": "nginx;reboot"}], "", ["mptcpize_services[0].name: 'nginx;reboot' is not a systemd service name"]),
    ([{"name": "../../etc/passwd"}], "", ["mptcpize_services[0].name: '../../etc/passwd' is not"]),
    ([{"name": "getty@"}], "", ["mptcpize_services[0].name: 'getty@' is not"]),
    ([{"name": "x" * 250}], "", ["mptcpize_services[0].name: '%s' is longer than systemd allows" % ("x" * 250)]),
    ([{"name": "nginx"}, {"name": "nginx.service", "state": "absent"}], "",
     ["mptcpize_services[1].name: 'nginx' is listed twice"]),
    ([{"name": "nginx"}], "lib/libmptcpwrap.so.0", ["mptcpize_library: 'lib/libmptcpwrap.so.0' is not an absolute path"]),
    ([{"name": "nginx"}], "/usr/lib/x y/libmptcpwrap.so.0", ["mptcpize_library: '/usr/lib/x y/libmptcpwrap.so.0' is not"]),
    ([{"name": "nginx"}], "/usr/lib/a:b/libmptcpwrap.so.0", ["(LD_PRELOAD splits paths at blanks and ':')"]),
    ([{"name": "nginx"}], "/usr/lib/libmptcpwrap.so.0\n", ["mptcpize_library: '/usr/lib/libmptcpwrap.so.0\\n' is not"]),
], ids=["newline", "trailing-newline", "semicolon", "path", "template", "length", "duplicate", "relative-library",
        "blank-library", "colon-library", "newline-library"])
def test_bad_input_names_the_field(services, library, expected):
    found = problems(services, library)
    assert len(found) == len(expected), found
    for text, problem in zip(expected, found):
        assert text in problem, (text, problem)


@pytest.mark.parametrize("name", ["nginx", "getty@tty1", "systemd-networkd", "foo_bar.baz:1", "nginx.service"])
def test_service_names(name):
    assert problems([{"name": name}], LIBRARY) == []


@pytest.mark.parametrize("name", ["getty@", "../etc", ".hidden", "-x", "a b", "a/b", "a@b@c", "", "a\\x2d"])
def test_not_service_names(name):
    assert problems([{"name": name}]) != []


def test_missing_services_on_the_host():
    state = {"nginx.service": {"LoadState": "loaded"}, "gone.service": {"LoadState": "not-found"}}
    services = [{"name": "nginx"}, {"name": "gone"}, {"name": "old", "state": "absent"}]
    assert problems(services, "", state=state) == [
        "mptcpize_services[1].name: gone.service is not a unit on this host (LoadState=not-found)"]


def test_the_drop_in_reads_back():
    result = plan([{"name": "nginx.service"}, {"name": "web", "state": "absent", "verify_listeners": False}],
                  "/u", LIBRARY)
    assert result["services"] == [{"name": "nginx", "state": "present", "verify": True},
                                  {"name": "web", "state": "absent", "verify": False}]
    assert result["queried"] == ["nginx.service", "web.service"]
    assert result["dirs"] == ["/u/nginx.service.d"] and result["emptied"] == ["/u/web.service.d"]
    assert result["remove"] == [{"name": "web", "path": "/u/web.service.d/50-mptcpize.conf"}]
    [dropin] = result["write"]
    assert (dropin["name"], dropin["file"], dropin["path"]) == (
        "nginx", "nginx.service.d/50-mptcpize.conf", "/u/nginx.service.d/50-mptcpize.conf")
    assert dropin["content"] == (
        "# Managed by the mptcp.linux.mptcpize role: local changes are overwritten.\n"
        "# Forces MPTCP on this service: libmptcpwrap turns its TCP sockets into\n"
        "# MPTCP ones; GODEBUG does the same for Go programs.\n"
        "[Service]\n"
        "Environment=\"LD_PRELOAD=%s\"\n"
        "Environment=\"GODEBUG=multipathtcp=1\"\n" % LIBRARY)
    assert consumer.unit_environment(dropin["content"].encode("utf-8")) == (
        [b"LD_PRELOAD=" + LIBRARY.encode("utf-8"), b"GODEBUG=multipathtcp=1"], [])


def test_plan_needs_the_library():
    with pytest.raises(AnsibleFilterError, match="the library path is required"):
        plan([{"name": "nginx"}], "/u", "")


def test_verify_default_comes_from_the_role():
    result = plan([{"name": "a"}, {"name": "b", "verify_listeners": True}], "/u", LIBRARY, False)
    assert [s["verify"] for s in result["services"]] == [False, True]


def test_preloaded_pids_from_grep():
    assert _mptcpize_role.preloaded_pids(["/proc/12/maps", "/proc/12/environ", "/proc/7/environ", "grep: x", ""]) == [12, 7]


# ---------------------------------------------------------------- what restarts

PLAN = plan([{"name": "web"}, {"name": "idle"}, {"name": "old", "state": "absent"}], "/u", LIBRARY)


def grep(*pids):
    """What grep -l prints when the processes PIDS have libmptcpwrap."""
    return ["/proc/%d/maps" % pid for pid in pids] + ["/proc/%d/environ" % pid for pid in pids]


def service(active=True, pid=100, reload_="no"):
    return {"LoadState": "loaded", "ActiveState": "active" if active else "inactive",
            "MainPID": str(pid if active else 0), "NeedDaemonReload": reload_}


def converged():
    return {"web.service": service(pid=100), "idle.service": service(active=False),
            "old.service": service(pid=300)}


def test_a_converged_host_needs_nothing():
    assert actions(PLAN, converged(), grep(100), []) == {"reload": False, "restart": []}


def test_changed_drop_ins():
    """A present service restarts (a stopped one starts); an absent one only
    if it runs."""
    assert actions(PLAN, converged(), grep(100), ["web", "idle", "old"]) == {
        "reload": True, "restart": ["web", "idle", "old"]}
    state = converged()
    state["old.service"] = service(active=False)
    assert actions(PLAN, state, grep(100), ["old"]) == {"reload": True, "restart": []}


def test_run_killed_after_writing_the_drop_ins():
    state = converged()
    state["web.service"]["NeedDaemonReload"] = "yes"
    state["old.service"]["NeedDaemonReload"] = "yes"
    assert actions(PLAN, state, grep(300), []) == {"reload": True, "restart": ["web", "old"]}


def test_run_killed_after_the_reload():
    """systemd has loaded the drop-ins, the processes predate them: web runs
    without libmptcpwrap, old still with it."""
    assert actions(PLAN, converged(), grep(300), []) == {"reload": False, "restart": ["web", "old"]}


def test_a_static_program_counts_by_its_environment():
    """A static Go program never maps libmptcpwrap; LD_PRELOAD in its
    environment is what says it runs with the drop-in."""
    assert actions(PLAN, converged(), ["/proc/100/environ"], []) == {"reload": False, "restart": []}


def test_a_service_without_a_main_process_is_left_alone():
    state = converged()
    state["web.service"]["MainPID"] = "0"  # e.g. oneshot with RemainAfterExit
    assert actions(PLAN, state, grep(), []) == {"reload": False, "restart": []}


def test_a_reload_due_for_an_unrelated_unit_reloads_only():
    state = converged()
    state["idle.service"]["NeedDaemonReload"] = "yes"
    assert actions(PLAN, state, grep(100), []) == {"reload": True, "restart": ["idle"]}


# ---------------------------------------------------------------- listeners


def test_listener_problems():
    after = {"web.service": {"MainPID": "100"}, "idle.service": {"MainPID": "0"}}
    listeners = [{"protocol": "mptcp", "local": "[::]:80", "pids": [100, 101]},
                 {"protocol": "tcp", "local": "127.0.0.1:8081", "pids": [100]},
                 {"protocol": "tcp", "local": "0.0.0.0:25", "pids": [55]}]
    assert listener_problems(PLAN, after, listeners) == [
        "web.service (pid 100) still listens on plain TCP at 127.0.0.1:8081", "idle.service is not running"]
    assert listener_problems(PLAN, after, listeners[2:], skip=["idle"]) == [
        "web.service (pid 100) has no MPTCP listener"]
    assert listener_problems(PLAN, after, listeners[:1], skip=["idle"]) == []
    quiet = plan([{"name": "web", "verify_listeners": False}], "/u", LIBRARY)
    assert listener_problems(quiet, {}, []) == []
