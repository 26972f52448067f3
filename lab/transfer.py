"""Bulk-transfer tool for the mptcp.linux lab: MPTCP goodput against one TCP path.

Three modes (Python 3 standard library only, Linux only):

  server    listen (MPTCP by default, --tcp for plain TCP) and stream zeros to
            every client until it hangs up
  client    download from a server for --duration seconds, measure goodput at
            the receiver and sample MPTCP_INFO / TCP_IS_MPTCP while it runs
  compare   from outside the namespaces: run one MPTCP download and one plain
            TCP download (same duration) in the client namespace with
            `ip netns exec`, count the bytes each path carried on the server's
            interfaces, and print goodputs, subflows and the ratio
  failover  from outside the namespaces: one MPTCP download during which one
            path's server interface goes down; the connection must survive
            and carry on over the other path

Examples (namespaces and addresses of a default `lab/run --keep`, which
already runs the two servers):

  ip netns exec mptcp-lab-srv python3 lab/transfer.py server --port 5201 &
  ip netns exec mptcp-lab-srv python3 lab/transfer.py server --port 5202 --tcp &
  ip netns exec mptcp-lab-cli python3 lab/transfer.py client --connect 10.91.1.2
  python3 lab/transfer.py compare --client-ns mptcp-lab-cli --server-ns mptcp-lab-srv \\
      --connect 10.91.1.2 --port 5201 --tcp-port 5202 --path-ifs srv-p1,srv-p2
"""

import argparse
import importlib.util
import json
import os
import re
import socket
import struct
import subprocess
import sys
import threading
import time


def _load_sockets():
    """The collection's own MPTCP socket helpers (MPTCP_INFO, TCP_IS_MPTCP),
    loaded by path: standard library only, no Ansible needed."""
    path = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "plugins", "module_utils", "_sockets.py")
    spec = importlib.util.spec_from_file_location("mptcp_linux_sockets", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SOCKETS = _load_sockets()

CHUNK = 256 * 1024
SAMPLE_EVERY = 0.2  # seconds between MPTCP_INFO samples
SERVER_STALL_TIMEOUT = 60.0  # seconds a client may stop reading


def proto_name(tcp):
    return "TCP" if tcp else "MPTCP"


def open_socket(family, tcp):
    proto = socket.IPPROTO_TCP if tcp else SOCKETS.IPPROTO_MPTCP
    try:
        return socket.socket(family, socket.SOCK_STREAM, proto)
    except OSError as exc:
        if not tcp:
            raise SystemExit("transfer.py: cannot open an MPTCP socket: %s" % SOCKETS.errno_reason(exc.errno))
        raise


def family_of(address):
    return socket.AF_INET6 if ":" in address else socket.AF_INET


# ---------------------------------------------------------------- server


def serve_one(conn):
    payload = bytes(CHUNK)
    # A client that stops reading without hanging up must not pin a thread.
    conn.settimeout(SERVER_STALL_TIMEOUT)
    try:
        with conn:
            while True:
                conn.sendall(payload)
    except OSError:
        pass  # the client hung up: that is how every download ends


def run_server(args):
    family = family_of(args.bind)
    listener = open_socket(family, args.tcp)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if family == socket.AF_INET6:
        listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    listener.bind((args.bind, args.port))
    listener.listen(16)
    print("transfer.py: %s server listening on %s port %d (pid %d)"
          % (proto_name(args.tcp), args.bind, args.port, os.getpid()), flush=True)
    workers = []
    while args.count == 0 or len(workers) < args.count:
        conn = listener.accept()[0]
        worker = threading.Thread(target=serve_one, args=(conn,), daemon=True)
        worker.start()
        workers.append(worker)
    for worker in workers:
        worker.join()
    return 0


# ---------------------------------------------------------------- client


def download(address, port, duration, tcp, connect_timeout=5.0):
    """Receive for `duration` seconds; return the measurements as a dict."""
    sock = open_socket(family_of(address), tcp)
    sock.settimeout(connect_timeout)
    sock.connect((address, port))
    sock.settimeout(SAMPLE_EVERY)
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    received = 0
    samples = []
    timeline = []  # [seconds since connect, bytes received so far]
    start = time.monotonic()
    deadline = start + duration
    next_sample = start
    try:
        while True:
            now = time.monotonic()
            if now >= deadline:
                break
            if now >= next_sample:
                timeline.append([round(now - start, 3), received])
                if not tcp:
                    info = SOCKETS.socket_info(sock)[1]
                    if info is not None:
                        samples.append(info)
                next_sample = now + SAMPLE_EVERY
            try:
                n = sock.recv_into(view)
            except socket.timeout:
                continue
            if n == 0:
                raise SystemExit("transfer.py: the server closed the connection early")
            received += n
        elapsed = time.monotonic() - start
        negotiated, last = SOCKETS.socket_info(sock)  # negotiated is False after a fallback
        if tcp:
            last = None
    finally:
        # Abort rather than close: a graceful close with unread data leaves an
        # orphan that keeps receiving (MPTCP) and would pollute the next run's
        # counters. Linger 0 sends a reset (MP_FASTCLOSE for MPTCP).
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    if last is not None:
        samples.append(last)
    return {
        "protocol": proto_name(tcp),
        "server": address,
        "port": port,
        "duration_s": round(elapsed, 3),
        "bytes": received,
        "goodput_bps": received * 8 / elapsed if elapsed else 0.0,
        "mptcp_negotiated": negotiated,
        "subflows_max": max((s["subflows_count"] for s in samples), default=None),
        "subflows_end": last["subflows_count"] if last else None,
        "add_addr_accepted": last["add_addr_accepted"] if last else None,
        "mptcp_info_samples": len(samples),
        "timeline": timeline,
    }


def run_client(args):
    result = download(args.connect, args.port, args.duration, args.tcp)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print("%s download from %s port %d: %s in %.1f s = %s"
              % (result["protocol"], args.connect, args.port,
                 human_bytes(result["bytes"]), result["duration_s"],
                 human_rate(result["goodput_bps"])))
        if not args.tcp:
            print("MPTCP negotiated: %s; subflows in use: %s (most seen), %s at the end"
                  % ("yes" if result["mptcp_negotiated"] else "NO (TCP fallback)",
                     result["subflows_max"], result["subflows_end"]))
    return 0


# ---------------------------------------------------------------- compare


def ip_netns(ns, *argv):
    return ["ip", "netns", "exec", ns] + list(argv)


def tx_bytes(ns, ifname):
    """Bytes an interface of a namespace has sent (the server sends the data)."""
    path = "/sys/class/net/%s/statistics/tx_bytes" % ifname
    out = subprocess.run(ip_netns(ns, "cat", path), check=True,
                         capture_output=True, text=True).stdout
    return int(out.strip())


def tx_counters(ns, ifnames):
    return {name: tx_bytes(ns, name) for name in ifnames}


def wait_quiet(ns, ifnames, timeout=5.0, quiet_for=0.5):
    """Counters once the paths are idle, so one run's tail is not the next run's."""
    deadline = time.monotonic() + timeout
    last = tx_counters(ns, ifnames)
    while time.monotonic() < deadline:
        time.sleep(quiet_for)
        now = tx_counters(ns, ifnames)
        # A few small packets (ACKs, a reset, ND) are not traffic.
        if all(now[name] - last[name] < 16384 for name in ifnames):
            return now
        last = now
    return last


def client_in_ns(args, tcp):
    port = args.tcp_port if tcp else args.port
    argv = ip_netns(args.client_ns, sys.executable, os.path.abspath(__file__),
                    "client", "--connect", args.connect, "--port", str(port),
                    "--duration", str(args.duration), "--json")
    if tcp:
        argv.append("--tcp")
    before = wait_quiet(args.server_ns, args.path_ifs)
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    after = tx_counters(args.server_ns, args.path_ifs)
    if proc.returncode != 0:
        raise SystemExit("transfer.py: the %s client failed (exit %d): %s"
                         % (proto_name(tcp), proc.returncode,
                            (proc.stderr or proc.stdout).strip()))
    result = json.loads(proc.stdout)
    result["path_tx_bytes"] = {name: after[name] - before[name] for name in args.path_ifs}
    return result


RATE_UNITS = {"bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9, "tbit": 1e12,
              "bps": 8, "kbps": 8e3, "mbps": 8e6, "gbps": 8e9, "tbps": 8e12}


def parse_tc_rate(text):
    """tc's rate syntax (50mbit, 6mbps, 1gbit) in bit/s; None if unknown."""
    match = re.fullmatch(r"\s*([0-9.]+)\s*([a-zA-Z]*)\s*", text or "")
    if not match:
        return None
    unit = match.group(2).lower() or "bit"
    if unit not in RATE_UNITS:
        return None
    return float(match.group(1)) * RATE_UNITS[unit]


def run_compare(args):
    mptcp = client_in_ns(args, tcp=False)
    tcp = client_in_ns(args, tcp=True)
    ratio = mptcp["goodput_bps"] / tcp["goodput_bps"] if tcp["goodput_bps"] else None
    path_rate = parse_tc_rate(args.path_rate) if args.path_rate else None
    report = {
        "client_ns": args.client_ns,
        "server_ns": args.server_ns,
        "paths": args.path_ifs,
        "path_rate": args.path_rate,
        "path_rate_bps": path_rate,
        "mptcp": mptcp,
        "tcp_single_path": tcp,
        "ratio": ratio,
    }
    problems = []
    if not mptcp["mptcp_negotiated"]:
        problems.append("MPTCP was not negotiated (the connection fell back to TCP)")
    if args.min_subflows and (mptcp["subflows_max"] or 0) < args.min_subflows:
        problems.append("only %s subflow(s) came up, %d expected"
                        % (mptcp["subflows_max"], args.min_subflows))
    idle = [name for name, n in mptcp["path_tx_bytes"].items()
            if n < 0.01 * max(mptcp["bytes"], 1)]
    if args.min_subflows >= len(args.path_ifs) and idle:
        problems.append("path(s) %s carried (almost) nothing" % ", ".join(idle))
    report["problems"] = problems
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_report(report)
    return 1 if problems else 0


def longest_stall(timeline):
    """The longest time, in seconds, during which no byte arrived."""
    longest, since = 0.0, None
    for (t, received), (t_next, received_next) in zip(timeline, timeline[1:]):
        if received_next == received:
            since = t if since is None else since
            longest = max(longest, t_next - since)
        else:
            since = None
    return round(longest, 3)


def tail_goodput(timeline, seconds):
    """Goodput at the client over the last `seconds` of the timeline."""
    if not timeline or timeline[-1][0] < seconds:
        return None
    end_t, end_bytes = timeline[-1]
    start_t, start_bytes = [s for s in timeline if s[0] <= end_t - seconds][-1]
    return (end_bytes - start_bytes) * 8 / (end_t - start_t)


def run_failover(args):
    """One MPTCP download; --cut-after seconds in, the server's interface of
    the cut path goes down (both ends lose carrier) and comes back up at the
    end. The application must not notice, apart from the rate."""
    survivors = [name for name in args.path_ifs if name != args.cut]
    argv = ip_netns(args.client_ns, sys.executable, os.path.abspath(__file__),
                    "client", "--connect", args.connect, "--port", str(args.port),
                    "--duration", str(args.duration), "--json")
    link = ["ip", "-n", args.server_ns, "link", "set", "dev", args.cut]
    before = wait_quiet(args.server_ns, args.path_ifs)
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(args.cut_after)
        at_cut = tx_counters(args.server_ns, args.path_ifs)
        subprocess.run(link + ["down"], check=True)
        out, err = proc.communicate(timeout=args.duration + 30)
        after = tx_counters(args.server_ns, args.path_ifs)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        subprocess.run(link + ["up"], check=False)
    path_rate = parse_tc_rate(args.path_rate) if args.path_rate else None
    report = {"client_ns": args.client_ns, "server_ns": args.server_ns, "paths": args.path_ifs,
              "cut": args.cut, "cut_after_s": args.cut_after, "duration_s": args.duration,
              "path_rate": args.path_rate, "path_rate_bps": path_rate, "survived": proc.returncode == 0}
    problems = []
    if proc.returncode != 0:
        problems.append("the download failed after %s went down: %s" % (args.cut, (err or out).strip()))
        result = {}
    else:
        result = json.loads(out)
        report["mptcp"] = result
        if not result["mptcp_negotiated"]:
            problems.append("MPTCP was not negotiated (the connection fell back to TCP)")
    report["tx_before_cut_bps"] = sum(at_cut[n] - before[n] for n in args.path_ifs) * 8 / args.cut_after
    report["tx_after_cut_bps"] = dict((n, (after[n] - at_cut[n]) * 8 / (args.duration - args.cut_after))
                                      for n in args.path_ifs)
    report["longest_stall_s"] = longest_stall(result.get("timeline", []))
    report["last_2s_goodput_bps"] = tail_goodput(result.get("timeline", []), 2.0)
    carried = sum(report["tx_after_cut_bps"][n] for n in survivors)
    # Survival is the point; the rate right after the cut depends on how
    # fast the kernel declares the dead subflow stale.
    floor = 0.25 * path_rate * len(survivors) if path_rate else 1.0
    if result and carried < floor:
        problems.append("after the cut the other path(s) carried only %s" % human_rate(carried))
    report["problems"] = problems
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_failover(report, survivors)
    return 1 if problems else 0


def print_failover(r, survivors):
    rate = r["path_rate_bps"]
    print("MPTCP failover: %s -> %s, %.0f s, %s down after %.0f s"
          % (r["server_ns"], r["client_ns"], r["duration_s"], r["cut"], r["cut_after_s"]))
    m = r.get("mptcp", {})
    print("  connection         %s" % ("survived: the application saw no error" if r["survived"] else "BROKEN"))
    if m:
        print("  MPTCP negotiated   %s; subflows %s (most), %s at the end"
              % ("yes" if m["mptcp_negotiated"] else "NO", m["subflows_max"], m["subflows_end"]))
        print("  goodput            %s over the whole download" % human_rate(m["goodput_bps"]))
    print("  before the cut     %s sent on all paths (server tx)" % human_rate(r["tx_before_cut_bps"]))
    for name in survivors:
        bps = r["tx_after_cut_bps"][name]
        print("  after the cut      %s sent on %s%s"
              % (human_rate(bps), name, "  (%.0f%% of %s)" % (100 * bps / rate, r["path_rate"]) if rate else ""))
    if r["last_2s_goodput_bps"] is not None:
        print("  last 2 s           %s at the client" % human_rate(r["last_2s_goodput_bps"]))
    print("  longest stall      %.1f s without a byte at the client" % r["longest_stall_s"])
    for problem in r["problems"]:
        print("  FAIL: %s" % problem)


def human_rate(bps):
    return "%.1f Mbit/s" % (bps / 1e6)


def human_bytes(n):
    return "%.1f MB" % (n / 1e6)


def print_report(r):
    m, t = r["mptcp"], r["tcp_single_path"]
    rate, paths = r["path_rate_bps"], r["paths"]

    def of_shaped(bps, links):
        if not rate:
            return ""
        return "  (%.0f%% of %s%s)" % (100 * bps / (rate * links),
                                       "%d paths x " % links if links > 1 else "",
                                       r["path_rate"])

    print("MPTCP lab transfer: %s -> %s, %.0f s per run"
          % (r["server_ns"], r["client_ns"], m["duration_s"]))
    negotiated = "yes (TCP_IS_MPTCP=1)" if m["mptcp_negotiated"] else "NO: fell back to TCP"
    print("  MPTCP negotiated   %s" % negotiated)
    print("  subflows used      %s (most seen in MPTCP_INFO during the run)"
          % m["subflows_max"])
    print("  MPTCP goodput      %s%s"
          % (human_rate(m["goodput_bps"]), of_shaped(m["goodput_bps"], len(paths))))
    print("  TCP goodput        %s on path 1 alone%s"
          % (human_rate(t["goodput_bps"]), of_shaped(t["goodput_bps"], 1)))
    print("  ratio              %s MPTCP / single-path TCP"
          % ("%.2fx" % r["ratio"] if r["ratio"] else "n/a"))
    print("  bytes per path     %-12s %12s %12s" % ("(server tx)", "MPTCP run", "TCP run"))
    for i, name in enumerate(paths, 1):
        print("    path %d %-10s %16s %12s"
              % (i, name, human_bytes(m["path_tx_bytes"][name]),
                 human_bytes(t["path_tx_bytes"][name])))
    for problem in r["problems"]:
        print("  FAIL: %s" % problem)


# ---------------------------------------------------------------- main


def add_lab_arguments(parser, connect_help):
    """The arguments of the modes that drive a client and a server namespace."""
    parser.add_argument("--client-ns", required=True)
    parser.add_argument("--server-ns", required=True)
    parser.add_argument("--connect", required=True, help=connect_help)
    parser.add_argument("--port", type=int, default=5201, help="the MPTCP server's port")
    parser.add_argument("--path-ifs", default="srv-p1,srv-p2",
                        type=lambda s: [x for x in s.split(",") if x],
                        help="server interfaces of path 1, path 2, ... (default srv-p1,srv-p2)")
    parser.add_argument("--path-rate", help="shaped rate of one path, tc syntax (e.g. 50mbit)")
    parser.add_argument("--json", action="store_true", help="print JSON")


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    modes = parser.add_subparsers(dest="mode", required=True, metavar="MODE")

    server = modes.add_parser("server", help="stream data to every client")
    server.add_argument("--bind", default="::",
                        help="address to listen on (default :: = IPv4 and IPv6)")
    server.add_argument("--port", type=int, default=5201)
    server.add_argument("--tcp", action="store_true", help="plain TCP instead of MPTCP")
    server.add_argument("--count", type=int, default=0,
                        help="exit after serving this many clients (default: never)")

    client = modes.add_parser("client", help="download for a while, measure goodput")
    client.add_argument("--connect", required=True, help="server address")
    client.add_argument("--port", type=int, default=5201)
    client.add_argument("--duration", type=float, default=10.0, help="seconds (default 10)")
    client.add_argument("--tcp", action="store_true", help="plain TCP instead of MPTCP")
    client.add_argument("--json", action="store_true", help="print JSON")

    compare = modes.add_parser(
        "compare", help="MPTCP vs single-path TCP between two namespaces")
    add_lab_arguments(compare, "server address on path 1 (both runs start there)")
    compare.add_argument("--tcp-port", type=int, default=5202,
                         help="the plain TCP server's port")
    compare.add_argument("--duration", type=float, default=10.0,
                         help="seconds per run (default 10)")
    compare.add_argument("--min-subflows", type=int, default=0,
                         help="fail unless this many subflows came up")

    failover = modes.add_parser(
        "failover", help="one MPTCP download that loses a path half-way")
    add_lab_arguments(failover, "server address on path 1 (the initial subflow)")
    failover.add_argument("--duration", type=float, default=8.0, help="seconds (default 8)")
    failover.add_argument("--cut-after", type=float, default=3.0,
                          help="seconds before the path goes down (default 3)")
    failover.add_argument("--cut", default="srv-p1",
                          help="server interface taken down (default srv-p1: the initial subflow's)")
    args = parser.parse_args(argv)
    if args.mode == "failover" and not 0 < args.cut_after < args.duration:
        parser.error("--cut-after must be between 0 and --duration")
    return args


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return {"server": run_server, "client": run_client,
                "compare": run_compare, "failover": run_failover}[args.mode](args)
    except KeyboardInterrupt:
        return 130
    except (OSError, subprocess.CalledProcessError) as exc:
        print("transfer.py %s: %s" % (args.mode, exc), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
