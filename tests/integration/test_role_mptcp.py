# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcp role applied to a throw-away network namespace, as a host.

The role runs through ansible-playbook against a host whose interpreter lives
in the namespace, with `mptcp_persist: false` and `mptcp_install_packages:
false`, so it changes the namespace's kernel state only. `ip`, `ip -j rule`,
`ip -j route` and /proc are the oracle. The boot-time restore files are
rendered in check mode (their content comes back in the diff) and replayed
with `ip -batch` into a second, fresh namespace, which must end up with the
same limits and endpoints. systemd itself (the unit, a reboot) is proven by
the `host` Molecule scenario.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from conftest import INTERPRETERS, REPO, SYSTEMD_BOOTED, VENV_BIN, Netns, Runner, ip, mount_namespace_interpreter, playbook_killed_at

OFFLINE = {"mptcp_persist": False, "mptcp_install_packages": False}
BASE = dict(OFFLINE, mptcp_endpoint_interfaces=["lan0", "lan1"], mptcp_limits_subflows=4,
            mptcp_limits_add_addr_accepted=3, mptcp_sysctls={"add_addr_timeout": 60})


class RoleRun(object):
    """One ansible-playbook run of the role: its tasks' names and results."""

    def __init__(self, tasks):
        self.tasks = [(t["task"]["name"], t["hosts"]["target"]) for t in tasks if "target" in t["hosts"]]

    @property
    def failed(self):
        return any(result.get("failed") for dummy, result in self.tasks)

    @property
    def changed(self):
        """How many tasks changed something (what the play recap counts)."""
        return sum(1 for dummy, result in self.tasks if result.get("changed"))

    def failure(self):
        """The message of the failed task that stopped the run (the last
        one: a rescue runs after the task it rescues)."""
        for dummy, result in reversed(self.tasks):
            if result.get("failed"):
                return result.get("msg", "")
        return None

    def result(self, name):
        found = [r for n, r in self.tasks if n.split(" : ", 1)[-1] == name]
        assert found, "no task %r in %s" % (name, [n for n, dummy in self.tasks])
        return found[-1]


class Host(object):
    def __init__(self, python, collections_path, tmp_path, netns):
        self.netns = netns
        self.runner = Runner(python, collections_path, tmp_path)
        self.tmp_path = tmp_path
        self.wrapper = netns.interpreter(tmp_path, python)

    def apply(self, role_vars, check=False, play_check_mode=False):
        """Apply the role; CHECK runs ansible-playbook --check,
        PLAY_CHECK_MODE sets the play's check_mode keyword instead."""
        play = [{"hosts": "all", "gather_facts": False,
                 "roles": [{"role": "mptcp.linux.mptcp", "vars": role_vars}]}]
        if play_check_mode:
            play[0]["check_mode"] = True
        path = self.tmp_path / "play.yml"
        path.write_text(yaml.safe_dump(play))
        tasks, dummy = self.runner.run_playbook(path, self.wrapper, ["--diff", "--check"] if check else ["--diff"])
        return RoleRun(tasks)

    def apply_killed(self, role_vars, task):
        """Apply the role and SIGKILL ansible-playbook and everything under
        it when it announces the task whose name contains TASK; True when
        it was killed there."""
        path = self.tmp_path / "play-killed.yml"
        path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False,
                                         "roles": [{"role": "mptcp.linux.mptcp", "vars": role_vars}]}]))
        killed, dummy = playbook_killed_at(
            [os.path.join(VENV_BIN, "ansible-playbook"), "-i", str(self.runner.write_inventory(self.wrapper)), str(path)],
            self.runner.env(), task)
        return killed

    def proc(self, path):
        return subprocess.run(["ip", "netns", "exec", self.netns.name, "cat", path],
                              check=True, capture_output=True, text=True).stdout.strip()

    def rules(self, family):
        return json.loads(self.netns.ip("-j", "-%d" % family, "rule", "show"))

    def table(self, family, table):
        out = subprocess.run(["ip", "-n", self.netns.name, "-j", "-%d" % family, "route", "show", "table", str(table)],
                             capture_output=True, text=True, check=False).stdout
        return json.loads(out) if out.strip() else []


def first_python():
    if not INTERPRETERS:
        pytest.skip("no Python with pyroute2 (pip install pyroute2, or apt-get install python3-pyroute2)")
    return INTERPRETERS[0].values[0]


@pytest.fixture
def host(collections_path, tmp_path, netns):
    return Host(first_python(), collections_path, tmp_path, netns)


@pytest.fixture(params=INTERPRETERS)
def host_each_python(request, collections_path, tmp_path, netns):
    return Host(request.param, collections_path, tmp_path, netns)


def test_check_mode_apply_twice(host_each_python):
    host = host_each_python
    before = host.netns.state()

    dry = host.apply(BASE, check=True)
    assert not dry.failed, dry.failure()
    assert dry.changed > 0
    assert host.netns.state() == before, "check mode changed the namespace"

    first = host.apply(BASE)
    assert not first.failed, first.failure()
    assert first.changed > 0
    state = host.netns.state()
    assert state["limits"] == {"subflows": 4, "add_addr_accepted": 3}
    assert state["sysctl"]["enabled"] == "1" and state["sysctl"]["add_addr_timeout"] == "60"
    assert sorted((e["address"], e["dev"], e["flags"]) for e in state["endpoints"]) == [
        ("192.0.2.10", "lan0", ["subflow"]), ("198.51.100.11", "lan1", ["subflow"]),
        ("2001:db8:1::10", "lan1", ["subflow"]), ("2001:db8::10", "lan0", ["subflow"]),
    ]

    second = host.apply(BASE)
    assert not second.failed, second.failure()
    assert second.changed == 0, [n for n, r in second.tasks if r.get("changed")]
    assert host.netns.state() == state

    again = host.apply(BASE, check=True)
    assert again.changed == 0, [n for n, r in again.tasks if r.get("changed")]


DRY_RUN = "Dry-run the endpoints against the running kernel"


def test_the_controller_plans_the_endpoints_and_bad_input_still_gets_the_dry_run(host):
    """The controller plans the endpoints from the first read: a host it
    can plan for costs no dry run, from scratch, converged or drifted (an
    endpoint deleted behind the role's back is set again); a dev of a
    missing interface is still refused by the dry run, with its message,
    before anything changes."""
    first = host.apply(BASE)
    assert not first.failed, first.failure()
    assert first.result(DRY_RUN).get("skipped") is True
    assert first.result("Set the limits and the endpoints")["changed"] is True
    assert first.result("Set the path manager limits").get("skipped") is True  # set with the endpoints
    converged = host.netns.state()

    noop = host.apply(BASE)
    assert not noop.failed, noop.failure()
    assert noop.changed == 0, [n for n, r in noop.tasks if r.get("changed")]
    assert noop.result(DRY_RUN).get("skipped") is True
    assert noop.result("Apply the sysctls, limits, endpoints and routing, undoing them if the kernel refuses one")[
        "skipped"] is True
    assert host.netns.state() == converged

    gone = [e for e in converged["endpoints"] if e["address"] == "198.51.100.11"][0]
    host.netns.ip("mptcp", "endpoint", "delete", "id", str(gone["id"]))
    fixed = host.apply(BASE)
    assert not fixed.failed, fixed.failure()
    assert fixed.result(DRY_RUN).get("skipped") is True
    assert fixed.result("Set the limits and the endpoints")["commands"] == ["ip mptcp endpoint add 198.51.100.11 dev lan1 subflow"]
    assert sorted((e["address"], e["dev"], e["flags"]) for e in host.netns.endpoints()) == sorted(
        (e["address"], e["dev"], e["flags"]) for e in converged["endpoints"])

    before = host.netns.state()
    bad = host.apply(dict(BASE, mptcp_endpoint_interfaces=["lan0", "lan1", "nosuch0"], mptcp_limits_subflows=5))
    assert bad.failed
    assert bad.result(DRY_RUN)["failed"] is True
    assert "config[2].dev: interface 'nosuch0' does not exist (interfaces here: " in bad.failure(), bad.failure()
    assert host.netns.state() == before


def path_manager_state(netns):
    """The limits and the endpoints, without the ids the kernel chose."""
    return netns.limits(), sorted((e["address"], e["dev"], e["flags"]) for e in netns.endpoints())


def test_two_runs_at_once_end_as_one_of_them_asked(collections_path, tmp_path, netns):
    """Two controllers apply the role to one host at once, asking for other
    limits and endpoints. The host starts with the first one's endpoints
    and the second one's limits, so that each run's read finds only one of
    the two to set. Whatever the order, the host ends as one run asked,
    never with one run's limits and the other's endpoints, and both runs
    succeed: each sets both, in one execution under the namespace's lock."""
    python = first_python()
    hosts = []
    for name in ("x", "y"):
        (tmp_path / name).mkdir()
        hosts.append(Host(python, collections_path, tmp_path / name, netns))
    asked = [dict(OFFLINE, mptcp_endpoint_interfaces=["lan0"], mptcp_endpoint_family="ipv4",
                  mptcp_endpoint_flags=["signal"], mptcp_limits_subflows=4, mptcp_limits_add_addr_accepted=3),
             dict(OFFLINE, mptcp_endpoint_interfaces=["lan1"], mptcp_endpoint_family="ipv4",
                  mptcp_endpoint_flags=["subflow"], mptcp_limits_subflows=6, mptcp_limits_add_addr_accepted=5)]
    wanted = []
    for one, role_vars in zip(hosts, asked):
        run = one.apply(role_vars)
        assert not run.failed, run.failure()
        wanted.append(path_manager_state(netns))
    assert wanted[1] == ({"subflows": 6, "add_addr_accepted": 5}, [("198.51.100.11", "lan1", ["subflow"])])
    back = hosts[0].apply(asked[0])
    assert not back.failed, back.failure()
    netns.ip("mptcp", "limits", "set", "subflows", "6", "add_addr_accepted", "5")
    assert path_manager_state(netns) == (wanted[1][0], wanted[0][1])

    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(lambda pair: pair[0].apply(pair[1]), zip(hosts, asked)))
    assert not any(run.failed for run in runs), [run.failure() for run in runs]
    assert path_manager_state(netns) in wanted


BASE_ENDPOINTS = [("192.0.2.10", "lan0", ["subflow"]), ("198.51.100.11", "lan1", ["subflow"]),
                  ("2001:db8:1::10", "lan1", ["subflow"]), ("2001:db8::10", "lan0", ["subflow"])]


@pytest.mark.parametrize("kill_at", ["Set the limits and the endpoints", "Loosen a strict rp_filter"])
def test_a_killed_run_is_completed_by_the_next(host, kill_at):
    """SIGKILL of ansible-playbook and everything under it as a step starts,
    the sysctls already written, the rp_filter not yet: the next run
    completes the host and says it changed something; the run after that
    changes nothing."""
    subprocess.run(["ip", "netns", "exec", host.netns.name, "sysctl", "-qw", "net.ipv4.conf.lan0.rp_filter=1",
                    "net.ipv4.conf.lan1.rp_filter=1"], check=True)  # strict: the last step has work to do

    def state():
        return dict(host.netns.state(), rp_filter=[host.proc("/proc/sys/net/ipv4/conf/%s/rp_filter" % name)
                                                   for name in ("lan0", "lan1")])
    role_vars = dict(BASE, mptcp_rp_filter_loosen=True)
    assert host.apply_killed(role_vars, kill_at)
    left = state()
    assert left["sysctl"]["add_addr_timeout"] == "60"  # the step before it ran
    assert left["rp_filter"] == ["1", "1"]
    run = host.apply(role_vars)
    assert not run.failed, run.failure()
    done = state()
    assert done["limits"] == {"subflows": 4, "add_addr_accepted": 3}
    assert path_manager_state(host.netns)[1] == BASE_ENDPOINTS
    assert done["rp_filter"] == ["2", "2"]
    assert run.changed > 0, "the host was left unfinished and the next run said ok"
    again = host.apply(role_vars)
    assert again.changed == 0, [n for n, r in again.tasks if r.get("changed")]
    assert state() == done


def test_overridden_removes_foreign_endpoints(host):
    host.netns.ip("mptcp", "endpoint", "add", "203.0.113.9", "signal")
    run = host.apply(dict(OFFLINE, mptcp_endpoint_interfaces=["lan1"], mptcp_endpoint_family="ipv4",
                          mptcp_endpoint_flags=["signal"]))
    assert not run.failed, run.failure()
    assert [(e["address"], e["flags"]) for e in host.netns.endpoints()] == [("198.51.100.11", ["signal"])]


ARGSPEC_ERRORS = {
    "mptcp_limits_subflows": "many",
    "mptcp_endpoint_manager": "systemd-networkd",
    "mptcp_endpoints_state": "deleted",
    "mptcp_endpoint_flags": ["signal", "turbo"],
    "mptcp_endpoints": [{"address": "192.0.2.10", "flags": ["subflow"], "weight": 3}],
    "mptcp_rp_filter_loosen": "perhaps",
}


def test_argument_specs_refuse(host):
    """Bad types, choices and keys: every one is named in the failure, and
    nothing changed."""
    before = host.netns.state()
    run = host.apply(dict(OFFLINE, **ARGSPEC_ERRORS))
    assert run.failed
    message = run.failure()
    assert "argument" in message.lower() or "validation" in message.lower(), message
    for name in list(ARGSPEC_ERRORS) + ["weight", "turbo", "systemd-networkd"]:
        assert name in message, (name, message)
    assert host.netns.state() == before


def test_role_checks_list_every_problem(host):
    """What a spec cannot check, the role does, all problems in one message,
    before anything changes (the limits were asked to change too)."""
    before = host.netns.state()
    run = host.apply(dict(OFFLINE, mptcp_limits_subflows=5, mptcp_limits_add_addr_accepted=9,
                          mptcp_endpoint_interfaces=["lan0;reboot", "a/b"], mptcp_sysctls={"enabled": False},
                          mptcp_endpoint_manager="mptcpd", mptcp_policy_routing=True))
    assert run.failed
    message = run.failure()
    for expected in ("mptcp_endpoint_interfaces[0]", "interface name a/b", "mptcp_sysctls: unknown knob enabled",
                     "mptcp_limits_add_addr_accepted must be 0 to 8", "mptcp_policy_routing needs"):
        assert expected in message, (expected, message)
    assert host.netns.state() == before


@pytest.mark.parametrize("role_vars, message", [
    ({"mptcp_endpoints": [{"address": "192.0.2.10", "id": 300, "flags": ["signal"]}]}, "id"),
    ({"mptcp_endpoints": [{"address": "192.0.2.10", "flags": ["signal", "fullmesh"]}]}, "fullmesh"),
    ({"mptcp_endpoint_interfaces": ["nosuch0"]}, "nosuch0"),
    ({"mptcp_scheduler": "nosuch"}, "nosuch"),
], ids=["endpoint-id", "flag-clash", "missing-interface", "scheduler"])
def test_kernel_refusals_change_nothing(host, role_vars, message):
    """Caught by the modules' dry run against the running kernel, before the
    limits, which come first, would have changed."""
    before = host.netns.state()
    run = host.apply(dict(dict(OFFLINE, mptcp_limits_subflows=5, mptcp_limits_add_addr_accepted=5), **role_vars))
    assert run.failed
    assert message in run.failure(), run.failure()
    assert host.netns.state() == before


def test_rp_filter_and_policy_routing(host):
    ns = host.netns
    subprocess.run(["ip", "netns", "exec", ns.name, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=1",
                    "net.ipv4.conf.lan0.rp_filter=1", "net.ipv4.conf.lan1.rp_filter=0"], check=True)
    ns.ip("route", "add", "default", "via", "192.0.2.1")
    role_vars = dict(OFFLINE, mptcp_endpoint_interfaces=["lan0", "lan1"], mptcp_endpoint_family="ipv4",
                     mptcp_rp_filter_loosen=True, mptcp_policy_routing=True)

    run = host.apply(role_vars)
    assert not run.failed, run.failure()
    # Strict before (lan0 itself, lan1 through conf/all), loose after;
    # conf/all is left alone.
    assert host.proc("/proc/sys/net/ipv4/conf/lan0/rp_filter") == "2"
    assert host.proc("/proc/sys/net/ipv4/conf/lan1/rp_filter") == "2"
    assert host.proc("/proc/sys/net/ipv4/conf/all/rp_filter") == "1"

    ids = dict((e["address"], e["id"]) for e in ns.endpoints())
    ours = sorted((r["src"], int(r["table"])) for r in host.rules(4) if r["priority"] == 1000)
    assert ours == sorted([("192.0.2.10", 100 + ids["192.0.2.10"]), ("198.51.100.11", 100 + ids["198.51.100.11"])])
    lan0 = host.table(4, 100 + ids["192.0.2.10"])
    assert sorted((r["dst"], r.get("gateway"), r["dev"]) for r in lan0) == [
        ("192.0.2.0/24", None, "lan0"), ("default", "192.0.2.1", "lan0")]
    lan1 = host.table(4, 100 + ids["198.51.100.11"])
    assert [(r["dst"], r.get("gateway"), r["dev"], r.get("prefsrc")) for r in lan1] == [
        ("198.51.100.0/24", None, "lan1", "198.51.100.11")]
    rules = (host.rules(4), host.rules(6), lan0, lan1)

    second = host.apply(role_vars)
    assert second.changed == 0, [n for n, r in second.tasks if r.get("changed")]
    assert (host.rules(4), host.rules(6), host.table(4, 100 + ids["192.0.2.10"]),
            host.table(4, 100 + ids["198.51.100.11"])) == rules

    # lan1 leaves the configuration: its endpoint, rule and (unused) table go.
    third = host.apply(dict(role_vars, mptcp_endpoint_interfaces=["lan0"]))
    assert not third.failed, third.failure()
    assert [r["src"] for r in host.rules(4) if r["priority"] == 1000] == ["192.0.2.10"]


def routing_state(host):
    """rp_filter, every rule, the tables 101..355 and the endpoints, as the kernel shows them."""
    ns = host.netns
    tables = []
    for family in (4, 6):
        out = ns.ip("-j", "-%d" % family, "route", "show", "table", "all")
        tables.append([r for r in json.loads(out or "[]")
                       if str(r.get("table", "")).isdigit() and 101 <= int(r["table"]) <= 355])
    return {"rp_filter": [host.proc("/proc/sys/net/ipv4/conf/%s/rp_filter" % n) for n in ("all", "lan0", "lan1")],
            "rules": [host.rules(4), host.rules(6)], "tables": tables, "endpoints": ns.endpoints()}


@pytest.mark.parametrize("how", ["--check", "check_mode keyword"])
def test_dry_run_with_routing_changes_nothing(host, how):
    """A dry run of the role with rp_filter loosening and policy routing on
    two interfaces completes, predicts the changes, and changes nothing:
    the endpoint the dry run would add has no id yet, so its routing is
    reported pending instead of failing."""
    ns = host.netns
    subprocess.run(["ip", "netns", "exec", ns.name, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=1",
                    "net.ipv4.conf.lan0.rp_filter=1", "net.ipv4.conf.lan1.rp_filter=0"], check=True)
    ns.ip("route", "add", "default", "via", "192.0.2.1")
    role_vars = dict(OFFLINE, mptcp_endpoint_interfaces=["lan1"], mptcp_endpoint_family="ipv4",
                     mptcp_endpoints=[{"address": "192.0.2.10", "id": 5, "dev": "lan0", "flags": ["subflow"]}],
                     mptcp_rp_filter_loosen=True, mptcp_policy_routing=True)
    before = routing_state(host)

    run = host.apply(role_vars, check=how == "--check", play_check_mode=how != "--check")
    assert not run.failed, run.failure()
    routing = run.result("Loosen a strict rp_filter and route each endpoint address out of its own interface")
    assert routing["changed"] is True
    assert routing["pending"] == [{"address": "198.51.100.11", "reason": "would be routed once the kernel assigns its id"}]
    assert routing["commands"] == [
        "sysctl -w net.ipv4.conf.lan0.rp_filter=2",
        "sysctl -w net.ipv4.conf.lan1.rp_filter=2",
        "ip -4 route add 192.0.2.0/24 dev lan0 src 192.0.2.10 table 105",
        "ip -4 route add default via 192.0.2.1 dev lan0 table 105",
        "ip -4 rule add from 192.0.2.10 table 105 priority 1000",
    ]
    assert routing["diff"]["after"]["rp_filter"] == {"all": 1, "lan0": 2, "lan1": 2}
    assert routing_state(host) == before, "the dry run changed the kernel state"


def test_restore_files_replay_the_state(host, tmp_path):
    """Apply, render the restore files in check mode, replay them with
    `ip -batch` into a fresh namespace: same limits and endpoints."""
    role_vars = dict(BASE, mptcp_endpoints=[{"address": "203.0.113.7", "id": 42, "flags": ["signal"]}])
    run = host.apply(role_vars)
    assert not run.failed, run.failure()
    applied = host.netns.state()

    # mptcp_persist: true needs systemd: a private /run/systemd/system.
    host.wrapper = mount_namespace_interpreter(tmp_path / "python-booted", host.netns, first_python(), SYSTEMD_BOOTED)
    rendered = host.apply(dict(role_vars, mptcp_persist=True, mptcp_restore_dir=str(tmp_path / "etc-mptcp")), check=True)
    assert not rendered.failed, rendered.failure()
    files = {}
    for result in rendered.result("Write the restore files")["results"]:
        for diff in result.get("diff", []):
            if "after" in diff:
                files[result["item"]] = diff["after"]
    unit = [d for d in rendered.result("Install the restore unit")["diff"] if "after" in d][0]
    assert rendered.result("Install the restore unit")["invocation"]["module_args"]["dest"] == \
        "/etc/systemd/system/mptcp-restore.service"
    assert "After=network-online.target" in unit["after"]
    assert "After=sys-subsystem-net-devices-lan0.device" in unit["after"]
    assert "ExecStart=ip -batch %s/mptcp.batch" % (tmp_path / "etc-mptcp") in unit["after"]
    assert not os.path.exists(str(tmp_path / "etc-mptcp")), "check mode wrote the restore files"

    lines = [line for line in files["mptcp.batch"].splitlines() if line and not line.startswith("#")]
    assert lines[:2] == ["mptcp endpoint flush", "mptcp limits set subflows 4 add_addr_accepted 3"]
    assert "mptcp endpoint add 203.0.113.7 id 42 signal" in lines
    assert len(lines) == 2 + len(applied["endpoints"])
    assert [line for line in files["routing-ipv4.batch"].splitlines() if not line.startswith("#")] == []

    fresh = Netns()
    try:
        batch = tmp_path / "mptcp.batch"
        batch.write_text(files["mptcp.batch"])
        ip("-n", fresh.name, "-batch", str(batch))
        assert fresh.limits() == applied["limits"]
        assert fresh.endpoints() == applied["endpoints"]
    finally:
        fresh.delete()


def run_site(host, inventory):
    path = host.tmp_path / "site-inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    return subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", str(path),
                           os.path.join(REPO, "playbooks", "site.yml")],
                          capture_output=True, text=True, check=False, env=host.runner.env())


def test_site_standalone_host(host):
    """An inventory without mptcp_servers/mptcp_clients (`-i localhost,`):
    the host is configured on its own, subflow endpoints."""
    host.netns.ip("mptcp", "limits", "set", "subflows", "0", "add_addr_accepted", "0")
    inventory = {"all": {"hosts": {"target": dict(OFFLINE, ansible_connection="local",
                                                  ansible_python_interpreter=host.wrapper,
                                                  mptcp_endpoint_interfaces=["lan0"], mptcp_endpoint_family="ipv4")}}}
    proc = run_site(host, inventory)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert host.netns.limits() == {"subflows": 2, "add_addr_accepted": 2}
    assert [(e["address"], e["flags"]) for e in host.netns.endpoints()] == [("192.0.2.10", ["subflow"])]
    again = run_site(host, inventory)
    assert "changed=0" in again.stdout and "failed=0" in again.stdout, again.stdout


def test_site_fleet_leaves_other_hosts_alone(host, tmp_path):
    server = Netns()
    try:
        server_python = server.interpreter(tmp_path, first_python())
        local = dict(OFFLINE, ansible_connection="local", mptcp_endpoint_interfaces=["lan1"],
                     mptcp_endpoint_family="ipv4")
        before = host.netns.state()
        proc = run_site(host, {"all": {
            "hosts": {"outsider": dict(local, ansible_python_interpreter=host.wrapper)},
            "children": {"mptcp_servers": {"hosts": {"server": dict(local, ansible_python_interpreter=server_python)}}},
        }})
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert [(e["address"], e["flags"]) for e in server.endpoints()] == [("198.51.100.11", ["signal"])]
        assert host.netns.state() == before, "a host outside the MPTCP groups was changed"
    finally:
        server.delete()
