# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: MPTCP sockets from Python's standard library: the usability probe,
MPTCP_INFO decoding, live connections and listening sockets (sock_diag, with
their owners from /proc) and MPTcpExt counters."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os
import socket
import struct

IPPROTO_MPTCP = 262
SOL_MPTCP = 284
MPTCP_INFO = 1
TCP_IS_MPTCP = 43
MPTCP_INFO_FLAG_FALLBACK = 0x1

NETLINK_SOCK_DIAG = 4
SOCK_DIAG_BY_FAMILY = 20
INET_DIAG_INFO = 2
INET_DIAG_ULP_INFO = 19
INET_ULP_INFO_NAME = 1
INET_DIAG_REQ_PROTOCOL = 3
NLMSG_ERROR = 2
NLMSG_DONE = 3
NLM_F_REQUEST = 1
NLM_F_DUMP = 0x300

TCP_LISTEN = 10
TCP_STATES = {
    1: "ESTAB", 2: "SYN-SENT", 3: "SYN-RECV", 4: "FIN-WAIT-1", 5: "FIN-WAIT-2",
    6: "TIME-WAIT", 7: "UNCONN", 8: "CLOSE-WAIT", 9: "LAST-ACK", 10: "LISTEN", 11: "CLOSING",
}

_ERRNO_MEANING = {
    errno.EPROTONOSUPPORT: "the kernel has no MPTCP support (built without CONFIG_MPTCP, or older than 5.6)",
    errno.ENOPROTOOPT: "MPTCP is disabled in this network namespace (net.mptcp.enabled = 0)",
    errno.EACCES: "a security policy (SELinux, AppArmor, seccomp or a BPF program) forbids MPTCP sockets",
    errno.EPERM: "a security policy (SELinux, AppArmor, seccomp or a BPF program) forbids MPTCP sockets",
    errno.EAFNOSUPPORT: "the address family is not supported here",
    errno.EINVAL: "the kernel does not know IPPROTO_MPTCP (older than 5.6)",
}

# struct mptcp_info (include/uapi/linux/mptcp.h), field by field as the kernel grew it
_INFO_FIELDS = (
    ("subflows", "B", 0), ("add_addr_signal", "B", 1), ("add_addr_accepted", "B", 2),
    ("subflows_max", "B", 3), ("add_addr_signal_max", "B", 4), ("add_addr_accepted_max", "B", 5),
    ("flags", "I", 8), ("token", "I", 12), ("write_seq", "Q", 16), ("snd_una", "Q", 24),
    ("rcv_nxt", "Q", 32), ("local_addr_used", "B", 40), ("local_addr_max", "B", 41),
    ("csum_enabled", "B", 42), ("retransmits", "I", 44), ("bytes_retrans", "Q", 48),
    ("bytes_sent", "Q", 56), ("bytes_received", "Q", 64), ("bytes_acked", "Q", 72),
    ("subflows_total", "B", 80),
)
MPTCP_INFO_SIZE = 96


def errno_reason(code):
    """What a failed socket(IPPROTO_MPTCP) call's errno means."""
    return _ERRNO_MEANING.get(code, os.strerror(code))


def usability():
    """Whether this namespace can open an (IPv4) MPTCP socket, and if not, why."""
    try:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_MPTCP)
    except (OSError, socket.error) as exc:
        return {
            "usable": False,
            "errno": errno.errorcode.get(exc.errno, str(exc.errno)),
            "reason": errno_reason(exc.errno),
        }
    sock.close()
    return {"usable": True, "errno": None, "reason": "socket(AF_INET, SOCK_STREAM, IPPROTO_MPTCP) succeeded"}


def parse_info(data):
    """struct mptcp_info bytes -> dict, with ``subflows_count``: the total
    number of subflows (mptcpi_subflows counts only the additional ones)."""
    info = {}
    for name, fmt, offset in _INFO_FIELDS:
        size = struct.calcsize("=" + fmt)
        if len(data) >= offset + size:
            info[name] = struct.unpack_from("=" + fmt, data, offset)[0]
    total = info.get("subflows_total") or 0
    info["subflows_count"] = total if total else info.get("subflows", 0) + 1
    info["fallback"] = bool(info.get("flags", 0) & MPTCP_INFO_FLAG_FALLBACK)
    return info


def socket_info(sock):
    """(negotiated, info) for a connected MPTCP socket. ``negotiated`` is
    False when the connection fell back to plain TCP."""
    negotiated = bool(sock.getsockopt(socket.IPPROTO_TCP, TCP_IS_MPTCP))
    try:
        info = parse_info(sock.getsockopt(SOL_MPTCP, MPTCP_INFO, MPTCP_INFO_SIZE))
    except (OSError, socket.error):
        info = None  # a fallen-back socket has no MPTCP-level info
    if info is not None and info["fallback"]:
        negotiated = False
    return negotiated, info


def _address(family, raw):
    """Text form of a sock_diag address; IPv4-mapped IPv6 shown as IPv4."""
    if family == socket.AF_INET:
        return socket.inet_ntop(family, raw[:4])
    if raw[:12] == b"\0" * 10 + b"\xff\xff":
        return socket.inet_ntop(socket.AF_INET, raw[12:16])
    return socket.inet_ntop(family, raw)


def host_port(address, port):
    return "[%s]:%d" % (address, port) if ":" in address else "%s:%d" % (address, port)


def _diag_dump(family, protocol=IPPROTO_MPTCP, states=0xFFFFFFFF):
    """The inet_diag_msg payloads of a sock_diag dump of the MPTCP sockets
    (or, with ``protocol`` IPPROTO_TCP, the TCP ones) in ``states`` (a
    bit mask of TCP states), with their INET_DIAG_INFO attributes."""
    request = struct.pack("=BBBxI", family, socket.IPPROTO_TCP, 1 << (INET_DIAG_INFO - 1), states)
    request += b"\0" * 48  # inet_diag_sockid: match every socket
    if protocol == IPPROTO_MPTCP:
        request += struct.pack("=HHI", 8, INET_DIAG_REQ_PROTOCOL, IPPROTO_MPTCP)
    header = struct.pack("=IHHII", 16 + len(request), SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
    sock = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_SOCK_DIAG)
    try:
        sock.sendto(header + request, (0, 0))
        while True:
            data = sock.recv(65536)
            offset = 0
            while offset + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, offset)
                if kind == NLMSG_DONE:
                    return
                if kind == NLMSG_ERROR:
                    code = struct.unpack_from("=i", data, offset + 16)[0]
                    if code:
                        raise OSError(-code, os.strerror(-code))
                    return
                yield data[offset + 16:offset + length]
                offset += (length + 3) & ~3
    finally:
        sock.close()


def connections():
    """Every MPTCP socket of this namespace (sock_diag), with its state and
    its number of subflows."""
    result = []
    for family in (socket.AF_INET, socket.AF_INET6):
        for payload in _diag_dump(family):
            fam, state = struct.unpack_from("=BB", payload, 0)
            sport, dport = struct.unpack_from("!HH", payload, 4)
            src = _address(fam, payload[8:24])
            dst = _address(fam, payload[24:40])
            entry = {
                "family": "ipv6" if ":" in src else "ipv4",
                "state": TCP_STATES.get(state, str(state)),
                "local": host_port(src, sport),
                "remote": host_port(dst, dport),
            }
            offset = 72
            while offset + 4 <= len(payload):
                length, kind = struct.unpack_from("=HH", payload, offset)
                if length < 4:
                    break
                if kind == INET_DIAG_INFO:
                    info = parse_info(payload[offset + 4:offset + length])
                    entry["subflows"] = info["subflows_count"] if state != 10 else 0
                    entry["token"] = info.get("token")
                    entry["bytes_sent"] = info.get("bytes_sent")
                    entry["bytes_received"] = info.get("bytes_received")
                offset += (length + 3) & ~3
            result.append(entry)
    return result


def _attributes(payload, offset=72):
    """(kind, value) of each netlink attribute from ``offset`` on."""
    while offset + 4 <= len(payload):
        length, kind = struct.unpack_from("=HH", payload, offset)
        if length < 4:
            return
        yield kind & 0x3FFF, payload[offset + 4:offset + length]
        offset += (length + 3) & ~3


def _ulp_name(payload):
    """The upper layer protocol of a TCP socket ("mptcp" for the subflows of
    an MPTCP socket), from INET_DIAG_ULP_INFO; None when the kernel did not
    say."""
    for kind, value in _attributes(payload):
        if kind == INET_DIAG_ULP_INFO:
            for inner, name in _attributes(value, 0):
                if inner == INET_ULP_INFO_NAME:
                    return name.split(b"\0", 1)[0].decode("ascii", "replace")
    return None


def _listener(protocol, payload):
    family = struct.unpack_from("=B", payload, 0)[0]
    port = struct.unpack_from("!H", payload, 4)[0]
    address = _address(family, payload[8:24])
    return {
        "protocol": protocol,
        "family": "ipv6" if ":" in address else "ipv4",
        "address": address,
        "port": port,
        "local": host_port(address, port),
        "inode": struct.unpack_from("=I", payload, 68)[0],
    }


def socket_owners(proc="/proc"):
    """{socket inode: sorted pids} of every process whose file descriptors
    this process may read: the processes that hold each socket open."""
    owners = {}
    try:
        pids = [name for name in os.listdir(proc) if name.isdigit()]
    except OSError:
        return owners
    for pid in pids:
        fd_dir = os.path.join(proc, pid, "fd")
        try:
            fds = os.listdir(fd_dir)
        except OSError:
            continue  # gone, or not ours to read
        for fd in fds:
            try:
                target = os.readlink(os.path.join(fd_dir, fd))
            except OSError:
                continue
            if target.startswith("socket:[") and target.endswith("]"):
                owners.setdefault(int(target[8:-1]), set()).add(int(pid))
    return dict((inode, sorted(found)) for inode, found in owners.items())


def listeners(proc="/proc"):
    """The listening TCP and MPTCP sockets of this namespace (sock_diag),
    each with the pids of the processes that hold it. An MPTCP listener
    listens through a TCP subflow of its own: that one is part of the MPTCP
    listener (its upper layer protocol is "mptcp", and it shares the MPTCP
    socket's inode), not a plain TCP listener, and is not listed."""
    found = []
    for family in (socket.AF_INET, socket.AF_INET6):
        for payload in _diag_dump(family, IPPROTO_MPTCP, 1 << TCP_LISTEN):
            found.append(_listener("mptcp", payload))
    mptcp_inodes = set(entry["inode"] for entry in found if entry["inode"])
    for family in (socket.AF_INET, socket.AF_INET6):
        for payload in _diag_dump(family, socket.IPPROTO_TCP, 1 << TCP_LISTEN):
            entry = _listener("tcp", payload)
            if _ulp_name(payload) != "mptcp" and entry["inode"] not in mptcp_inodes:
                found.append(entry)
    owners = socket_owners(proc)
    for entry in found:
        entry["pids"] = owners.get(entry["inode"], []) if entry["inode"] else []
    return sorted(found, key=lambda e: (e["port"], e["protocol"], e["family"], e["address"]))


def counters(path="/proc/net/netstat"):
    """The MPTcpExt counters (what ``nstat -az | grep MPTcp`` shows)."""
    try:
        with open(path) as handle:
            lines = handle.read().splitlines()
    except (IOError, OSError):
        return {}
    for names, values in zip(lines[::2], lines[1::2]):
        if names.startswith("MPTcpExt:"):
            return dict(zip(names.split()[1:], (int(v) for v in values.split()[1:])))
    return {}
