"""One MPTCP transfer with checksums, for the pair scenario (Python 3 stdlib).

  receive --port P --result FILE [--mark FILE --mark-after N]
                                   accept one MPTCP connection, read it to the
                                   end, write {"bytes", "sha256", "mptcp"} to FILE;
                                   create the mark file once N bytes arrived
  send --host H --port P --bytes N [--rate B/s]
                                   send N random bytes over MPTCP (paced to
                                   about B/s when given) and print
                                   {"bytes", "sha256", "mptcp", "max_subflows"}

max_subflows is the largest MPTCP_INFO subflow count seen while sending: the
number of additional subflows, so 1 means the connection ran on two.
"""

import argparse
import hashlib
import json
import os
import socket
import struct
import time

IPPROTO_MPTCP = 262
SOL_MPTCP = 284
MPTCP_INFO = 1
TCP_IS_MPTCP = 43
CHUNK = 64 * 1024


def is_mptcp(sock):
    return sock.getsockopt(socket.IPPROTO_TCP, TCP_IS_MPTCP) == 1


def subflows(sock):
    # struct mptcp_info starts with __u8 mptcpi_subflows.
    return struct.unpack_from('B', sock.getsockopt(SOL_MPTCP, MPTCP_INFO, 64))[0]


def receive(port, result, mark=None, mark_after=0):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP) as server:
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(('0.0.0.0', port))
        server.listen(1)
        # A receiver whose sender never came must not hold the port forever.
        server.settimeout(120)
        conn, _peer = server.accept()
        conn.settimeout(120)
        with conn:
            digest, total = hashlib.sha256(), 0
            while True:
                data = conn.recv(CHUNK)
                if not data:
                    break
                digest.update(data)
                total += len(data)
                if mark and total >= mark_after and not os.path.exists(mark):
                    with open(mark, 'w'):
                        pass
            mptcp = is_mptcp(conn)
    with open(result + '.tmp', 'w') as handle:
        json.dump({'bytes': total, 'sha256': digest.hexdigest(), 'mptcp': mptcp}, handle)
    os.rename(result + '.tmp', result)


def send(host, port, size, rate):
    digest, total, most = hashlib.sha256(), 0, 0
    started = time.monotonic()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP) as sock:
        # The receiver may still be starting.
        for attempt in range(20):
            try:
                sock.connect((host, port))
                break
            except ConnectionRefusedError:
                if attempt == 19:
                    raise
                time.sleep(0.5)
        while total < size:
            data = os.urandom(min(CHUNK, size - total))
            sock.sendall(data)
            digest.update(data)
            total += len(data)
            most = max(most, subflows(sock))
            if rate:
                ahead = total / rate - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
        mptcp = is_mptcp(sock)
        sock.shutdown(socket.SHUT_WR)
        # Wait for the receiver to close: everything sent was read.
        while sock.recv(CHUNK):
            pass
    print(json.dumps({'bytes': total, 'sha256': digest.hexdigest(), 'mptcp': mptcp, 'max_subflows': most,
                      'seconds': round(time.monotonic() - started, 1)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    sub = parser.add_subparsers(dest='command', required=True)
    cmd = sub.add_parser('receive')
    cmd.add_argument('--port', type=int, required=True)
    cmd.add_argument('--result', required=True)
    cmd.add_argument('--mark', help='file to create once --mark-after bytes arrived')
    cmd.add_argument('--mark-after', type=int, default=0)
    cmd = sub.add_parser('send')
    cmd.add_argument('--host', required=True)
    cmd.add_argument('--port', type=int, required=True)
    cmd.add_argument('--bytes', type=int, required=True)
    cmd.add_argument('--rate', type=int, default=0, help='bytes per second (default: as fast as possible)')
    args = parser.parse_args()
    if args.command == 'receive':
        receive(args.port, args.result, args.mark, args.mark_after)
    else:
        send(args.host, args.port, args.bytes, args.rate)


if __name__ == '__main__':
    main()
