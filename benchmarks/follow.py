# -*- coding: utf-8 -*-
"""Benchmark: what the follow endpoint manager (plugins/module_utils/_follow.py,
the program of mptcp-follow.service) costs a host.

Usage (root): python benchmarks/follow.py [--idle SECONDS] [--python PATH ...]

For each Python (default: /usr/bin/python3, which is what the unit runs,
and the one running this script), the service is started in a throw-away
network namespace following one veth interface, as the role configures it.
Printed per Python: pyroute2's version; the memory after the start pass
(VmRSS and Pss from /proc/PID/status and smaps_rollup); over --idle
seconds without events, the CPU time used and the context switches (0
means that it slept on its socket the whole time); then a burst of 100
address changes in about one second (ten `ip -batch` runs): the CPU time
it took and how long after the burst the endpoints were right.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TICK = float(os.sysconf("SC_CLK_TCK"))


def ip(*args):
    return subprocess.run(["ip"] + list(args), check=True, capture_output=True, text=True).stdout


def status(pid):
    fields = {}
    with open("/proc/%d/status" % pid) as handle:
        for line in handle:
            name, value = line.split(":", 1)
            fields[name] = value.split()
    with open("/proc/%d/smaps_rollup" % pid) as handle:
        for line in handle:
            if line.startswith("Pss:"):
                fields["Pss"] = line.split()[1:]
    return fields


def cpu(pid):
    with open("/proc/%d/stat" % pid) as handle:
        fields = handle.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def switches(pid):
    fields = status(pid)
    return int(fields["voluntary_ctxt_switches"][0]) + int(fields["nonvoluntary_ctxt_switches"][0])


def endpoints(ns):
    out = ip("-n", ns, "-j", "mptcp", "endpoint", "show").strip()
    return sorted(e["address"] for e in json.loads(out)) if out else []


def wait(predicate, deadline):
    start = time.monotonic()
    while not predicate():
        if time.monotonic() - start > deadline:
            raise SystemExit("not converged within %d s" % deadline)
        time.sleep(0.02)
    return time.monotonic() - start


def measure(python, idle, workdir):
    version = subprocess.run([python, "-c", "import pyroute2; print(pyroute2.__version__)"],
                             capture_output=True, text=True, check=True).stdout.strip()
    ns = "mptcp-bench-follow-%s" % uuid.uuid4().hex[:6]
    ip("netns", "add", ns)
    try:
        ip("-n", ns, "link", "add", "name", "eth1", "type", "veth", "peer", "name", "eth1p")
        ip("-n", ns, "link", "set", "eth1", "up")
        ip("-n", ns, "addr", "add", "10.1.0.1/24", "dev", "eth1")
        config = os.path.join(workdir, "follow.json")
        with open(config, "w") as handle:
            json.dump({"config": [{"dev": "eth1", "family": "ipv4", "flags": ["subflow"]}], "state": "overridden",
                       "debounce": 0.3}, handle)
        proc = subprocess.Popen(["ip", "netns", "exec", ns, python, "-m",
                                 "ansible_collections.mptcp.linux.plugins.module_utils._follow", config],
                                stdout=subprocess.DEVNULL, env=dict(os.environ, PYTHONPATH=workdir))
        try:
            wait(lambda: endpoints(ns) == ["10.1.0.1"], 30)
            time.sleep(1)
            memory = status(proc.pid)
            cpu0, sw0 = cpu(proc.pid), switches(proc.pid)
            time.sleep(idle)
            idle_cpu, idle_switches = cpu(proc.pid) - cpu0, switches(proc.pid) - sw0
            lines = []
            for n in range(1, 49):
                lines += ["address add 10.20.0.%d/24 dev eth1" % n, "address del 10.20.0.%d/24 dev eth1" % n]
            lines += ["address add 10.20.1.1/24 dev eth1", "address add 10.20.1.2/24 dev eth1",
                      "address add 10.20.1.3/24 dev eth1", "address del 10.20.1.2/24 dev eth1"]
            cpu1 = cpu(proc.pid)
            began = time.monotonic()
            for chunk in range(10):
                batch = os.path.join(workdir, "burst")
                with open(batch, "w") as handle:
                    handle.write("".join(line + "\n" for line in lines[chunk * 10:chunk * 10 + 10]))
                ip("-n", ns, "-batch", batch)
                time.sleep(max(0, began + 0.1 * (chunk + 1) - time.monotonic()))
            burst = time.monotonic() - began
            converged = wait(lambda: endpoints(ns) == ["10.1.0.1", "10.20.1.1", "10.20.1.3"], 30)
            time.sleep(1)
            burst_cpu = cpu(proc.pid) - cpu1
        finally:
            proc.terminate()
            proc.wait()
    finally:
        ip("netns", "delete", ns)
    print("%s (pyroute2 %s): VmRSS %s kB, Pss %s kB; idle %d s: CPU %.2f s, %d context switches; "
          "100 changes in %.2f s: CPU %.2f s, right %.2f s after the burst"
          % (python, version, memory["VmRSS"][0], memory["Pss"][0], idle, idle_cpu, idle_switches, burst,
             burst_cpu, converged))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--idle", type=int, default=60)
    parser.add_argument("--python", action="append")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="mptcp-bench-follow-")
    try:
        os.makedirs(os.path.join(workdir, "ansible_collections", "mptcp"))
        os.symlink(REPO, os.path.join(workdir, "ansible_collections", "mptcp", "linux"))
        for python in args.python or ["/usr/bin/python3", sys.executable]:
            measure(python, args.idle, workdir)
    finally:
        shutil.rmtree(workdir)


if __name__ == "__main__":
    main()
