# -*- coding: utf-8 -*-
"""benchmarks/fleet.py still works: a fleet of five namespace hosts, each
with its own sshd, through every workload with five forks (no time is
asserted; the figures live in docs/fleet.md). It measures what the
playbooks promise (one probe execution per client, a no-op that changes
nothing) and leaves no namespace, sshd or veth behind, interrupted or not."""

from __future__ import absolute_import, division, print_function

import json
import os
import signal
import subprocess
import sys
import time
import uuid

from conftest import REPO

FLEET = os.path.join(REPO, "benchmarks", "fleet.py")


def _sshd(prefix):
    """The pids of the sshd the benchmark started (their PidFile names the host)."""
    return subprocess.run(["pgrep", "-f", "sshd-%s-" % prefix], capture_output=True, text=True, check=False).stdout.split()


def _leftovers(prefix):
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    links = subprocess.run(["ip", "-br", "link"], capture_output=True, text=True, check=True).stdout
    return ([line for line in namespaces.splitlines() if line.startswith(prefix + "-")]
            + [line for line in links.splitlines() if line.startswith(prefix + "-")] + _sshd(prefix))


def _fleet(collections_path, tmp_path, prefix, *extra):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path)
    return [sys.executable, FLEET, "--prefix", prefix, "--nets", "10.92,10.93", "--output", str(tmp_path)] + list(extra), env


def test_fleet_of_five(collections_path, tmp_path):
    prefix = "mft" + uuid.uuid4().hex[:4]
    argv, env = _fleet(collections_path, tmp_path, prefix, "--sizes", "5", "--forks", "5")
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=600, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    with open(str(tmp_path / "fleet.json")) as handle:
        data = json.load(handle)
    (row,) = data["rows"]
    results = row["results"]
    servers, clients = ["%s-000" % prefix], ["%s-%03d" % (prefix, i) for i in range(1, 5)]
    assert results["ping"]["executions"] == dict.fromkeys(servers + clients, 1)
    # one probe execution per client whatever the number of servers
    assert all(results["verify"]["executions"][client] == 1 for client in clients), results["verify"]
    assert results["site-noop"]["changed"] == {}
    # A converged host without systemd: mptcp_info, which answers the
    # systemd, follow-unit and package questions too and reads what the
    # controller plans the endpoints from (no dry run); nothing else.
    assert results["site-noop"]["executions"] == dict.fromkeys(servers + clients, 1), results["site-noop"]
    assert sorted(results["site"]["changed"]) == sorted(servers + clients)
    # From scratch: the read, then the limits with the endpoints, which the
    # controller planned (no dry run); the sysctls already have their values.
    assert results["site"]["executions"] == dict.fromkeys(servers + clients, 2), results["site"]
    assert sorted(results["naive-noop"]["changed"]) == sorted(servers + clients)  # ansible.builtin.command always is
    assert all(result["wall"] > 0 for result in results.values())
    # the controller's CPU and the rest of the machine's: the hosts' modules
    # ran meanwhile, and no part took more than the CPUs had in that time
    for key, result in results.items():
        cpu = result["cpu"]
        assert cpu["controller"] > 0 and cpu["rest"] > 0, (key, cpu)
        assert cpu["controller"] + cpu["rest"] <= result["wall"] * data["cpus"] * 1.1, (key, result)
    # every task of the no-op timed, in the order it ran
    tasks = results["site-noop"]["tasks"]
    assert [name for name, dummy in tasks][1] == "mptcp.linux.mptcp : Read the host and its MPTCP state", tasks
    assert all(seconds >= 0 for dummy, seconds in tasks), tasks
    with open(str(tmp_path / "fleet-results.md")) as handle:
        table = handle.read()
    assert "| 5 | 5 | " in table and "--sizes 5 --forks 5" in table
    assert "| mptcp.linux.mptcp : Read the host and its MPTCP state | " in table
    assert "CPU seconds per host" in table
    # the same tables again from fleet.json, running nothing
    again = tmp_path / "again"
    rendered = subprocess.run([sys.executable, FLEET, "--render", str(tmp_path / "fleet.json"), "--output", str(again)],
                              capture_output=True, text=True, env=env, timeout=60, check=False)
    assert rendered.returncode == 0, rendered.stderr
    assert (again / "fleet-results.md").read_text() == table
    assert _leftovers(prefix) == []


def test_interrupted_fleet_cleans_up(collections_path, tmp_path):
    """SIGTERM while the fleet runs: namespaces, sshd and the veth go."""
    prefix = "mft" + uuid.uuid4().hex[:4]
    argv, env = _fleet(collections_path, tmp_path, prefix, "--sizes", "3", "--forks", "3")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        deadline = time.time() + 60
        while len(_sshd(prefix)) < 3:  # the fleet is up
            assert proc.poll() is None and time.time() < deadline, proc.communicate()
            time.sleep(0.1)
        proc.send_signal(signal.SIGTERM)
        dummy, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode != 0 and b"interrupted by signal 15" in stderr, stderr
    assert _leftovers(prefix) == []
    assert not (tmp_path / "fleet.json").exists()


def test_a_plot_python_that_is_not_there_stops_the_run_before_it_starts(collections_path, tmp_path):
    prefix = "mft" + uuid.uuid4().hex[:4]
    argv, env = _fleet(collections_path, tmp_path, prefix, "--sizes", "3", "--plot-python", "no-such-python")
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=60, check=False)
    assert proc.returncode == 2 and "--plot-python: no-such-python is neither" in proc.stderr, proc.stderr
    assert _leftovers(prefix) == [] and not (tmp_path / "fleet.json").exists()
