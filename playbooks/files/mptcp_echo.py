# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A temporary MPTCP echo listener for playbooks/verify.yml.

Usage: python3 mptcp_echo.py PORT PROBES SECONDS
Echoes every connection back until PROBES connections have sent data and
all of them have hung up, or SECONDS have passed. A probe waits for its extra
subflows after the echo, so its connection must stay open until the probe
closes it. Connections that send nothing (port checks) do not count.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import select
import socket
import sys
import time

IPPROTO_MPTCP = 262


def serve(port, probes, seconds):
    deadline = time.time() + seconds
    listener = socket.socket(socket.AF_INET6, socket.SOCK_STREAM, IPPROTO_MPTCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    listener.bind(("::", port))
    listener.listen(16)
    clients = {}
    served = 0
    while (served < probes or clients) and time.time() < deadline:
        readable = select.select([listener] + list(clients), [], [], 0.2)[0]
        for sock in readable:
            if sock is listener:
                conn = listener.accept()[0]
                clients[conn] = False
                continue
            try:
                data = sock.recv(65536)
            except socket.error:
                data = b""
            if data:
                sock.sendall(data)
                if not clients[sock]:
                    clients[sock] = True
                    served += 1
            else:
                del clients[sock]
                sock.close()
    for sock in clients:
        sock.close()
    listener.close()
    return 0 if served >= probes else 1


if __name__ == "__main__":
    sys.exit(serve(int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])))
