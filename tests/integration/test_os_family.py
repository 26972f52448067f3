# -*- coding: utf-8 -*-
"""The roles on OS families other than Debian, with faked facts.

The roles are tested for real on Debian 12, 13 and 14 only. On another OS
family each role that installs packages either takes that family's names
from its table (RedHat: the distributions' documented names, untested) or
stops before it changes anything, naming the family and the variables that
would let it run. `ansible_facts` is faked per play (the roles read
ansible_facts.os_family and gather it only when it is missing); the oracle
of "nothing changed" is the namespace's state read with `ip` and /proc.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import sys

import pytest
import yaml

from conftest import INTERPRETERS, REPO, Runner, shell_wrapper

ROLES = {
    # role: (its package variables, extra variables for a run that reaches the packages)
    "mptcp": (["mptcp_packages"], {"mptcp_persist": False, "mptcp_endpoint_interfaces": ["lan0"]}),
    "mptcp_nginx": (["mptcp_nginx_packages", "mptcp_nginx_stream_packages"],
                    {"mptcp_nginx_streams": [{"name": "s", "listen": [{"port": 7001}], "proxy_pass": "127.0.0.1:7"}]}),
    "mptcpd": (["mptcpd_packages"], {"mptcpd_manage_service": False}),
    "mptcpize": (["mptcpize_packages"], {"mptcpize_services": [{"name": "demo"}]}),
}
EXPECTED = {
    "Debian": {"mptcp": ["python3-pyroute2", "iproute2"], "mptcp_nginx": ["nginx", "libnginx-mod-stream"],
               "mptcpd": ["mptcpd", "mptcpd-plugins", "python3-pyroute2"], "mptcpize": ["mptcpize"]},
    "RedHat": {"mptcp": ["python3-pyroute2", "iproute"], "mptcp_nginx": ["nginx", "nginx-mod-stream"],
               "mptcpd": ["mptcpd", "python3-pyroute2"], "mptcpize": ["mptcpd"]},
}


def _platform_play(family):
    """A play that loads each role's defaults and vars as the role does and
    reports the family's result of mptcp.linux.os_family_values."""
    tasks = []
    for role, (dummy, extra) in ROLES.items():
        for part in ("defaults", "vars"):
            tasks.append({"name": "%s %s" % (role, part),
                          "ansible.builtin.include_vars": "%s/roles/%s/%s/main.yml" % (REPO, role, part)})
        if extra:  # set_fact: above include_vars, which loaded the defaults
            tasks.append({"name": "%s variables" % role, "ansible.builtin.set_fact": extra})
        tasks.append({"name": "%s platform" % role, "ansible.builtin.debug": {"var": "__%s_platform" % role}})
    return {"hosts": "all", "gather_facts": False, "vars": {"ansible_facts": {"os_family": family}}, "tasks": tasks}


@pytest.mark.parametrize("family", ["Debian", "RedHat", "Suse"])
def test_each_role_takes_its_family_names_or_names_what_to_set(family, collections_path, tmp_path):
    runner = Runner(sys.executable, collections_path, tmp_path)
    path = tmp_path / "platform.yml"
    path.write_text(yaml.safe_dump([_platform_play(family)]))
    results = runner._run(path)
    platforms = dict((role, result["__%s_platform" % role]) for role in ROLES for result in results
                     if "__%s_platform" % role in result)
    assert sorted(platforms) == sorted(ROLES)
    for role, (variables, dummy) in ROLES.items():
        platform = platforms[role]
        if family in EXPECTED:
            assert platform["problems"] == [], (role, platform)
            assert platform["packages"] == EXPECTED[family][role], role
        else:
            [problem] = platform["problems"]
            assert platform["packages"] == []
            assert "mptcp.linux.%s has no values for this host's OS family 'Suse'" % role in problem
            assert "set %s" % ", ".join(variables) in problem, problem
            assert "untested: RedHat" in problem


def _first_python():
    if not INTERPRETERS:
        pytest.skip("no Python with pyroute2")
    return INTERPRETERS[0].values[0]


def _apply(runner, netns, role, role_vars, facts, check=False, wrapper=None):
    """Apply ROLE to the namespace host (through WRAPPER, an interpreter
    wrapper of the test's own, if given): [(task name, result)]."""
    play = [{"hosts": "all", "gather_facts": False, "roles": [{"role": "mptcp.linux." + role, "vars": role_vars}]}]
    path = runner.tmp_path / "play.yml"
    path.write_text(yaml.safe_dump(play))
    options = ["-e", json.dumps({"ansible_facts": facts})] if facts else []
    tasks, dummy = runner.run_playbook(path, wrapper or netns.interpreter(runner.tmp_path, runner.python),
                                       options + (["--check"] if check else []))
    # Task names come as "mptcp.linux.ROLE : name".
    return [(t["task"]["name"].split(" : ", 1)[-1], t["hosts"]["target"]) for t in tasks if "target" in t["hosts"]]


@pytest.mark.parametrize("role", ["mptcp", "mptcp_nginx", "mptcpd"])
def test_an_unknown_family_stops_the_role_before_any_change(role, collections_path, tmp_path, netns):
    runner = Runner(_first_python(), collections_path, tmp_path)
    before = netns.state()
    tasks = _apply(runner, netns, role, ROLES[role][1], {"os_family": "Archlinux"})
    name, result = tasks[-1]
    assert name == "Stop on an OS family without package names, before anything changes", tasks
    assert result["failed"]
    assert "OS family 'Archlinux'" in result["msg"] and "Nothing was changed." in result["msg"]
    for variable in ROLES[role][0]:
        assert variable in result["msg"]
    assert not any(r.get("changed") for dummy, r in tasks)
    assert not any(n == "Read the OS family, which names the packages" and not r.get("skipped") for n, r in tasks)
    assert netns.state() == before


def test_given_names_run_the_role_on_an_unknown_family(collections_path, tmp_path, netns):
    """The override named in the message works: with mptcp_packages given
    (here the Debian names, installed on this machine) the role runs."""
    runner = Runner(_first_python(), collections_path, tmp_path)
    role_vars = dict(ROLES["mptcp"][1], mptcp_packages=["iproute2"])
    tasks = _apply(runner, netns, "mptcp", role_vars, {"os_family": "Archlinux"}, check=True)
    assert not any(r.get("failed") for dummy, r in tasks), tasks
    assert dict(tasks)["Stop on an OS family without package names, before anything changes"].get("skipped") is not True


def test_a_read_that_finds_nothing_missing_spares_dpkg_and_the_family_read(collections_path, tmp_path, netns):
    """No facts, the packages by family: the role's first read (mptcp_info
    with host) finds pyroute2 and ip (on this machine), so the role neither
    asks dpkg nor reads the OS family nor opens the package manager, and
    reads the kernel once. Check mode."""
    runner = Runner(_first_python(), collections_path, tmp_path)
    tasks = dict(_apply(runner, netns, "mptcp", ROLES["mptcp"][1], None, check=True))
    read = tasks["Read the host and its MPTCP state"]
    assert read["host"]["missing"] == [] and "limits" in read, read
    # the task file with dpkg, the family read, the package manager and the second read
    assert tasks["Install the packages and read the MPTCP state again, where needed"].get("skipped") is True
    for absent in ("Install the packages the modules and the restore unit need, where missing",
                   "Read the MPTCP state again, now that pyroute2 is installed",
                   "Find which of the packages the modules and the restore unit need are missing",
                   "Read the OS family, which names the packages", "Install what the modules and the restore unit need"):
        assert absent not in tasks, absent


def test_given_names_are_asked_of_dpkg_even_when_nothing_is_missing(collections_path, tmp_path, netns):
    """mptcp_packages may name anything: dpkg is asked for them whatever the
    read found, and finds them installed here. Check mode."""
    runner = Runner(_first_python(), collections_path, tmp_path)
    role_vars = dict(ROLES["mptcp"][1], mptcp_packages=["iproute2"])
    tasks = dict(_apply(runner, netns, "mptcp", role_vars, None, check=True))
    assert tasks["Read the host and its MPTCP state"]["host"]["missing"] == []
    dpkg = tasks["Find which of the packages the modules and the restore unit need are missing"]
    assert dpkg["rc"] == 0 and dpkg["cmd"][-1] == "iproute2", dpkg
    assert tasks["Install what the modules and the restore unit need"].get("skipped") is True


def test_the_family_is_read_where_pyroute2_is_missing_and_dpkg_cannot_answer(collections_path, tmp_path, netns):
    """No facts, an interpreter without pyroute2 (python -S) and a
    dpkg-query that fails (as on a host without dpkg): the first read
    still answers and names pyroute2 missing, the role reads the OS family
    (Debian here) before it names any package to install, and, the check
    run having installed nothing, the second read stops the role, naming
    pyroute2. Check mode: the package manager is only asked."""
    runner = Runner(_first_python(), collections_path, tmp_path)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "dpkg-query").write_text("#!/bin/sh\necho 'dpkg-query: cannot read the database' >&2\nexit 2\n")
    (bindir / "dpkg-query").chmod(0o755)
    wrapper = shell_wrapper(tmp_path / "python-without-dpkg", "env", "PATH=%s:%s" % (bindir, os.environ["PATH"]),
                            "ip", "netns", "exec", netns.name, runner.python, "-S")
    before = netns.state()
    tasks = dict(_apply(runner, netns, "mptcp", ROLES["mptcp"][1], None, check=True, wrapper=wrapper))
    assert tasks["Read the host and its MPTCP state"]["host"]["missing"] == ["pyroute2"]
    assert tasks["Find which of the packages the modules and the restore unit need are missing"]["rc"] == 2
    gathered = tasks["Read the OS family, which names the packages"]
    assert gathered["ansible_facts"]["ansible_os_family"] == "Debian"
    assert tasks["Stop on an OS family without package names, before anything changes"].get("failed") is not True
    assert tasks["Install what the modules and the restore unit need"].get("skipped") is not True
    again = tasks["Read the MPTCP state again, now that pyroute2 is installed"]
    assert again["failed"] and "pyroute2" in again["msg"], again
    assert netns.state() == before


@pytest.mark.parametrize("bad_input", [False, True], ids=["kernel-only", "with-bad-input"])
def test_a_kernel_without_mptcp_is_refused_before_dpkg_is_asked(bad_input, collections_path, tmp_path, netns):
    """A kernel without MPTCP (socket(IPPROTO_MPTCP) fails with
    EPROTONOSUPPORT, as on a kernel built without CONFIG_MPTCP; faked by a
    sitecustomize in the managed node's interpreter) is refused by the
    first check, with any bad input in the same message: with mptcp_packages
    given, which makes the role ask dpkg, dpkg is never asked and nothing
    changes. Not check mode."""
    runner = Runner(_first_python(), collections_path, tmp_path)
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(
        "import errno, os, socket\n"
        "class _NoMptcp(socket.socket):\n"
        "    def __init__(self, family=-1, type=-1, proto=-1, fileno=None):\n"
        "        if proto == 262:\n"
        "            raise OSError(errno.EPROTONOSUPPORT, os.strerror(errno.EPROTONOSUPPORT))\n"
        "        super().__init__(family, type, proto, fileno)\n"
        "socket.socket = _NoMptcp\n")
    wrapper = shell_wrapper(tmp_path / "python-no-mptcp", "env", "PYTHONPATH=%s" % site,
                            "ip", "netns", "exec", netns.name, runner.python)
    role_vars = dict(ROLES["mptcp"][1], mptcp_packages=["iproute2"])
    if bad_input:
        role_vars["mptcp_scheduler"] = "no such scheduler\n"
    before = netns.state()
    tasks = [(name, result) for name, result in _apply(runner, netns, "mptcp", role_vars, None, wrapper=wrapper)
             if not name.startswith("Validating arguments")]
    # the weighing of the read changes nothing; the check stops the run
    assert [name for name, dummy in tasks] == ["Read the host and its MPTCP state",
                                               "Weigh the read against the variables",
                                               "Refuse bad input before touching the host"], tasks
    read, refused = tasks[0][1], tasks[2][1]
    assert read["usable"] is False and read["usable_errno"] == "EPROTONOSUPPORT", read
    assert refused["failed"]
    assert ("mptcp_scheduler" in refused["msg"]) is bad_input, refused["msg"]
    assert "MPTCP is not usable on" in refused["msg"] and read["usable_reason"] in refused["msg"], refused["msg"]
    assert netns.state() == before


def test_a_host_planned_from_the_second_read_once_pyroute2_is_there(collections_path, tmp_path, netns):
    """The first read finds pyroute2 missing (its interpreter runs with -S),
    so it has no endpoints or limits to plan from; dpkg finds the packages
    installed (on this machine), and the second read, where pyroute2 is
    found, is weighed: the controller plans from it, the dry run is
    skipped, and the host ends as asked. The kernel is the oracle, and a
    second run changes nothing."""
    runner = Runner(_first_python(), collections_path, tmp_path)
    first = tmp_path / "first-read-done"
    wrapper = tmp_path / "python-without-pyroute2-once"
    # the first execution (the read) without site-packages, the others with them
    script = ('#!/bin/sh\nif [ -e %s ]; then exec ip netns exec %s %s "$@"; fi\ntouch %s\n'
              'exec ip netns exec %s %s -S "$@"\n')
    wrapper.write_text(script % (first, netns.name, runner.python, first, netns.name, runner.python))
    wrapper.chmod(0o755)
    tasks = dict(_apply(runner, netns, "mptcp", ROLES["mptcp"][1], None, wrapper=str(wrapper)))
    assert tasks["Read the host and its MPTCP state"]["host"]["missing"] == ["pyroute2"]
    assert tasks["Find which of the packages the modules and the restore unit need are missing"]["rc"] == 0
    assert "limits" in tasks["Read the MPTCP state again, now that pyroute2 is installed"]
    plan = tasks["Weigh the second read"]["ansible_facts"]["__mptcp_run"]["read_plan"]
    assert plan["planned"] and plan["pending"], plan
    assert tasks["Dry-run the endpoints against the running kernel"].get("skipped") is True
    assert tasks["Set the limits and the endpoints"]["changed"]
    lan0 = [e for e in netns.endpoints() if e.get("dev") == "lan0"]
    assert lan0 and all(e["flags"] == ["subflow"] for e in lan0), netns.endpoints()
    assert [e["address"] for e in tasks["Set the limits and the endpoints"]["after"]] == [e["address"] for e in lan0]
    again = _apply(runner, netns, "mptcp", ROLES["mptcp"][1], None)
    assert not any(result.get("changed") for dummy, result in again), again
