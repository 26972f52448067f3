# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcp role and mptcp_sysctl where systemd is not PID 1 and where
/proc/sys is read-only: a container, a CI runner provisioning itself.

systemd is not PID 1 on this machine. Each host's interpreter runs in a
throw-away network namespace and a private mount namespace: /etc behind an
overlay whose upper directory receives every file written under /etc (the
oracle for "nothing written"), and, where a test says so, a tmpfs on
/run/systemd holding system/ (what sd_booted() checks) or /proc/sys
remounted read-only. `ip` and /proc are the oracle for the kernel state.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess

import pytest
import yaml

from conftest import (PROC_SYS_READ_ONLY, REPO, SYSTEMD_BOOTED, VENV_BIN, Runner, files_under, run_unit_role,
                      mount_namespace_interpreter, overlay_etc, run_module)
from test_failures import Listener
from test_role_mptcp import RoleRun, first_python

SKIPPED = ("mptcp_persist: auto, and systemd is not running here (no /run/systemd/system): persistence skipped, "
           "no sysctl.d file and no mptcp-restore.service written; the state applied now lasts until the next boot")
CHECK_TASK = "Refuse bad input before touching the host"


class Container(object):
    """A host in NETNS whose modules see an overlaid /etc, plus SETUP."""

    def __init__(self, netns, collections_path, tmp_path, setup=()):
        self.netns = netns
        self.tmp_path = tmp_path
        self.python = first_python()
        etc, self.etc_upper = overlay_etc(tmp_path)
        self.wrapper = mount_namespace_interpreter(tmp_path / "python-in-container", netns, self.python,
                                                   etc + list(setup))
        self.runner = Runner(self.python, collections_path, tmp_path)

    def apply(self, role_vars, check=False):
        path = self.tmp_path / "play.yml"
        path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False,
                                         "roles": [{"role": "mptcp.linux.mptcp", "vars": role_vars}]}]))
        tasks, dummy = self.runner.run_playbook(path, self.wrapper, ["--diff"] + (["--check"] if check else []))
        return RoleRun(tasks)

    def written_to_etc(self):
        return files_under(self.etc_upper)


@pytest.fixture
def container(netns, collections_path, tmp_path):
    return Container(netns, collections_path, tmp_path)


def run_site(container, host_vars):
    """`ansible-playbook -i localhost, -c local playbooks/site.yml`, the
    documented provisioning of a CI runner, with the default output."""
    inventory = container.tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": dict(
        host_vars, ansible_connection="local", ansible_python_interpreter=container.wrapper)}}}))
    return subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", str(inventory),
                           os.path.join(REPO, "playbooks", "site.yml")],
                          capture_output=True, text=True, check=False, env=container.runner.env())


def test_site_without_systemd_applies_the_runtime_state_and_writes_no_file(container):
    """Default variables (mptcp_persist: auto, packages checked): green, the
    kernel holds the state, one line says persistence was skipped and why,
    and nothing was written under /etc."""
    ns = container.netns
    ns.ip("mptcp", "limits", "set", "subflows", "0", "add_addr_accepted", "0")
    host_vars = {"mptcp_endpoint_interfaces": ["lan0", "lan1"], "mptcp_endpoint_family": "ipv4",
                 "mptcp_sysctls": {"add_addr_timeout": 60}}

    proc = run_site(container, host_vars)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert ns.limits() == {"subflows": 2, "add_addr_accepted": 2}
    assert [(e["address"], e["dev"], e["flags"]) for e in ns.endpoints()] == [
        ("192.0.2.10", "lan0", ["subflow"]), ("198.51.100.11", "lan1", ["subflow"])]
    sysctl = ns.sysctl()
    assert (sysctl["enabled"], sysctl["add_addr_timeout"]) == ("1", "60")
    assert [line for line in proc.stdout.splitlines() if "persistence skipped" in line] == ['    "msg": "%s"' % SKIPPED]
    assert container.written_to_etc() == []

    again = run_site(container, host_vars)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "changed=0" in again.stdout and "failed=0" in again.stdout, again.stdout
    assert container.written_to_etc() == []


def test_persist_true_without_systemd_fails_before_any_change(container):
    ns = container.netns
    ns.ip("mptcp", "limits", "set", "subflows", "0", "add_addr_accepted", "0")
    before = ns.state()
    run = container.apply({"mptcp_persist": True, "mptcp_install_packages": False, "mptcp_endpoint_interfaces": ["lan0"],
                           "mptcp_sysctls": {"add_addr_timeout": 60}})
    assert run.failed
    assert run.failure() == (
        "mptcp_persist: true needs systemd, which is not running here (no /run/systemd/system): nothing would apply "
        "the sysctl.d file or start mptcp-restore.service at a boot. Set mptcp_persist: auto (persist only where "
        "systemd runs) or false")
    assert [name.split(" : ", 1)[-1] for name, dummy in run.tasks][-1] == CHECK_TASK
    assert ns.state() == before
    assert container.written_to_etc() == []


def test_mptcpd_manager_without_systemd_fails_before_any_change(container):
    before = container.netns.state()
    run = container.apply({"mptcp_persist": False, "mptcp_install_packages": False, "mptcp_endpoint_manager": "mptcpd",
                           "mptcp_limits_subflows": 5})
    assert run.failed
    assert "mptcp_endpoint_manager mptcpd needs systemd" in run.failure(), run.failure()
    assert "mptcpd_manage_service: false" in run.failure(), run.failure()
    assert container.netns.state() == before


def test_auto_persists_where_systemd_runs(netns, collections_path, tmp_path):
    """sd_booted() true (a private /run/systemd/system): the dry run plans
    the sysctl.d file and the restore unit, and says nothing of skipping."""
    container = Container(netns, collections_path, tmp_path, SYSTEMD_BOOTED)
    run = container.apply({"mptcp_install_packages": False, "mptcp_endpoint_interfaces": ["lan0"],
                           "mptcp_restore_dir": str(tmp_path / "etc-mptcp")}, check=True)
    assert not run.failed, run.failure()
    sysctl = run.result("Set the net.mptcp sysctls")
    assert sysctl["invocation"]["module_args"]["persist"] is True
    assert sysctl["persist_path"] == "/etc/sysctl.d/90-mptcp.conf"
    assert run.result("Install the restore unit")["changed"] is True
    assert run.result(CHECK_TASK)["msg"] == "All assertions passed"  # nothing skipped, nothing to say
    assert container.written_to_etc() == []


# ---------------------------------------------------------------- /proc/sys read-only


@pytest.fixture
def read_only(netns, collections_path, tmp_path):
    return Container(netns, collections_path, tmp_path, PROC_SYS_READ_ONLY)


def test_proc_sys_is_read_only_in_the_wrapper(read_only):
    """The oracle's premise: a write through the wrapper is refused, and the
    machine's own /proc/sys stays writable."""
    proc = subprocess.run([read_only.wrapper, "-c", "open('/proc/sys/net/mptcp/add_addr_timeout', 'w').write('60')"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode != 0 and "Read-only file system" in proc.stderr, proc.stderr
    assert not os.statvfs("/proc/sys/net/mptcp").f_flag & os.ST_RDONLY


@pytest.mark.parametrize("check", [True, False], ids=["check", "real"])
def test_sysctl_module_refuses_a_read_only_proc_sys(read_only, module_path, tmp_path, check):
    """Knobs that must change: the module fails naming the cause and the
    remedies (in check mode too), writes no knob and stages no file."""
    persist = tmp_path / "sysctl.d"
    persist.mkdir()
    before = read_only.netns.sysctl()
    assert (before["enabled"], before["add_addr_timeout"], before["checksum_enabled"]) == ("1", "120", "0")
    result = run_module_in(read_only, module_path, {
        "enabled": True, "add_addr_timeout": 60, "checksum_enabled": True, "persist": True,
        "persist_path": str(persist / "90-mptcp.conf"), "_ansible_check_mode": check})
    assert result.get("failed") is True, result
    assert result["msg"] == (
        "/proc/sys/net/mptcp is read-only here (a read-only mount of /proc/sys, as in an unprivileged container), so "
        "net.mptcp.add_addr_timeout=60, net.mptcp.checksum_enabled=1 cannot be written. Nothing was changed. Run the "
        "container privileged (docker/podman run --privileged), or set the knobs when the container starts: "
        "--sysctl net.mptcp.add_addr_timeout=60 --sysctl net.mptcp.checksum_enabled=1")
    assert result["commands"] == []
    assert read_only.netns.sysctl() == before
    assert files_under(persist) == []


def run_module_in(container, module_path, args):
    """Run mptcp.linux.mptcp_sysctl through the container's interpreter."""
    return run_module(container.wrapper, module_path, "mptcp_sysctl", args)


def test_sysctl_module_passes_when_nothing_must_be_written(read_only, module_path):
    """A container started with the knobs already set (--sysctl) is fine."""
    result = run_module_in(read_only, module_path, {"enabled": True, "path_manager": "kernel"})
    assert result.get("failed") is not True, result
    assert result["changed"] is False


ROLE_VARS = {"mptcp_install_packages": False, "mptcp_endpoint_interfaces": ["lan0"], "mptcp_endpoint_family": "ipv4"}


def test_role_on_a_read_only_proc_sys_fails_before_any_change(read_only):
    """A sysctl must change: the role stops at it, before the limits and
    endpoints, with the remedies."""
    ns = read_only.netns
    ns.ip("mptcp", "limits", "set", "subflows", "0", "add_addr_accepted", "0")
    before = ns.state()
    run = read_only.apply(dict(ROLE_VARS, mptcp_sysctls={"add_addr_timeout": 60}))
    assert run.failed
    assert "--sysctl net.mptcp.add_addr_timeout=60" in run.failure(), run.failure()
    assert ns.state() == before


def test_role_on_a_read_only_proc_sys_with_the_sysctls_set(read_only):
    """The container holds the sysctls already (as --sysctl sets them): the
    role applies the limits and endpoints, which go through netlink."""
    ns = read_only.netns
    run = read_only.apply(ROLE_VARS)
    assert not run.failed, run.failure()
    assert ns.limits() == {"subflows": 2, "add_addr_accepted": 2}
    assert [(e["address"], e["flags"]) for e in ns.endpoints()] == [("192.0.2.10", ["subflow"])]
    assert read_only.written_to_etc() == []


# ---------------------------------------------------------------- the roles that need systemd


@pytest.mark.parametrize("role, unit_dir_var, role_vars, reason", [
    ("mptcp.linux.mptcp_socket", "__mptcp_socket_unit_dir",
     {"mptcp_socket_units": [{"name": "echo", "listen": ["7000"], "accept": True, "exec_start": ["/usr/bin/cat"]}]},
     "its socket units and drop-ins take effect only through systemd"),
    ("mptcp.linux.mptcpize", "__mptcpize_unit_dir", {"mptcpize_services": [{"name": "ssh"}]},
     "its drop-ins take effect only when systemd starts the services"),
    ("mptcp.linux.mptcpd", "__mptcpd_unused", {"mptcpd_install_packages": False},
     "it starts and restarts mptcp.service through systemd"),
], ids=["mptcp_socket", "mptcpize", "mptcpd"])
def test_roles_that_need_systemd_say_so_first(role_runner, role, unit_dir_var, role_vars, reason):
    """Without systemd as PID 1 (this machine): the role's first check after
    its input fails, naming the reason, and nothing was written."""
    failed, written = run_unit_role(role_runner, role, unit_dir_var, role_vars)
    assert failed is not None, "the role ran without systemd"
    name = role.rsplit(".", 1)[1]
    assert failed["msg"] == (
        "%s needs systemd, which is not running here (no /run/systemd/system, as in most containers and CI runners): "
        "%s. Nothing was changed.%s" % (name, reason, " Set mptcpd_manage_service: false to only write the "
                                                      "configuration." if name == "mptcpd" else ""))
    assert written == []


# ---------------------------------------------------------------- a refusal after earlier steps


@pytest.mark.parametrize("earlier", [None, "# a sysctl.d file of an earlier run\nnet.mptcp.add_addr_timeout = 55\n"],
                         ids=["no-file-before", "file-before"])
def test_refusal_after_earlier_steps_puts_them_back(netns, collections_path, tmp_path, earlier):
    """The dry run accepts a signal endpoint on a port that a plain TCP
    socket holds: the kernel refuses it only when the endpoint is added,
    after the sysctls (and their sysctl.d file, systemd being "booted") and
    the limits were written. The rescue puts those back, and the message
    names the refusal and what was put back."""
    container = Container(netns, collections_path, tmp_path, SYSTEMD_BOOTED)
    conf = container.etc_upper / "sysctl.d" / "90-mptcp.conf"
    if earlier is not None:
        conf.parent.mkdir()
        conf.write_text(earlier)
    before = netns.state()
    listener = Listener(netns, "192.0.2.10", 9000)
    try:
        run = container.apply({"mptcp_install_packages": False, "mptcp_restore_dir": str(tmp_path / "etc-mptcp"),
                               "mptcp_limits_subflows": 5, "mptcp_limits_add_addr_accepted": 5,
                               "mptcp_sysctls": {"add_addr_timeout": 77},
                               "mptcp_endpoints": [{"address": "192.0.2.10", "port": 9000, "flags": ["signal"]}]})
    finally:
        listener.close()
    assert run.failed
    assert run.result("Set the net.mptcp sysctls")["changed"]
    message = run.failure()
    assert message.startswith("Set the limits and the endpoints failed: ip mptcp endpoint add 192.0.2.10 port 9000 "
                              "signal: the kernel refused it"), message
    # the module put its limits back itself, the rescue the earlier steps
    assert ("The limits were put back (read back: subflows %(subflows)s add_addr_accepted %(add_addr_accepted)s). "
            "Rolled back what this run had changed before that step: the net.mptcp sysctls, "
            "/etc/sysctl.d/90-mptcp.conf%(removed)s. The host is as it was before the run."
            % dict(before["limits"], removed=" (removed)" if earlier is None else "")) in message, message
    assert netns.state() == before
    if earlier is None:
        assert container.written_to_etc() == []
    else:
        assert conf.read_text() == earlier
        assert container.written_to_etc() == ["sysctl.d/90-mptcp.conf"]
