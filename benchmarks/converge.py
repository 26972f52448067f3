# -*- coding: utf-8 -*-
"""Benchmark: one lab host's full MPTCP state (10 sysctls, limits, 8
endpoints) applied from scratch and re-applied (no-op), with this collection
and the naive way (ansible.posix.sysctl per key, ip per endpoint).

Usage (root): python benchmarks/converge.py [--runs N] [--connection local|ssh|vm]
Prints, per variant, the wall time of ansible-playbook and the sum of the
tasks' own times (ansible.posix.profile_tasks), the median of N runs.

The host is a network namespace. `--connection local` reaches it through an
`ip netns exec` interpreter wrapper; `--connection ssh` runs an sshd inside it
(needs openssh-server installed; no service is started outside the
namespace) and connects over a veth link the way a fleet is reached: SSH with
pipelining and ControlPersist. `--connection vm` boots a Debian forky guest
(kernel 7.2, which has every knob of the benchmark) with the Molecule
harness (tools/vm/vm.py, QEMU) and measures a namespace inside it over SSH:
a host with its own kernel and the per-task cost of a remote machine. Run it
holding every VM slot of the harness, so that no scenario runs beside it:
flock ~/.cache/mptcp-linux/vm-slot.0.lock flock ~/.cache/mptcp-linux/vm-slot.1.lock python ...
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import re
import shlex
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


VM_SCENARIO = "benchmark"
VM_PYTHON = "/root/mptcp-bench-python"
VM_SYSCTL_FILE = "/root/90-mptcp.conf"


def run(*argv):
    subprocess.run(argv, check=True, capture_output=True)


def host_namespace():
    """The commands that give the measured host a fresh namespace with 8 addresses."""
    commands = [["ip", "netns", "add", NS], ["ip", "-n", NS, "link", "set", "lo", "up"],
                ["ip", "-n", NS, "link", "add", "name", "b0", "type", "veth", "peer", "name", "b1"]]
    commands += [["ip", "-n", NS, "addr", "add", "10.80.0.%d/24" % n, "dev", "b0"] for n in range(1, 9)]
    return commands + [["ip", "-n", NS, "link", "set", "b0", "up"]]


def reset(tmp, connection, vm=None):
    if connection == "vm":
        script = "ip netns delete %s 2>/dev/null || true\nrm -f %s\n" % (NS, VM_SYSCTL_FILE)
        script += "".join(" ".join(shlex.quote(arg) for arg in argv) + "\n" for argv in host_namespace())
        subprocess.run(vm_ssh(vm, ["sh", "-e"]), input=script, text=True, check=True, capture_output=True)
        return
    subprocess.run(["ip", "netns", "delete", NS], capture_output=True, check=False)
    for argv in host_namespace()[:2]:
        run(*argv)
    if connection == "ssh":
        start_sshd(tmp)
    for argv in host_namespace()[2:]:
        run(*argv)


def vm_ssh(vm, command):
    return ["ssh", "-i", vm["identity_file"], "-p", str(vm["port"]), "-o", "BatchMode=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR",
            "%s@%s" % (vm["user"], vm["address"])] + command


def boot_vm():
    """A forky guest of the Molecule harness; its interpreter runs in the namespace."""
    created = subprocess.run([sys.executable, os.path.join(REPO, "tools", "vm", "vm.py"), "create",
                              "--scenario", VM_SCENARIO, "--platforms", json.dumps([{"name": "bench", "suite": "forky"}])],
                             check=True, capture_output=True, text=True)
    vm = json.loads(created.stdout)[0]
    wrapper = "#!/bin/sh\nexec ip netns exec %s /usr/bin/python3 \"$@\"\n" % NS
    subprocess.run(vm_ssh(vm, ["sh", "-c", "cat > %s && chmod 755 %s" % (VM_PYTHON, VM_PYTHON)]),
                   input=wrapper, text=True, check=True, capture_output=True)
    return vm


SSH_HOST, SSH_PORT = "10.79.0.2", 2222


def start_sshd(tmp):
    """An sshd inside the namespace, reachable from here over a veth link; it
    dies with the namespace's processes when reset() deletes it."""
    subprocess.run(["ip", "link", "delete", "mptcp-bench0"], capture_output=True, check=False)
    run("ip", "link", "add", "mptcp-bench0", "type", "veth", "peer", "name", "eth0", "netns", NS)
    run("ip", "addr", "add", "10.79.0.1/30", "dev", "mptcp-bench0")
    run("ip", "link", "set", "mptcp-bench0", "up")
    run("ip", "-n", NS, "addr", "add", SSH_HOST + "/30", "dev", "eth0")
    run("ip", "-n", NS, "link", "set", "eth0", "up")
    if not os.path.exists(os.path.join(tmp, "id")):
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(tmp, "id"))
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(tmp, "host_key"))
        shutil.copy(os.path.join(tmp, "id.pub"), os.path.join(tmp, "authorized_keys"))
    if not os.path.isdir("/run/sshd"):  # sshd's privilege separation directory
        os.makedirs("/run/sshd", 0o755)
    run("ip", "netns", "exec", NS, "/usr/sbin/sshd", "-f", "/dev/null", "-h", os.path.join(tmp, "host_key"),
        "-o", "ListenAddress=%s:%d" % (SSH_HOST, SSH_PORT), "-o", "PermitRootLogin=prohibit-password",
        "-o", "AuthorizedKeysFile=" + os.path.join(tmp, "authorized_keys"), "-o", "StrictModes=no",
        "-o", "PidFile=" + os.path.join(tmp, "sshd.pid"), "-o", "UsePAM=no")
    deadline = time.time() + 10
    while subprocess.run(["ssh", "-i", os.path.join(tmp, "id"), "-p", str(SSH_PORT), "-o", "BatchMode=yes",
                          "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                          "root@" + SSH_HOST, "true"], capture_output=True, check=False).returncode:
        if time.time() > deadline:
            raise SystemExit("sshd in %s did not accept a login" % NS)
        time.sleep(0.2)


def host_vars(tmp, connection, vm=None):
    if connection == "vm":
        return ssh_vars(tmp, vm["address"], vm["port"], vm["user"], vm["identity_file"], VM_PYTHON)
    if connection == "local":
        wrapper = os.path.join(tmp, "python")
        with open(wrapper, "w") as handle:
            handle.write('#!/bin/sh\nexec ip netns exec %s %s "$@"\n' % (NS, sys.executable))
        os.chmod(wrapper, 0o755)
        return {"ansible_connection": "local", "ansible_python_interpreter": wrapper}
    return ssh_vars(tmp, SSH_HOST, SSH_PORT, "root", os.path.join(tmp, "id"), sys.executable)


def ssh_vars(tmp, host, port, user, key, python):
    """A host reached the way a fleet is: SSH with pipelining and ControlPersist."""
    return {"ansible_connection": "ssh", "ansible_host": host, "ansible_port": port, "ansible_user": user,
            "ansible_ssh_private_key_file": key, "ansible_ssh_pipelining": True,
            "ansible_ssh_common_args": "-o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null"
                                       " -o ControlMaster=auto -o ControlPersist=60s"
                                       " -o ControlPath=%s/cm-%%C" % tmp,
            "ansible_python_interpreter": python}


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
    parser.add_argument("--connection", choices=("local", "ssh", "vm"), default="local")
    args = parser.parse_args()
    tmp = tempfile.mkdtemp(prefix="mptcp-bench.")
    vm = None
    try:
        if args.connection == "vm":
            vm = boot_vm()
        with open(os.path.join(tmp, "inventory.json"), "w") as handle:
            json.dump({"all": {"hosts": {NS: host_vars(tmp, args.connection, vm)}}}, handle)
        sysctl_file = VM_SYSCTL_FILE if vm else os.path.join(tmp, "90-mptcp.conf")
        with open(os.path.join(tmp, "vars.json"), "w") as handle:
            json.dump({"bench_sysctl_file": sysctl_file, "bench_sysctls": SYSCTLS,
                       "bench_endpoints": ENDPOINTS}, handle)
        results = {}
        for variant, name in (("mptcp.linux", "collection.yml"), ("naive", "naive.yml")):
            for phase in ("apply", "no-op"):
                results[(variant, phase)] = []
            for dummy in range(args.runs):
                reset(tmp, args.connection, vm)
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
        subprocess.run(["ip", "link", "delete", "mptcp-bench0"], capture_output=True, check=False)
        if vm:
            subprocess.run([sys.executable, os.path.join(REPO, "tools", "vm", "vm.py"), "destroy",
                            "--scenario", VM_SCENARIO], capture_output=True, check=False)
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
