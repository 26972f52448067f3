"""One MPTCP connection from the host to the network namespace of the host
scenario's DHCP fixture (molecule-dhcp.service), for verify_follow.yml
(Python 3 stdlib, run as root in the guest):

  python3 join_check.py NETNS ADDRESS PORT   (or its text with python3 -c)

A listener in NETNS on PORT; the host connects to ADDRESS (routed out of
path0), exchanges a byte, and holds the connection while the path manager
adds subflows from the host's endpoints. Then prints {"mptcp", "peers"}:
whether MPTCP was negotiated, and the remote addresses of the connection's
TCP subflows as the far end's kernel lists them (`ss -tn` in NETNS), once
there are two or after 15 seconds.
"""

import json
import socket
import subprocess
import sys
import time

IPPROTO_MPTCP = 262
TCP_IS_MPTCP = 43
DEADLINE = 15

# Accepts one MPTCP connection, echoes its first byte, waits for its end.
SERVER = """
import socket, sys
with socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262) as server:
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("0.0.0.0", int(sys.argv[1])))
    server.listen(1)
    server.settimeout(60)
    print("listening", flush=True)
    conn, peer = server.accept()
    conn.settimeout(60)
    with conn:
        conn.sendall(conn.recv(1))
        conn.recv(1)
"""


def peers(netns, port):
    listed = subprocess.run(["ip", "netns", "exec", netns, "ss", "-H", "-t", "-n", "state", "established",
                             "( sport = :%d )" % port], stdout=subprocess.PIPE, universal_newlines=True, check=True)
    return sorted(line.split()[-1].rsplit(":", 1)[0] for line in listed.stdout.splitlines())


def main(netns, address, port):
    with subprocess.Popen(["ip", "netns", "exec", netns, "python3", "-c", SERVER, str(port)],
                          stdout=subprocess.PIPE, universal_newlines=True) as server:
        try:
            if server.stdout.readline().strip() != "listening":
                raise SystemExit("the listener in %s did not start" % netns)
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP) as client:
                client.settimeout(10)
                client.connect((address, port))
                client.sendall(b"x")
                client.recv(1)
                mptcp = client.getsockopt(socket.IPPROTO_TCP, TCP_IS_MPTCP)
                deadline = time.monotonic() + DEADLINE
                found = peers(netns, port)
                while len(found) < 2 and time.monotonic() < deadline:
                    time.sleep(0.2)
                    found = peers(netns, port)
            server.wait(timeout=10)
        finally:
            if server.poll() is None:
                server.kill()
    print(json.dumps({"mptcp": mptcp, "peers": found}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
