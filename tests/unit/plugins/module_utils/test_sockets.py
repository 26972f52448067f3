# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_sockets: struct mptcp_info decoding, sock_diag parsing and MPTcpExt
counters from crafted bytes and files (no MPTCP socket is opened)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import socket
import struct

import pytest

from ansible_collections.mptcp.linux.plugins.module_utils import _sockets

# struct mptcp_info from include/uapi/linux/mptcp.h, written out independently
# of the module's field table: 6 x u8, 2 pad, flags, token, write_seq, snd_una,
# rcv_nxt, local_addr_used, local_addr_max, csum_enabled, pad, retransmits,
# bytes_retrans, bytes_sent, bytes_received, bytes_acked, subflows_total,
# 3 reserved, last_data_sent, last_data_recv, last_ack_recv.
MPTCP_INFO = struct.Struct("=6B2xIIQQQ3BxIQQQQB3xIII")


def info_bytes(**fields):
    values = dict(
        subflows=0, add_addr_signal=0, add_addr_accepted=0, subflows_max=2, add_addr_signal_max=0,
        add_addr_accepted_max=0, flags=0, token=0xDEADBEEF, write_seq=1000, snd_una=900, rcv_nxt=5000,
        local_addr_used=1, local_addr_max=2, csum_enabled=0, retransmits=3, bytes_retrans=10,
        bytes_sent=123456789012, bytes_received=42, bytes_acked=100, subflows_total=0,
        last_data_sent=1, last_data_recv=2, last_ack_recv=3,
    )
    values.update(fields)
    order = ("subflows", "add_addr_signal", "add_addr_accepted", "subflows_max", "add_addr_signal_max",
             "add_addr_accepted_max", "flags", "token", "write_seq", "snd_una", "rcv_nxt", "local_addr_used",
             "local_addr_max", "csum_enabled", "retransmits", "bytes_retrans", "bytes_sent", "bytes_received",
             "bytes_acked", "subflows_total", "last_data_sent", "last_data_recv", "last_ack_recv")
    return MPTCP_INFO.pack(*(values[name] for name in order))


def test_struct_size_matches_the_kernel():
    assert MPTCP_INFO.size == _sockets.MPTCP_INFO_SIZE == 96


def test_parse_info_every_field():
    info = _sockets.parse_info(info_bytes(subflows=1, add_addr_signal=2, add_addr_accepted=1, subflows_max=8,
                                          add_addr_accepted_max=4, csum_enabled=1, subflows_total=2))
    assert info["subflows"] == 1
    assert info["add_addr_signal"] == 2 and info["add_addr_accepted"] == 1
    assert info["subflows_max"] == 8 and info["add_addr_accepted_max"] == 4
    assert info["token"] == 0xDEADBEEF
    assert (info["write_seq"], info["snd_una"], info["rcv_nxt"]) == (1000, 900, 5000)
    assert (info["local_addr_used"], info["local_addr_max"], info["csum_enabled"]) == (1, 2, 1)
    assert info["retransmits"] == 3 and info["bytes_retrans"] == 10
    assert info["bytes_sent"] == 123456789012 and info["bytes_received"] == 42 and info["bytes_acked"] == 100
    assert info["subflows_total"] == 2
    assert info["subflows_count"] == 2
    assert info["fallback"] is False


@pytest.mark.parametrize("subflows, total, count", [
    (0, 0, 1),   # pre-6.10 kernel, only the initial subflow
    (1, 0, 2),   # pre-6.10 kernel: subflows counts the additional ones
    (3, 0, 4),
    (1, 2, 2),   # 6.10+: subflows_total counts them all
    (0, 1, 1),
    (1, 5, 5),   # total wins when set
])
def test_subflows_count(subflows, total, count):
    assert _sockets.parse_info(info_bytes(subflows=subflows, subflows_total=total))["subflows_count"] == count


@pytest.mark.parametrize("flags, fallback", [(0, False), (1, True), (2, False), (3, True)])
def test_fallback_flag(flags, fallback):
    info = _sockets.parse_info(info_bytes(flags=flags))
    assert info["fallback"] is fallback and info["flags"] == flags


@pytest.mark.parametrize("length, present, absent", [
    (40, "rcv_nxt", "local_addr_used"),        # 5.6: up to rcv_nxt
    (44, "csum_enabled", "retransmits"),       # 5.14: + local_addr_*, csum_enabled
    (80, "bytes_acked", "subflows_total"),     # 6.4: + retransmits, bytes_*
    (81, "subflows_total", None),              # 6.10
])
def test_parse_info_short_buffers_of_older_kernels(length, present, absent):
    info = _sockets.parse_info(info_bytes(subflows=2, subflows_total=7)[:length])
    assert present in info
    if absent is not None:
        assert absent not in info
        assert info["subflows_count"] == 3  # subflows + 1 without subflows_total
    else:
        assert info["subflows_count"] == 7


def test_parse_info_empty_buffer():
    info = _sockets.parse_info(b"")
    assert info == {"subflows_count": 1, "fallback": False}


# ---------------------------------------------------------------- socket_info


class FakeSocket(object):
    def __init__(self, is_mptcp, info=None, error=None):
        self.is_mptcp = is_mptcp
        self.info = info
        self.error = error
        self.asked = []

    def getsockopt(self, level, option, size=None):
        self.asked.append((level, option, size))
        if (level, option) == (socket.IPPROTO_TCP, _sockets.TCP_IS_MPTCP):
            return int(self.is_mptcp)
        if (level, option) == (_sockets.SOL_MPTCP, _sockets.MPTCP_INFO):
            if self.error:
                raise OSError(self.error, "refused")
            return self.info
        raise AssertionError("unexpected getsockopt(%r, %r)" % (level, option))


def test_socket_info_negotiated():
    sock = FakeSocket(True, info_bytes(subflows=1))
    negotiated, info = _sockets.socket_info(sock)
    assert negotiated is True and info["subflows_count"] == 2
    assert (284, 1, 96) in sock.asked


def test_socket_info_fallback_flag_means_not_negotiated():
    negotiated, info = _sockets.socket_info(FakeSocket(True, info_bytes(flags=1)))
    assert negotiated is False and info["fallback"] is True


def test_socket_info_plain_tcp_without_mptcp_info():
    negotiated, info = _sockets.socket_info(FakeSocket(False, error=errno.EOPNOTSUPP))
    assert negotiated is False and info is None


# ---------------------------------------------------------------- usability


@pytest.mark.parametrize("code, name, words", [
    (errno.EPROTONOSUPPORT, "EPROTONOSUPPORT", "no MPTCP support"),
    (errno.ENOPROTOOPT, "ENOPROTOOPT", "net.mptcp.enabled = 0"),
    (errno.EACCES, "EACCES", "security policy"),
    (errno.EINVAL, "EINVAL", "older than 5.6"),
    (errno.ENOMEM, "ENOMEM", "Cannot allocate memory"),  # unknown: strerror
])
def test_usability_explains_errno(monkeypatch, code, name, words):
    def refuse(*args):
        raise OSError(code, "refused")

    monkeypatch.setattr(_sockets.socket, "socket", refuse)
    result = _sockets.usability()
    assert result["usable"] is False and result["errno"] == name
    assert words in result["reason"]


def test_usability_when_the_socket_opens(monkeypatch):
    opened = []

    class Sock(object):
        def __init__(self, family, kind, proto):
            opened.append((family, kind, proto))

        def close(self):
            opened.append("closed")

    monkeypatch.setattr(_sockets.socket, "socket", Sock)
    assert _sockets.usability()["usable"] is True
    assert opened == [(socket.AF_INET, socket.SOCK_STREAM, 262), "closed"]


# ---------------------------------------------------------------- connections (sock_diag payloads)


def diag_payload(family, state, src, sport, dst, dport, info=None):
    """struct inet_diag_msg (72 bytes) followed by an INET_DIAG_INFO attribute."""
    raw_src = socket.inet_pton(family, src).ljust(16, b"\0")
    raw_dst = socket.inet_pton(family, dst).ljust(16, b"\0")
    payload = struct.pack("=BBBB", family, state, 0, 0)
    payload += struct.pack("!HH", sport, dport) + raw_src + raw_dst + struct.pack("=III", 0, 0, 0)
    payload += struct.pack("=IIIII", 0, 0, 0, 0, 12345)
    assert len(payload) == 72
    if info is not None:
        attr = struct.pack("=HH", 4 + len(info), _sockets.INET_DIAG_INFO) + info
        payload += attr + b"\0" * (-len(attr) % 4)
    return payload


def test_connections_from_sock_diag(monkeypatch):
    dumps = {
        socket.AF_INET: [
            diag_payload(socket.AF_INET, 1, "192.0.2.1", 40000, "198.51.100.2", 443,
                         info_bytes(subflows=1, token=7, bytes_sent=11, bytes_received=22)),
            diag_payload(socket.AF_INET, 10, "0.0.0.0", 80, "0.0.0.0", 0, info_bytes(subflows=0)),
        ],
        socket.AF_INET6: [
            diag_payload(socket.AF_INET6, 1, "2001:db8::1", 50000, "2001:db8::2", 8080, info_bytes(subflows_total=3)),
            diag_payload(socket.AF_INET6, 2, "2001:db8::1", 50001, "2001:db8::3", 22),  # no info attribute
        ],
    }
    monkeypatch.setattr(_sockets, "_diag_dump", lambda family: iter(dumps[family]))
    result = _sockets.connections()
    assert result[0] == {"family": "ipv4", "state": "ESTAB", "local": "192.0.2.1:40000", "remote": "198.51.100.2:443",
                         "subflows": 2, "token": 7, "bytes_sent": 11, "bytes_received": 22}
    assert result[1]["state"] == "LISTEN" and result[1]["subflows"] == 0 and result[1]["local"] == "0.0.0.0:80"
    assert result[2]["family"] == "ipv6" and result[2]["local"] == "[2001:db8::1]:50000"
    assert result[2]["remote"] == "[2001:db8::2]:8080" and result[2]["subflows"] == 3
    assert result[3] == {"family": "ipv6", "state": "SYN-SENT", "local": "[2001:db8::1]:50001",
                         "remote": "[2001:db8::3]:22"}


# ---------------------------------------------------------------- listeners (sock_diag payloads, /proc owners)


def listener_payload(family, address, port, inode, ulp=None):
    """A LISTEN inet_diag_msg with INODE, and INET_DIAG_ULP_INFO naming ULP."""
    raw = socket.inet_pton(family, address).ljust(16, b"\0")
    payload = struct.pack("=BBBB", family, 10, 0, 0) + struct.pack("!HH", port, 0) + raw + b"\0" * 16
    payload += struct.pack("=III", 0, 0, 0) + struct.pack("=IIIII", 0, 0, 0, 0, inode)
    # INET_DIAG_INFO (tcp_info) first, as the kernel sends it, then the ULP.
    payload += struct.pack("=HH", 8, _sockets.INET_DIAG_INFO) + b"\1\2\3\4"
    if ulp is not None:
        name = ulp.encode() + b"\0"
        inner = struct.pack("=HH", 4 + len(name), _sockets.INET_ULP_INFO_NAME) + name
        inner += b"\0" * (-len(inner) % 4)
        payload += struct.pack("=HH", 4 + len(inner), _sockets.INET_DIAG_ULP_INFO | 0x8000) + inner  # NLA_F_NESTED
    return payload


def fake_dumps(monkeypatch, dumps):
    """sock_diag answers: DUMPS[(family, protocol)] is the list of payloads;
    every request must ask for listening sockets only."""
    def dump(family, protocol=_sockets.IPPROTO_MPTCP, states=0xFFFFFFFF):
        assert states == 1 << 10
        return iter(dumps.get((family, protocol), []))
    monkeypatch.setattr(_sockets, "_diag_dump", dump)


def fake_proc(tmp_path, fds):
    """A /proc with FDS: {pid: {fd: link target}}."""
    for pid, table in fds.items():
        fd_dir = tmp_path / str(pid) / "fd"
        fd_dir.mkdir(parents=True)
        for fd, target in table.items():
            (fd_dir / str(fd)).symlink_to(target)
    (tmp_path / "self").mkdir()  # not a pid: skipped
    (tmp_path / "77").mkdir()    # a pid without a readable fd directory
    return str(tmp_path)


def test_socket_owners_map_inodes_to_pids(tmp_path):
    proc = fake_proc(tmp_path, {1: {3: "socket:[100]", 4: "socket:[200]", 5: "/dev/null"},
                                612: {0: "socket:[100]", 1: "pipe:[9]"}, 13: {7: "socket:[300]"}})
    assert _sockets.socket_owners(proc) == {100: [1, 612], 200: [1], 300: [13]}


def test_socket_owners_without_proc(tmp_path):
    assert _sockets.socket_owners(str(tmp_path / "absent")) == {}


def test_listeners_tcp_and_mptcp_with_owners(monkeypatch, tmp_path):
    inet, inet6 = socket.AF_INET, socket.AF_INET6
    tcp, mptcp = socket.IPPROTO_TCP, _sockets.IPPROTO_MPTCP
    fake_dumps(monkeypatch, {
        (inet6, mptcp): [listener_payload(inet6, "::", 22, 100)],
        (inet, mptcp): [listener_payload(inet, "127.0.0.1", 7000, 300)],
        # The TCP subflows of both MPTCP listeners: one says its ULP, the
        # other only shares the MPTCP socket's inode (a kernel that did not
        # send INET_DIAG_ULP_INFO).
        (inet6, tcp): [listener_payload(inet6, "::", 22, 100, ulp="mptcp"),
                       listener_payload(inet6, "2001:db8::1", 443, 400, ulp="tls"),
                       listener_payload(inet6, "::ffff:192.0.2.1", 25, 0)],
        (inet, tcp): [listener_payload(inet, "127.0.0.1", 7000, 300),
                      listener_payload(inet, "0.0.0.0", 8080, 200)],
    })
    proc = fake_proc(tmp_path, {1: {3: "socket:[100]"}, 612: {3: "socket:[200]"}, 13: {3: "socket:[300]"}})
    assert _sockets.listeners(proc) == [
        {"protocol": "mptcp", "family": "ipv6", "address": "::", "port": 22, "local": "[::]:22", "inode": 100,
         "pids": [1]},
        {"protocol": "tcp", "family": "ipv4", "address": "192.0.2.1", "port": 25, "local": "192.0.2.1:25",
         "inode": 0, "pids": []},
        {"protocol": "tcp", "family": "ipv6", "address": "2001:db8::1", "port": 443, "local": "[2001:db8::1]:443",
         "inode": 400, "pids": []},
        {"protocol": "mptcp", "family": "ipv4", "address": "127.0.0.1", "port": 7000, "local": "127.0.0.1:7000",
         "inode": 300, "pids": [13]},
        {"protocol": "tcp", "family": "ipv4", "address": "0.0.0.0", "port": 8080, "local": "0.0.0.0:8080",
         "inode": 200, "pids": [612]},
    ]


def test_ulp_name_ignores_other_attributes():
    assert _sockets._ulp_name(listener_payload(socket.AF_INET, "0.0.0.0", 1, 1)) is None
    assert _sockets._ulp_name(listener_payload(socket.AF_INET, "0.0.0.0", 1, 1, ulp="mptcp")) == "mptcp"
    # A truncated attribute ends the walk instead of reading past the message.
    assert _sockets._ulp_name(listener_payload(socket.AF_INET, "0.0.0.0", 1, 1)[:74]) is None


# ---------------------------------------------------------------- counters


NETSTAT = """\
TcpExt: SyncookiesSent SyncookiesRecv
TcpExt: 0 3
IpExt: InNoRoutes InTruncatedPkts
IpExt: 1 2
MPTcpExt: MPCapableSYNRX MPCapableSYNTX MPJoinSynRx MPFallbackTokenInit
MPTcpExt: 12 34 5 0
"""


def test_counters_reads_the_mptcpext_section(tmp_path):
    path = tmp_path / "netstat"
    path.write_text(NETSTAT)
    assert _sockets.counters(str(path)) == {
        "MPCapableSYNRX": 12, "MPCapableSYNTX": 34, "MPJoinSynRx": 5, "MPFallbackTokenInit": 0}


def test_counters_without_mptcp(tmp_path):
    path = tmp_path / "netstat"
    path.write_text(NETSTAT[:NETSTAT.index("MPTcpExt")])
    assert _sockets.counters(str(path)) == {}


def test_counters_missing_file(tmp_path):
    assert _sockets.counters(str(tmp_path / "absent")) == {}
