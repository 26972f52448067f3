# -*- coding: utf-8 -*-
"""Benchmark: one lab host's full MPTCP state (10 sysctls, limits, 8
endpoints) applied from scratch and re-applied (no-op), with this collection
and the naive way (ansible.posix.sysctl per key, ip per endpoint).

Usage (root): python benchmarks/converge.py [--runs N]
Prints, per variant, the wall time of ansible-playbook and the sum of the
tasks' own times (ansible.posix.profile_tasks), the median of N runs.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
NS = "mptcp-bench"
SYSCTLS = {"enabled": 1, "path_manager": "kernel", "checksum_enabled": 0, "allow_join_initial_addr_port": 1,
           "add_addr_timeout": 60, "stale_loss_cnt": 4, "close_timeout": 30, "blackhole_timeout": 600,
           "syn_retrans_before_tcp_fallback": 2, "scheduler": "default"}
ENDPOINTS = [{"address": "10.80.0.%d" % n, "id": n, "flags": ["signal"] if n % 2 else ["subflow"]} for n in range(1, 9)]
TASK_TIME = re.compile(r"^(.+?) -+ (\d+\.\d+)s$")


def run(*argv):
    subprocess.run(argv, check=True, capture_output=True)


def reset():
    subprocess.run(["ip", "netns", "delete", NS], capture_output=True, check=False)
    run("ip", "netns", "add", NS)
    run("ip", "-n", NS, "link", "set", "lo", "up")
    run("ip", "-n", NS, "link", "add", "name", "b0", "type", "veth", "peer", "name", "b1")
    for n in range(1, 9):
        run("ip", "-n", NS, "addr", "add", "10.80.0.%d/24" % n, "dev", "b0")
    run("ip", "-n", NS, "link", "set", "b0", "up")


def playbook(tmp, name):
    env = dict(os.environ, ANSIBLE_CALLBACKS_ENABLED="ansible.posix.profile_tasks",
               ANSIBLE_COLLECTIONS_PATH=os.environ.get("ANSIBLE_COLLECTIONS_PATH", os.path.join(REPO, ".build", "collections")),
               PROFILE_TASKS_TASK_OUTPUT_LIMIT="100", ANSIBLE_NOCOLOR="1")
    started = time.time()
    proc = subprocess.run([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", os.path.join(tmp, "inventory.json"),
                           "-e", "@" + os.path.join(tmp, "vars.json"), os.path.join(HERE, name)],
                          capture_output=True, text=True, env=env, check=False)
    wall = time.time() - started
    if proc.returncode != 0:
        raise SystemExit("%s failed:\n%s%s" % (name, proc.stdout, proc.stderr))
    tasks = sum(float(m.group(2)) for m in (TASK_TIME.match(l.strip()) for l in proc.stdout.splitlines()) if m)
    return wall, tasks


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--verbose", action="store_true", help="print each task's time")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="mptcp-bench.")
    try:
        wrapper = os.path.join(tmp, "python")
        with open(wrapper, "w") as handle:
            handle.write('#!/bin/sh\nexec ip netns exec %s %s "$@"\n' % (NS, sys.executable))
        os.chmod(wrapper, 0o755)
        with open(os.path.join(tmp, "inventory.json"), "w") as handle:
            json.dump({"all": {"hosts": {NS: {"ansible_connection": "local", "ansible_python_interpreter": wrapper}}}}, handle)
        with open(os.path.join(tmp, "vars.json"), "w") as handle:
            json.dump({"bench_sysctl_file": os.path.join(tmp, "90-mptcp.conf"), "bench_sysctls": SYSCTLS,
                       "bench_endpoints": ENDPOINTS}, handle)
        results = {}
        for variant, name in (("mptcp.linux", "collection.yml"), ("naive", "naive.yml")):
            for phase in ("apply", "no-op"):
                results[(variant, phase)] = []
            for dummy in range(args.runs):
                reset()
                if os.path.exists(os.path.join(tmp, "90-mptcp.conf")):
                    os.unlink(os.path.join(tmp, "90-mptcp.conf"))
                results[(variant, "apply")].append(playbook(tmp, name))
                results[(variant, "no-op")].append(playbook(tmp, name))
        print("%-12s %-6s %10s %12s" % ("variant", "phase", "wall (s)", "tasks (s)"))
        medians = {}
        for (variant, phase), samples in results.items():
            wall = statistics.median(s[0] for s in samples)
            tasks = statistics.median(s[1] for s in samples)
            medians[(variant, phase)] = (wall, tasks)
            print("%-12s %-6s %10.2f %12.2f" % (variant, phase, wall, tasks))
        for phase in ("apply", "no-op"):
            ours, naive = medians[("mptcp.linux", phase)], medians[("naive", phase)]
            print("%s: naive / mptcp.linux = %.1fx end to end, %.1fx task time"
                  % (phase, naive[0] / ours[0], naive[1] / ours[1]))
    finally:
        subprocess.run(["ip", "netns", "delete", NS], capture_output=True, check=False)
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
