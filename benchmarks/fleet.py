# -*- coding: utf-8 -*-
"""Benchmark: a fleet of N hosts, each a network namespace with its own sshd,
configured, checked and reported on by the collection's playbooks, next to
`ansible -m ping` (the floor: one round trip per host) and the naive way.

Usage (root, from the repository, with the venv that has ansible):
  python benchmarks/fleet.py [--sizes 10,50,100] [--forks 10,50] [--runs 1]
                             [--output docs] [--plot-python PYTHON]

For each N and forks, on a fresh fleet: ping, playbooks/site.yml from
scratch, site.yml again (no-op), playbooks/verify.yml, playbooks/info.yml;
then on another fresh fleet benchmarks/naive.yml (ansible.posix.sysctl per
key, `ip mptcp` commands) from scratch and again, for the same state. Each
figure is the wall time of the ansible(-playbook) process, the median of
--runs, with the CPU time of the controller and of the rest of the machine
meanwhile (/proc/stat). A callback
(benchmarks/callback_plugins/mptcp_fleet_count.py) counts the module
executions per host of each workload and times each task.

The fleet: a namespace of the benchmark's own holds two bridges, one per
path (10.90.0.0/16 and 10.91.0.0/16 by default). Each host namespace has eth0 on the
first and eth1 on the second. The controller reaches eth0 over a veth from
this namespace, by SSH with pipelining and ControlPersist, as a fleet is
reached. Servers (10 % of N, at least one) announce eth1's address
(signal), clients open a subflow from eth1: verify.yml expects 2 subflows.

Writes OUTPUT/fleet-results.md (tables and the command), OUTPUT/fleet.json
and, with matplotlib (benchmarks/requirements.txt) in --plot-python,
OUTPUT/fleet.svg; --render FLEET_JSON writes the two again from an earlier
run's figures, running nothing. Everything it creates (namespaces, sshd, the
veth, a temp directory) is removed at the end, on Ctrl-C or SIGTERM too, and
leftovers of an interrupted earlier run with the same --prefix are removed
at the start.
"""

from __future__ import absolute_import, division, print_function

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import converge  # noqa: E402  pylint: disable=wrong-import-position

WORKLOADS = [("ping", "ping"), ("site", "site.yml from scratch"), ("site-noop", "site.yml no-op"),
             ("verify", "verify.yml"), ("info", "info.yml"), ("naive", "naive from scratch"),
             ("naive-noop", "naive no-op")]
SSH_PORT = 22
HOST_PYTHON = "/usr/bin/python3"  # Debian's, with python3-pyroute2: what a fleet host has


class Fleet(object):
    """N namespaces joined by two bridges in a hub namespace, each with an sshd."""

    def __init__(self, prefix, size, tmp, nets):
        self.prefix, self.size, self.tmp, self.nets = prefix, size, tmp, nets
        self.hub = prefix + "-hub"
        self.uplink = prefix + "-c"
        self.hosts = ["%s-%03d" % (prefix, i) for i in range(size)]
        self.servers = self.hosts[:max(1, size // 10)]

    def address(self, index, path):
        return "%s.%d.%d" % (self.nets[path], index // 250, index % 250 + 1)

    def controller_address(self):
        return "%s.255.254" % self.nets[0]

    def create(self):
        cleanup(self.prefix)
        run("ip", "netns", "add", self.hub)
        for name in self.hosts:
            run("ip", "netns", "add", name)
        hub = ["link set lo up", "link add br0 type bridge", "link add br1 type bridge",
               "link set br0 up", "link set br1 up"]
        for index, name in enumerate(self.hosts):
            for path in (0, 1):
                hub.append("link add h%d.%d type veth peer name eth%d netns %s" % (index, path, path, name))
                hub.append("link set h%d.%d master br%d up" % (index, path, path))
        run("ip", "link", "add", self.uplink, "type", "veth", "peer", "name", "up0", "netns", self.hub)
        batch(self.hub, hub + ["link set up0 master br0 up"])
        run("ip", "addr", "add", self.controller_address() + "/16", "dev", self.uplink)
        run("ip", "link", "set", self.uplink, "up")
        for index, name in enumerate(self.hosts):
            batch(name, ["link set lo up"]
                  + ["addr add %s/16 dev eth%d" % (self.address(index, path), path) for path in (0, 1)]
                  + ["link set eth%d up" % path for path in (0, 1)])
        keys(self.tmp)
        if not os.path.isdir("/run/sshd"):  # sshd's privilege separation directory
            os.makedirs("/run/sshd", 0o755)
        for index, name in enumerate(self.hosts):
            run("ip", "netns", "exec", name, "/usr/sbin/sshd", "-f", "/dev/null",
                "-h", os.path.join(self.tmp, "host_key"),
                "-o", "ListenAddress=%s:%d" % (self.address(index, 0), SSH_PORT),
                "-o", "PermitRootLogin=prohibit-password", "-o", "StrictModes=no", "-o", "UsePAM=no",
                "-o", "AuthorizedKeysFile=" + os.path.join(self.tmp, "authorized_keys"),
                "-o", "MaxStartups=100", "-o", "Subsystem=sftp internal-sftp", "-o", "PidFile=" + os.path.join(self.tmp, "sshd-%s.pid" % name))
        for index in range(self.size):
            wait_port(self.address(index, 0))

    def inventory(self):
        hosts = {}
        for index, name in enumerate(self.hosts):
            flags = ["signal"] if name in self.servers else ["subflow"]
            host = converge.ssh_vars(self.tmp, self.address(index, 0), SSH_PORT, "root",
                                     os.path.join(self.tmp, "id"), HOST_PYTHON)
            host.update({
                "mptcp_endpoint_interfaces": ["eth1"],
                # naive.yml: the same state as site.yml gives this host.
                "bench_sysctl_file": os.path.join(self.tmp, "naive-%s.conf" % name),
                "bench_sysctls": {"enabled": 1, "path_manager": "kernel"},
                "bench_limits": {"subflows": 2, "add_addr_accepted": 2},
                "bench_endpoints": [{"address": self.address(index, 1), "id": 1, "flags": flags}],
            })
            hosts[name] = host
        return {"all": {"hosts": hosts, "children": {
            "mptcp_servers": {"hosts": {name: {} for name in self.servers}},
            "mptcp_clients": {"hosts": {name: {} for name in self.hosts if name not in self.servers}}}}}


def run(*argv):
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit("%s failed: %s" % (" ".join(argv), proc.stderr.strip()))


def batch(netns, lines):
    proc = subprocess.run(["ip", "-n", netns, "-batch", "-"], input="\n".join(lines) + "\n",
                          capture_output=True, text=True, check=False)
    if proc.returncode:
        raise SystemExit("ip -n %s -batch failed: %s" % (netns, proc.stderr.strip()))


def keys(tmp):
    if not os.path.exists(os.path.join(tmp, "id")):
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(tmp, "id"))
        run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", os.path.join(tmp, "host_key"))
        with open(os.path.join(tmp, "id.pub")) as source, open(os.path.join(tmp, "authorized_keys"), "w") as dest:
            dest.write(source.read())


def wait_port(address, timeout=20):
    deadline = time.time() + timeout
    while True:
        try:
            socket.create_connection((address, SSH_PORT), timeout=1).close()
            return
        except OSError:
            if time.time() > deadline:
                raise SystemExit("sshd on %s did not listen within %d s" % (address, timeout))
            time.sleep(0.05)


def namespaces(prefix):
    out = subprocess.run(["ip", "-j", "netns", "list"], capture_output=True, text=True, check=False).stdout
    return [ns["name"] for ns in json.loads(out or "[]") if ns["name"].startswith(prefix + "-")]


def cleanup(prefix):
    """Remove every namespace named PREFIX-*, after killing the processes in
    it (the sshd this script started there, and what they ran), and the
    controller's veth. The ControlPersist masters exit when their sshd goes."""
    for name in namespaces(prefix):
        pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True, check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)
    subprocess.run(["ip", "link", "delete", prefix + "-c"], capture_output=True, check=False)


# The kernel keeps one IPv4 neighbour table for every namespace, sized by
# init_net's gc_thresh sysctls (default 1024 entries at most). A fleet of N
# namespaces on one machine fills it where N real hosts would each have their
# own: at N = 50, verify.yml's probes (each client reaches every server on
# both paths, each server every client) met "neighbor table overflow", SYNs
# and ARP requests were dropped and probes failed. The benchmark raises the
# bounds for its run and puts them back at the end.
NEIGH_SYSCTLS = ["/proc/sys/net/ipv4/neigh/default/gc_thresh%d" % n for n in (1, 2, 3)]


def raise_neighbour_table(size):
    """Make room for a fleet of SIZE hosts; returns the old values."""
    old = []
    for path, per_host in zip(NEIGH_SYSCTLS, (8, 32, 64)):
        with open(path) as handle:
            old.append(int(handle.read()))
        with open(path, "w") as handle:
            handle.write(str(max(old[-1], per_host * size)))
    return old


def restore_neighbour_table(old):
    for path, value in zip(NEIGH_SYSCTLS, old):
        with open(path, "w") as handle:
            handle.write(str(value))


def machine_cpu():
    """CPU seconds the whole machine has been busy (/proc/stat: all but idle and iowait)."""
    with open("/proc/stat") as handle:
        ticks = [int(field) for field in handle.readline().split()[1:9]]
    return (sum(ticks) - ticks[3] - ticks[4]) / float(os.sysconf("SC_CLK_TCK"))


def children_cpu():
    """CPU seconds of the waited-for children: ansible(-playbook), its workers, its ssh clients."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def ansible(tmp, argv, forks, label, strategy="linear"):
    """Run an ansible command; its wall time, its module executions per host, its
    changed count, and the CPU seconds the controller and the rest of the
    machine (the hosts' sshd and modules, the ssh connection masters, the
    kernel) spent meanwhile."""
    counts = os.path.join(tmp, "counts-%s.json" % label)
    env = dict(os.environ, ANSIBLE_FORKS=str(forks), ANSIBLE_NOCOLOR="1", ANSIBLE_HOST_KEY_CHECKING="False",
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(HERE, "callback_plugins"),
               ANSIBLE_CALLBACKS_ENABLED="mptcp_fleet_count", MPTCP_FLEET_COUNT=counts,
               ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STRATEGY=strategy,
               ANSIBLE_COLLECTIONS_PATH=os.environ.get("ANSIBLE_COLLECTIONS_PATH",
                                                       os.path.join(REPO, ".build", "collections")))
    if strategy.startswith("mitogen_"):
        import ansible_mitogen.plugins.strategy  # pylint: disable=import-outside-toplevel,import-error
        env["ANSIBLE_STRATEGY_PLUGINS"] = os.path.dirname(ansible_mitogen.plugins.strategy.__file__)
    started, machine, controller = time.time(), machine_cpu(), children_cpu()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False, cwd=REPO)
    wall = time.time() - started
    controller = children_cpu() - controller
    cpu = {"controller": controller, "rest": max(0.0, machine_cpu() - machine - controller)}
    if proc.returncode != 0:
        raise SystemExit("%s failed (rc %d):\n%s%s" % (label, proc.returncode, proc.stdout[-6000:], proc.stderr[-3000:]))
    with open(counts) as handle:
        count = json.load(handle)
    return {"wall": wall, "cpu": cpu, "executions": count["executions"], "changed": count["changed"],
            "tasks": count["tasks"]}


def measure(fleet, tmp, forks, workloads, strategy):
    """One pass of the workloads on fresh fleets; results by workload. site.yml
    from scratch runs whenever a workload needs the converged fleet."""
    bindir = os.path.dirname(sys.executable)
    inventory = os.path.join(tmp, "inventory.json")
    with open(inventory, "w") as handle:
        json.dump(fleet.inventory(), handle)
    playbook = [os.path.join(bindir, "ansible-playbook"), "-i", inventory]
    ping = [os.path.join(bindir, "ansible"), "-i", inventory, "all", "-m", "ansible.builtin.ping"]
    results = {}
    phases = [phase for phase, keys in (("collection", ("ping", "site", "site-noop", "verify", "info")),
                                        ("naive", ("naive", "naive-noop"))) if set(keys) & set(workloads)]
    for phase in phases:
        fleet.create()
        ansible(tmp, ping, forks, "warm-up", strategy)  # opens the ControlPersist connections
        if phase == "collection":
            if "ping" in workloads:
                results["ping"] = ansible(tmp, ping, forks, "ping", strategy)
            for label, name in (("site", "site.yml"), ("site-noop", "site.yml"), ("verify", "verify.yml"),
                                ("info", "info.yml")):
                if label in workloads or label == "site":
                    results[label] = ansible(tmp, playbook + [os.path.join(REPO, "playbooks", name)], forks, label,
                                             strategy)
        else:
            for label in ("naive", "naive-noop"):
                results[label] = ansible(tmp, playbook + [os.path.join(HERE, "naive.yml")], forks, label, strategy)
        cleanup(fleet.prefix)
    if results.get("site-noop", {}).get("changed"):
        raise SystemExit("site.yml run again changed something: %s" % results["site-noop"]["changed"])
    return results


def per_host(result, size):
    return sum(result["executions"].values()) / float(size)


def per_host_table(data, intro, cell):
    """INTRO, then a table of CELL(result, N) for each workload of each row that was run."""
    workloads = data["workloads"]
    lines = ["", intro, "", "| N | forks | " + " | ".join(title for key, title in WORKLOADS if key in workloads) + " |",
             "|---:|---:|" + "---:|" * len(workloads)]
    for row in data["rows"]:
        if "as_forks" not in row:
            lines.append("| %d | %d | %s |" % (row["size"], row["forks"], " | ".join(
                cell(row["results"][key], row["size"]) for key, dummy in WORKLOADS if key in workloads)))
    return lines


def write_results(data, output):
    command = "python benchmarks/fleet.py " + " ".join(data["command"])
    workloads = data["workloads"]
    lines = ["<!-- Written by benchmarks/fleet.py; do not edit. -->", "# Fleet benchmark results", "",
             "Command (root, in the repository, with the venv's python):", "", "    " + command.strip(), "",
             "Kernel %s, %d CPU(s), ansible-core %s. Wall time in seconds of the ansible or ansible-playbook "
             "process, the median of %d run(s); in brackets, the ratio to `ansible -m ping` on the same hosts "
             "with the same forks. Strategy %s."
             % (data["kernel"], data["cpus"], data["ansible_core"], data.get("runs", 1), data["strategy"]), "",
             "| N | forks | " + " | ".join(title for key, title in WORKLOADS if key in workloads) + " |",
             "|---:|---:|" + "---:|" * len(workloads)]
    for row in data["rows"]:
        floor = row["results"].get("ping", {}).get("wall")
        cells = []
        for key, dummy in WORKLOADS:
            if key not in workloads:
                continue
            wall = row["results"][key]["wall"]
            cells.append("%.1f (%.1f×)" % (wall, wall / floor) if floor and key != "ping" else "%.1f" % wall)
        forks = "%d (= %d)" % (row["forks"], row["as_forks"]) if "as_forks" in row else str(row["forks"])
        lines.append("| %d | %s | %s |" % (row["size"], forks, " | ".join(cells)))
    if any("as_forks" in row for row in data["rows"]):
        lines += ["", "A row with forks F (= G) was not run again: with F and G forks at least N, Ansible runs the "
                  "same N hosts at once, so it repeats the figures of G forks."]
    lines += per_host_table(data, "Module executions per host (the sum over the fleet divided by N; a loop item, a "
                            "retry and a task on the host count one each, actions that run on the controller none):",
                            lambda result, size: "%.2f" % per_host(result, size))
    if all("cpu" in result for row in data["rows"] for result in row["results"].values()):
        lines += per_host_table(
            data, "CPU seconds per host, the controller's (ansible or ansible-playbook, its workers and the ssh "
            "clients it waited for) + the rest of the machine's while it ran (the hosts' sshd and modules, the "
            "ssh connection masters, the kernel). The controller and the hosts share the %d CPU(s), so a run "
            "takes at least N times the sum, divided by %d:" % (data["cpus"], data["cpus"]),
            lambda result, size: "%.2f + %.2f" % (result["cpu"]["controller"] / size, result["cpu"]["rest"] / size))
    measured = [row for row in data["rows"] if "as_forks" not in row and "site-noop" in row["results"]]
    if measured:
        row = max(measured, key=lambda row: (row["size"], -row["forks"]))
        lines += ["", "Where the no-op `site.yml` spends its time with N = %d and %d forks: each task from its start "
                  "to the next one's, on all hosts (seconds):" % (row["size"], row["forks"]), "",
                  "| task | s |", "|---|---:|"]
        lines += ["| %s | %.1f |" % (name.replace("|", "\\|"), seconds) for name, seconds in row["results"]["site-noop"]["tasks"]]
    if data.get("plot"):
        lines += ["", "![Wall time against N](%s)" % data["plot"]]
    with open(os.path.join(output, "fleet-results.md"), "w") as handle:
        handle.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    parser.add_argument("--sizes", default="10,50,100", help="numbers of hosts, comma-separated")
    parser.add_argument("--forks", default="10,50", help="ansible forks, comma-separated")
    parser.add_argument("--runs", type=int, default=1, help="runs of each workload; the median is reported")
    parser.add_argument("--output", default=os.path.join(REPO, "docs"))
    parser.add_argument("--plot-python", default=sys.executable, help="a python with matplotlib")
    parser.add_argument("--prefix", default="mfleet", help="namespace names start with PREFIX- (at most 9 characters)")
    parser.add_argument("--nets", default="10.90,10.91", help="the /16 networks of the two paths")
    parser.add_argument("--workloads", default=",".join(key for key, dummy in WORKLOADS),
                        help="which to measure, comma-separated (default: all)")
    parser.add_argument("--strategy", default="linear", help="ANSIBLE_STRATEGY, e.g. mitogen_linear")
    parser.add_argument("--render", metavar="FLEET_JSON",
                        help="write OUTPUT/fleet-results.md and fleet.svg again from an earlier run's fleet.json; "
                             "runs nothing")
    args = parser.parse_args()
    # a path (relative or not) or a name on PATH, found before a run of minutes
    plot_python = os.path.abspath(args.plot_python) if os.path.isfile(args.plot_python) \
        else shutil.which(args.plot_python)
    if plot_python is None:
        parser.error("--plot-python: %s is neither a file nor a program on PATH" % args.plot_python)
    if args.render:
        with open(args.render) as handle:
            data = json.load(handle)
        os.makedirs(args.output, exist_ok=True)
        if os.path.abspath(args.render) != os.path.abspath(os.path.join(args.output, "fleet.json")):
            shutil.copyfile(args.render, os.path.join(args.output, "fleet.json"))
        render(data, args.output, plot_python)
        return
    workloads = [key for key in args.workloads.split(",") if key]
    unknown = sorted(set(workloads) - set(key for key, dummy in WORKLOADS))
    if unknown:
        parser.error("--workloads: unknown %s; choose from %s" % (", ".join(unknown), ", ".join(k for k, d in WORKLOADS)))
    if len(args.prefix) > 9:
        parser.error("--prefix: at most 9 characters (interface names have at most 15)")
    nets = args.nets.split(",")
    sizes = [int(n) for n in args.sizes.split(",")]
    forks_list = [int(n) for n in args.forks.split(",")]

    def interrupted(signum, dummy):
        raise SystemExit("interrupted by signal %d" % signum)
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, interrupted)

    tmp = tempfile.mkdtemp(prefix="mptcp-fleet.")
    neighbours = raise_neighbour_table(max(sizes))
    try:
        rows = []
        for size in sizes:
            for forks in forks_list:
                # Ansible runs min(forks, N) hosts at once: more forks than
                # hosts measure what fewer did.
                same = [row for row in rows if row["size"] == size and min(row["forks"], size) == min(forks, size)]
                if same:
                    rows.append({"size": size, "forks": forks, "results": same[0]["results"], "as_forks": same[0]["forks"]})
                    continue
                fleet = Fleet(args.prefix, size, tmp, nets)
                samples = [measure(fleet, tmp, forks, workloads, args.strategy) for dummy in range(args.runs)]
                results = {}
                for key in samples[0]:
                    results[key] = dict(samples[0][key], wall=statistics.median(s[key]["wall"] for s in samples),
                                        cpu={part: statistics.median(s[key]["cpu"][part] for s in samples)
                                             for part in ("controller", "rest")})
                rows.append({"size": size, "forks": forks, "results": results})
                print("N=%d forks=%d: %s" % (size, forks, ", ".join(
                    "%s %.1f s" % (key, results[key]["wall"]) for key, dummy in WORKLOADS if key in results)), flush=True)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # a second Ctrl-C does not stop the cleanup
        cleanup(args.prefix)
        restore_neighbour_table(neighbours)
        subprocess.run(["rm", "-rf", "--", tmp], check=False)
    import ansible.release  # pylint: disable=import-outside-toplevel
    data = {"kernel": os.uname().release, "cpus": os.cpu_count(), "ansible_core": ansible.release.__version__,
            "command": sys.argv[1:], "strategy": args.strategy, "workloads": workloads, "runs": args.runs, "rows": rows}
    os.makedirs(args.output, exist_ok=True)
    with open(os.path.join(args.output, "fleet.json"), "w") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
    render(data, args.output, plot_python)


def render(data, output, plot_python):
    """OUTPUT/fleet.svg (where PLOT_PYTHON has matplotlib) and OUTPUT/fleet-results.md from DATA."""
    plotted = subprocess.run([plot_python, os.path.join(HERE, "fleet_plot.py"), os.path.join(output, "fleet.json"),
                              os.path.join(output, "fleet.svg")], capture_output=True, text=True, check=False)
    if plotted.returncode == 0:
        data["plot"] = "fleet.svg"
    else:
        print("no plot: %s" % plotted.stderr.strip().splitlines()[-1:], file=sys.stderr)
    write_results(data, output)
    print("wrote %s" % os.path.join(output, "fleet-results.md"))


if __name__ == "__main__":
    main()
