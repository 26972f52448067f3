# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcp role with mptcp_endpoint_manager follow, on a host in a
throw-away network namespace and a private mount namespace: /etc behind an
overlay (its upper directory receives every file written under /etc), the
program and the staged_files journal in directories of the test.

systemd is not PID 1 here, so the role installs the service and says that
it is not started; the test starts the program the way the unit's
ExecStart= and Environment= say, inside the namespace, and the kernel shows
that it follows. `systemd-analyze verify` checks the unit. A run with a
private /run/systemd/system (what sd_booted() checks) in check mode shows
the start the role would make, with a followed interface whose address is
still to come. Switching back to static removes it all.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess

import yaml

from conftest import SYSTEMD_BOOTED, Runner, mount_namespace_interpreter, overlay_etc
from test_follow import wait_for
from test_role_mptcp import RoleRun, first_python

from ansible_collections.mptcp.linux.tests import quote_consumers as consumer

UNIT = "etc/systemd/system/mptcp-follow.service"
CONFIG = "etc/mptcp/follow.json"
NOT_STARTED = ("mptcp_endpoint_manager: follow, and systemd is not running here (no /run/systemd/system): "
               "mptcp-follow.service is installed but not started; the endpoints set now do not follow address "
               "changes until it runs")


class FollowHost(object):
    def __init__(self, netns, collections_path, tmp_path, setup=()):
        self.netns = netns
        self.tmp_path = tmp_path
        self.python = first_python()
        etc, self.etc_upper = overlay_etc(tmp_path)
        self.wrapper = mount_namespace_interpreter(tmp_path / "python-follow", netns, self.python, etc + list(setup))
        self.runner = Runner(self.python, collections_path, tmp_path)
        self.lib = tmp_path / "lib"
        self.journal = tmp_path / "journal"

    def apply(self, role_vars, check=False):
        role_vars = dict(role_vars, mptcp_install_packages=False, __mptcp_follow_lib_dir=str(self.lib),
                         __mptcp_follow_journal_dir=str(self.journal))
        path = self.tmp_path / "play.yml"
        path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False,
                                         "roles": [{"role": "mptcp.linux.mptcp", "vars": role_vars}]}]))
        tasks, dummy = self.runner.run_playbook(path, self.wrapper, ["--diff"] + (["--check"] if check else []))
        return RoleRun(tasks)

    def etc(self, relative):
        path = self.etc_upper / relative.split("/", 1)[1]
        return path.read_text() if path.exists() else None

    def lib_files(self):
        return sorted(os.path.relpath(os.path.join(d, f), str(self.lib))
                      for d, dummy, files in os.walk(str(self.lib)) for f in files)


FOLLOW = {"mptcp_endpoint_manager": "follow", "mptcp_endpoint_interfaces": ["lan1"], "mptcp_endpoint_family": "ipv4",
          "mptcp_endpoint_flags": ["subflow", "backup"],
          "mptcp_endpoints": [{"address": "203.0.113.9", "id": 42, "flags": ["signal"]}]}


def unit_command(unit):
    """(argv, environment) of the unit's one ExecStart=, as systemd reads
    them (the port of its reader in tests/quote_consumers.py)."""
    assignments, warnings = consumer.parse_unit(unit.encode("utf-8"))
    commands = [command for section, key, value in assignments if key == "ExecStart"
                for command in consumer.config_parse_exec(value, warnings)]
    env, warnings = consumer.unit_environment(unit.encode("utf-8"))
    assert len(commands) == 1 and warnings == [], (commands, warnings)
    argv = [_text(word) for word in commands[0][2]]
    return argv, dict(_text(assignment).split("=", 1) for assignment in env)


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else value


def test_follow_installs_runs_and_switches_back(netns, collections_path, tmp_path):
    host = FollowHost(netns, collections_path, tmp_path)
    before = netns.state()

    # check mode: the change in the diff, nothing written, nothing set
    dry = host.apply(FOLLOW, check=True)
    assert not dry.failed, dry.failure()
    install = dry.result("Install the follow service, its config and its unit as one set")
    assert install["changed"] is True
    diffs = dict((d["after_header"], d["after"]) for d in install["diff"])
    assert json.loads(diffs["/etc/mptcp/follow.json"])["config"][-1] == {
        "dev": "lan1", "family": "ipv4", "flags": ["subflow", "backup"]}
    assert netns.state() == before
    assert host.etc_upper and os.listdir(str(host.etc_upper)) == []
    assert not host.lib.exists()

    # the real run: endpoints set, the files installed, one line says the service is not started
    run = host.apply(FOLLOW)
    assert not run.failed, run.failure()
    assert run.result("Skip starting the follow service, systemd is not running here")["msg"] == NOT_STARTED
    assert sorted((e["address"], e["flags"], e["dev"]) for e in netns.endpoints()) == [
        ("198.51.100.11", ["backup", "subflow"], "lan1"), ("203.0.113.9", ["signal"], None)]
    assert host.lib_files() == ["ansible_collections/mptcp/linux/plugins/module_utils/%s" % name for name in
                                ("_endpoints.py", "_follow.py", "_lock.py", "_netlink.py", "_quote.py")]
    config = json.loads(host.etc(CONFIG))
    assert config["state"] == "overridden" and config["config"][0] == FOLLOW["mptcp_endpoints"][0]
    unit = host.etc(UNIT)
    assert "Before=network-online.target" in unit and "Type=notify" in unit
    unit_path = tmp_path / "mptcp-follow.service"
    unit_path.write_text(unit)
    verify = subprocess.run(["systemd-analyze", "verify", str(unit_path)], capture_output=True, text=True, check=False)
    assert verify.returncode == 0 and "ignoring" not in verify.stderr, verify.stderr

    # idempotent
    again = host.apply(FOLLOW)
    assert not again.failed and again.changed == 0, [n for n, r in again.tasks if r.get("changed")]

    # a changed flag: the dry run's diff shows it in the config, which stays as it is
    changed = host.apply(dict(FOLLOW, mptcp_endpoint_flags=["subflow"]), check=True)
    diff = [d for d in changed.result("Install the follow service, its config and its unit as one set")["diff"]
            if d.get("after_header") == "/etc/mptcp/follow.json"][0]
    assert '"backup"' in diff["before"] and '"backup"' not in diff["after"]
    assert json.loads(host.etc(CONFIG)) == config

    # the program, run as the unit says, follows the addresses
    argv, environment = unit_command(unit)
    assert argv[-1] == "/etc/mptcp/follow.json"
    argv[-1] = str(tmp_path / "follow.json")  # the overlay is private to the role's runs
    (tmp_path / "follow.json").write_text(host.etc(CONFIG))
    service = subprocess.Popen(["ip", "netns", "exec", netns.name] + argv, env=dict(environment, PATH=os.environ["PATH"]),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        netns.ip("addr", "add", "198.51.100.12/24", "dev", "lan1")
        wait_for("the service adds the new address", lambda: "198.51.100.12" in [e["address"] for e in netns.endpoints()],
                 deadline=20)
    finally:
        service.terminate()
        output = service.communicate(timeout=10)[0]
    assert "added 198.51.100.12 id" in output, output

    # mptcpd or NetworkManager next to it: refused before anything changes
    state = netns.state()
    refused = host.apply(dict(FOLLOW, mptcp_endpoint_manager="networkmanager"))
    assert refused.failed and "mptcp-follow.service (mptcp_endpoint_manager follow) is installed" in refused.failure()
    assert "remove_follow" in refused.failure()
    assert netns.state() == state and host.etc(UNIT) is not None

    # back to static: the service is gone, the endpoints are static's
    static = host.apply(dict(FOLLOW, mptcp_endpoint_manager="static"))
    assert not static.failed, static.failure()
    assert host.etc(UNIT) is None and host.etc(CONFIG) is None and not host.lib.exists()
    assert sorted((e["address"], e["flags"]) for e in netns.endpoints()) == [
        ("198.51.100.11", ["backup", "subflow"]), ("198.51.100.12", ["backup", "subflow"]), ("203.0.113.9", ["signal"])]
    assert host.apply(dict(FOLLOW, mptcp_endpoint_manager="static")).changed == 0


def test_where_systemd_runs_the_dry_run_plans_the_start(netns, collections_path, tmp_path):
    host = FollowHost(netns, collections_path, tmp_path, SYSTEMD_BOOTED)
    # lan1's DHCP lease is still to come: no endpoint for it now, the service adds it when it comes
    netns.ip("-4", "addr", "flush", "dev", "lan1")
    run = host.apply(dict(FOLLOW, mptcp_restore_dir=str(tmp_path / "etc-mptcp")), check=True)
    assert not run.failed, run.failure()
    assert [e["address"] for e in run.result("Set the limits and the endpoints")["after"]] == ["203.0.113.9"]
    assert run.result("Install the follow service, its config and its unit as one set")["changed"] is True
    assert run.result("Skip starting the follow service, systemd is not running here").get("skipped") is True
    # the restore unit restores the limits only: the endpoints are the service's
    batch = [d["after"] for r in run.result("Write the restore files")["results"] if r["item"] == "mptcp.batch"
             for d in r["diff"] if "after" in d][0]
    commands = [line for line in batch.splitlines() if line and not line.startswith("#")]
    assert commands == ["mptcp limits set subflows 2 add_addr_accepted 2"]
    # ... and waits for no interface: a followed one may be plugged in later
    unit = [d["after"] for d in run.result("Install the restore unit")["diff"] if "after" in d][0]
    assert "After=network-online.target" in unit and "sys-subsystem-net-devices" not in unit, unit
    assert os.listdir(str(host.etc_upper)) == []
