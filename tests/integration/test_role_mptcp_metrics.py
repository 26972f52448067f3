# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcp role with mptcp_metrics, on a host in a throw-away network
namespace and a private mount namespace: /etc behind an overlay, the
program, the journal, the textfile directory and node_exporter's defaults
file in directories of the test.

systemd is not PID 1 here: the real runs install the program only and say
so; a check-mode run with a private /run/systemd/system shows the units the
role would install, which `systemd-analyze verify` checks, and the program
run the way their ExecStart= and Environment= say writes metrics that the
kernel confirms. Back to false removes it all.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import shutil
import subprocess

import yaml

from conftest import SYSTEMD_BOOTED, Runner, mount_namespace_interpreter, overlay_etc
from test_role_mptcp import RoleRun, first_python
from test_role_mptcp_follow import unit_command

from ansible_collections.mptcp.linux.tests import quote_consumers as consumer

INSTALL = "Install the metrics exporter, its service and its timer as one set"
SCRAPE = "Scrape the MPTcpExt counters with node_exporter's netstat collector"
SKIP = "Skip the metrics timer, systemd is not running here"
# Debian's file in short: comments, ARGS, a comment after it.
DEFAULTS = ("# Set the command-line arguments to pass to the server.\n"
            "ARGS=\"--web.listen-address=:9100 --collector.netstat.fields=^(Tcp|Udp)_.*\"\n"
            "# --collector.textfile.directory=/var/lib/prometheus/node-exporter\n")


class MetricsHost(object):
    def __init__(self, netns, collections_path, tmp_path, setup=()):
        self.netns = netns
        self.tmp_path = tmp_path
        self.python = first_python()
        own = tmp_path / ("host-%d" % len(setup))  # two hosts (with and without systemd) share the rest
        own.mkdir()
        etc, self.etc_upper = overlay_etc(own)
        self.wrapper = mount_namespace_interpreter(own / "python", netns, self.python, etc + list(setup))
        self.runner = Runner(self.python, collections_path, tmp_path)
        self.lib = tmp_path / "lib"
        self.textfile = tmp_path / "textfile dir"  # a blank: the unit's quoting carries it
        self.defaults = tmp_path / "prometheus-node-exporter"

    def apply(self, role_vars, check=False):
        given = role_vars
        role_vars = dict(mptcp_install_packages=False, mptcp_persist=False, __mptcp_metrics_lib_dir=str(self.lib),
                         __mptcp_metrics_journal_dir=str(self.tmp_path / "journal"),
                         mptcp_metrics_textfile_dir=str(self.textfile), __mptcp_node_exporter_defaults=str(self.defaults),
                         __mptcp_node_exporter_binary=str(self.tmp_path / "no-node-exporter"))
        role_vars.update(given)
        path = self.tmp_path / "play.yml"
        path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False,
                                         "roles": [{"role": "mptcp.linux.mptcp", "vars": role_vars}]}]))
        tasks, dummy = self.runner.run_playbook(path, self.wrapper, ["--diff"] + (["--check"] if check else []))
        return RoleRun(tasks)

    def lib_files(self):
        return sorted(os.path.relpath(os.path.join(d, f), str(self.lib))
                      for d, dummy, files in os.walk(str(self.lib)) for f in files)


METRICS = {"mptcp_metrics": True, "mptcp_metrics_interval": "30s", "mptcp_metrics_node_exporter": True,
           "mptcp_endpoints": [{"address": "192.0.2.10", "id": 7, "flags": ["signal"]}]}


def test_metrics_install_run_twice_and_remove(netns, collections_path, tmp_path):
    host = MetricsHost(netns, collections_path, tmp_path)
    booted = MetricsHost(netns, collections_path, tmp_path, SYSTEMD_BOOTED)  # shares the program and textfile dirs
    host.defaults.write_text(DEFAULTS)

    # check mode where systemd runs: the changes in the diff (the units the
    # role would install, checked by systemd-analyze), nothing written
    plan = booted.apply(METRICS, check=True)
    assert not plan.failed, plan.failure()
    assert plan.result(INSTALL)["changed"] is True
    scrape = plan.result(SCRAPE)
    diff = scrape["diff"][0] if isinstance(scrape["diff"], list) else scrape["diff"]
    assert scrape["changed"] is True and "^MPTcpExt_" in diff["after"] and "^MPTcpExt_" not in diff["before"]
    assert not host.lib.exists() and not host.textfile.exists() and host.defaults.read_text() == DEFAULTS
    assert os.listdir(str(booted.etc_upper)) == []
    units = dict((os.path.basename(d["after_header"]), d["after"]) for d in plan.result(INSTALL)["diff"]
                 if d.get("after_header", "").startswith("/etc/systemd/system/"))
    assert sorted(units) == ["mptcp-metrics.service", "mptcp-metrics.timer"]
    assert "OnUnitActiveSec=30s" in units["mptcp-metrics.timer"]
    unit_dir = tmp_path / "units"
    unit_dir.mkdir()
    for name, text in units.items():
        (unit_dir / name).write_text(text)
    if shutil.which("systemd-analyze"):
        verify = subprocess.run(["systemd-analyze", "verify", str(unit_dir / "mptcp-metrics.service"),
                                 str(unit_dir / "mptcp-metrics.timer")], capture_output=True, text=True, check=False)
        assert verify.returncode == 0 and "ignoring" not in verify.stderr.lower(), verify.stderr

    # the real run: the program (no units: no systemd), ARGS extended and kept, one line says why no timer
    run = host.apply(METRICS)
    assert not run.failed, run.failure()
    assert host.lib_files() == ["ansible_collections/mptcp/linux/plugins/module_utils/%s" % name for name in
                                ("_metrics.py", "_netlink.py", "_quote.py", "_sockets.py", "_sysctl.py")]
    assert run.result(SKIP)["msg"].startswith("mptcp_metrics: true, and systemd is not running here")
    assert os.listdir(str(host.etc_upper)) == []  # no unit without systemd
    assert host.textfile.is_dir()
    lines = host.defaults.read_text().splitlines()
    assert lines[0] == DEFAULTS.splitlines()[0] and lines[2] == DEFAULTS.splitlines()[2]
    sourced = subprocess.run(["sh", "-c", '. "$0"; printf %s "$ARGS"', str(host.defaults)],
                             capture_output=True, text=True, check=True).stdout
    assert sourced == "--web.listen-address=:9100 --collector.netstat.fields=(?:^(Tcp|Udp)_.*)|^MPTcpExt_"
    fields = re.compile(sourced.split("=", 2)[2])
    assert fields.search("MPTcpExt_MPJoinSynRx") and fields.search("Tcp_InSegs") and not fields.search("Ip_Forwarding")

    # idempotent
    again = host.apply(METRICS)
    assert not again.failed and again.changed == 0, [n for n, r in again.tasks if r.get("changed")]

    # the program, run as the service says, writes what the kernel holds
    argv, environment = unit_command(units["mptcp-metrics.service"])
    assert argv[-1] == str(host.textfile / "mptcp.prom")
    subprocess.run(["ip", "netns", "exec", netns.name] + argv, env=dict(environment, PATH=os.environ["PATH"]),
                   check=True, timeout=60)
    parsed = consumer.prometheus_text((host.textfile / "mptcp.prom").read_bytes())
    samples = dict(((name, tuple(sorted(labels.items()))), value) for name, labels, value in parsed["samples"])
    assert samples[("mptcp_endpoints", ())] == str(len(netns.endpoints()))
    assert samples[("mptcp_endpoints_flagged", (("flag", "signal"),))] == "1"
    assert samples[("mptcp_limit_subflows", ())] == str(netns.limits()["subflows"])

    # back to false: program and output gone, ARGS stays extended
    removed = host.apply(dict(METRICS, mptcp_metrics=False))
    assert not removed.failed, removed.failure()
    assert not host.lib.exists() and not (host.textfile / "mptcp.prom").exists()
    assert "^MPTcpExt_" in host.defaults.read_text()


def test_bad_metrics_variables_are_refused_before_anything_changes(netns, collections_path, tmp_path):
    host = MetricsHost(netns, collections_path, tmp_path)
    before = netns.state()
    run = host.apply(dict(METRICS, mptcp_metrics_interval="often", mptcp_metrics_textfile_dir="/etc/metrics"))
    assert run.failed
    assert "mptcp_metrics_interval must be a systemd time span such as 30s, 1min or 1min 30s, not often" in run.failure()
    assert "mptcp_metrics_textfile_dir must not be / or under /usr, /boot, /efi, /etc" in run.failure()
    assert netns.state() == before and not host.lib.exists()
