# -*- coding: utf-8 -*-
"""A failed run leaves the state as it found it, or says exactly what it
could not put back. The kernel refuses for real here: a port already in
use, an unprivileged user, a persist path that cannot be written. `ip`,
/proc and the file system are the oracle."""

from __future__ import absolute_import, division, print_function

import os
import subprocess
import sys

import pytest

from conftest import AS_NOBODY, run_module

EP = "mptcp.linux.mptcp_endpoints"
SYS = "mptcp.linux.mptcp_sysctl"
LIM = "mptcp.linux.mptcp_limits"


def ep(address, id, flags, port=None, dev=None):
    return {"id": id, "address": address, "port": port, "dev": dev, "flags": sorted(flags)}


class Listener(object):
    """A plain TCP socket listening on ADDRESS:PORT inside the namespace, so
    that the kernel cannot bind an MPTCP endpoint's listener there."""

    def __init__(self, netns, address, port):
        code = ("import socket,time\ns=socket.socket()\ns.bind((%r,%d))\ns.listen(1)\nprint('up',flush=True)\n"
                "time.sleep(60)" % (address, port))
        self.proc = subprocess.Popen(["ip", "netns", "exec", netns.name, sys.executable, "-c", code],
                                     stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout.readline().strip() == "up"

    def close(self):
        self.proc.kill()
        self.proc.wait()


@pytest.fixture
def port_in_use(netns):
    listener = Listener(netns, "192.0.2.10", 9000)
    yield
    listener.close()


# ---------------------------------------------------------------- mptcp_endpoints


def test_refusal_midway_restores_a_stale_dev_binding(runner, netns, port_in_use):
    """The endpoint deleted first was bound to an interface that is gone
    (the kernel shows "ifN"); the addition after it is refused (the port is
    taken). The undo must bring the endpoint back with that binding, and the
    message may say "restored" only because the read-back equals before."""
    netns.ip("link", "add", "gone0", "type", "veth", "peer", "name", "gone0p")
    netns.ip("addr", "add", "10.77.0.1/24", "dev", "gone0")
    netns.ip("mptcp", "endpoint", "add", "10.77.0.1", "id", "7", "dev", "gone0", "signal")
    netns.ip("mptcp", "endpoint", "add", "198.51.100.11", "id", "2", "subflow", "backup")
    netns.ip("link", "del", "gone0")
    before = netns.endpoints()
    stale = before[1]["dev"]
    assert stale.startswith("if") and before[1]["address"] == "10.77.0.1"
    result = runner.play([(EP, {"netns": netns.name, "state": "overridden", "config": [
        {"address": "198.51.100.11", "id": 2, "flags": ["subflow"]},
        {"address": "192.0.2.10", "port": 9000, "flags": ["signal"]},
    ]}, {"ignore_errors": True})])[0]
    assert result["failed"] is True
    assert netns.endpoints() == before
    assert "ip mptcp endpoint add 192.0.2.10 port 9000 signal: the kernel refused it" in result["msg"], result["msg"]
    assert result["msg"].endswith("The previous endpoints were restored: the 2 accepted command(s) were undone and "
                                  "the endpoints read back as before."), result["msg"]
    assert result["before"] == before and result["after"] == before
    assert result["commands"] == [
        "ip mptcp endpoint delete id 7 10.77.0.1",
        "ip mptcp endpoint change id 2 nobackup nofullmesh",
        "ip mptcp endpoint add 192.0.2.10 port 9000 signal",
        "ip mptcp endpoint change id 2 backup nofullmesh",
        "ip mptcp endpoint add 10.77.0.1 dev %s id 7 signal" % stale,
    ]


def test_unprivileged_run_says_nothing_was_changed(python, module_path, netns):
    """Without CAP_NET_ADMIN the kernel refuses the first command (EPERM):
    nothing was changed, and the message says so rather than "restored"."""
    netns.ip("mptcp", "endpoint", "add", "192.0.2.10", "id", "1", "signal")
    before = netns.endpoints()
    result = run_module(python, module_path, "mptcp_endpoints", {
        "state": "overridden", "config": [{"address": "198.51.100.11", "flags": ["subflow"]}],
    }, prefix=["ip", "netns", "exec", netns.name] + list(AS_NOBODY))
    assert result["failed"] is True
    assert result["msg"] == ("ip mptcp endpoint delete id 1 192.0.2.10: the kernel refused it: Operation not permitted. "
                             "Nothing was changed: the kernel refused the first command; the endpoints read back as before.")
    assert result["before"] == result["after"] == before == netns.endpoints()
    assert result["commands"] == ["ip mptcp endpoint delete id 1 192.0.2.10"]


def test_a_refused_endpoint_puts_the_limits_back_too(runner, netns, port_in_use):
    """limits: the limits are set, then the kernel refuses the endpoint (its
    port is taken): the limits go back, and the message says so."""
    netns.ip("mptcp", "endpoint", "add", "198.51.100.11", "id", "2", "subflow")
    before = netns.limits(), netns.endpoints()
    result = runner.play([(EP, {"netns": netns.name, "config": [{"address": "192.0.2.10", "port": 9000, "flags": ["signal"]}],
                                "limits": {"subflows": 6, "add_addr_accepted": 3}}, {"ignore_errors": True})])[0]
    assert result["failed"] is True
    assert (netns.limits(), netns.endpoints()) == before
    assert result["msg"].startswith("ip mptcp endpoint add 192.0.2.10 port 9000 signal: the kernel refused it: "), result["msg"]
    assert result["msg"].endswith(
        ". The kernel refused the first endpoint command; the endpoints read back as before. The limits were put back "
        "(read back: subflows 2 add_addr_accepted 0)."), result["msg"]
    assert result["commands"] == ["ip mptcp limits set subflows 6 add_addr_accepted 3",
                                  "ip mptcp endpoint add 192.0.2.10 port 9000 signal",
                                  "ip mptcp limits set subflows 2 add_addr_accepted 0"]
    assert result["limits_before"] == result["limits_after"] == before[0]
    assert result["before"] == result["after"] == before[1]


def test_refused_limits_leave_the_endpoints_untouched(python, module_path, netns):
    netns.ip("mptcp", "endpoint", "add", "192.0.2.10", "id", "1", "signal")
    before = netns.limits(), netns.endpoints()
    result = run_module(python, module_path, "mptcp_endpoints", {
        "state": "overridden", "config": [{"address": "198.51.100.11", "flags": ["subflow"]}], "limits": {"subflows": 5},
    }, prefix=["ip", "netns", "exec", netns.name] + list(AS_NOBODY))
    assert result["failed"] is True
    assert result["msg"] == ("ip mptcp limits set subflows 5 add_addr_accepted 0: the kernel refused it: Operation not "
                             "permitted. Nothing was changed: the limits read back as before (subflows 2 "
                             "add_addr_accepted 0). The endpoints were not touched.")
    assert (netns.limits(), netns.endpoints()) == before
    assert result["commands"] == ["ip mptcp limits set subflows 5 add_addr_accepted 0"]


# ---------------------------------------------------------------- mptcp_limits


def test_limits_refused_says_nothing_was_changed(python, module_path, netns):
    netns.ip("mptcp", "limits", "set", "subflows", "3", "add_addr_accepted", "1")
    result = run_module(python, module_path, "mptcp_limits", {"subflows": 6},
                        prefix=["ip", "netns", "exec", netns.name] + list(AS_NOBODY))
    assert result["failed"] is True
    assert result["msg"] == ("ip mptcp limits set subflows 6 add_addr_accepted 1: the kernel refused it: Operation not "
                             "permitted. Nothing was changed: the limits read back as before (subflows 3 add_addr_accepted 1).")
    assert result["before"] == result["after"] == netns.limits() == {"subflows": 3, "add_addr_accepted": 1}
    assert result["commands"] == ["ip mptcp limits set subflows 6 add_addr_accepted 1"]


# ---------------------------------------------------------------- mptcp_sysctl


def test_sysctl_refused_says_nothing_was_changed(python, module_path, netns):
    before = netns.sysctl()
    result = run_module(python, module_path, "mptcp_sysctl", {"checksum_enabled": True, "stale_loss_cnt": 9},
                        prefix=["ip", "netns", "exec", netns.name] + list(AS_NOBODY))
    assert result["failed"] is True
    assert result["msg"] == ("net.mptcp.checksum_enabled: the kernel refused '1' (Permission denied). Nothing was "
                             "changed: it was the first knob to write, and it reads back as before.")
    assert netns.sysctl() == before
    assert result["before"] == result["after"] == {"checksum_enabled": False, "stale_loss_cnt": 4}
    assert result["commands"] == ["sysctl -w net.mptcp.checksum_enabled=1"]


PERSIST = {"enabled": True, "checksum_enabled": True, "stale_loss_cnt": 7, "persist": True}


def leftovers(directory):
    return [name for name in os.listdir(str(directory)) if name.startswith(".mptcp-sysctl")]


def mounts_under(directory):
    """Mount points at or below DIRECTORY, deepest first (from /proc/self/mountinfo)."""
    with open("/proc/self/mountinfo") as handle:
        points = [line.split()[4] for line in handle]
    return sorted((p for p in points if p == directory or p.startswith(directory + "/")), key=len, reverse=True)


@pytest.fixture
def sysctl_dir(tmp_path):
    directory = tmp_path / "sysctl.d"
    directory.mkdir()
    yield directory
    for point in mounts_under(str(directory)):
        subprocess.run(["umount", point], check=True)


def persist_run(runner, netns, tmp_path, path):
    wrapper = netns.interpreter(tmp_path, runner.python)
    return runner.play([(SYS, dict(PERSIST, persist_path=str(path)), {"ignore_errors": True})], wrap=wrapper)[0]


def assert_nothing_changed(result, netns, sysctl_before, path, cause):
    assert result["failed"] is True and result.get("changed") is not True, result
    assert "Traceback" not in result.get("module_stderr", "")
    assert result["msg"].startswith("persist_path: cannot "), result["msg"]
    assert path in result["msg"] and cause in result["msg"], result["msg"]
    assert "Nothing was changed" in result["msg"], result["msg"]
    assert netns.sysctl() == sysctl_before


@pytest.mark.parametrize("kind", ["directory", "proc", "read-only"])
def test_persist_path_that_cannot_be_written_changes_nothing(runner, netns, tmp_path, sysctl_dir, kind):
    """The file is staged before any knob is written: a path that cannot take
    it fails there, with the runtime untouched and no temporary file left."""
    if kind == "directory":
        path, cause = sysctl_dir / "90-mptcp.conf", "it is a directory"
        path.mkdir()
    elif kind == "proc":
        path, cause = "/proc/sys/net/mptcp/90-mptcp.conf", "it is under /proc, an interface of the kernel"
    else:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(sysctl_dir)], check=True)
        path, cause = sysctl_dir / "90-mptcp.conf", "cannot create a file in %s (Read-only file system)" % sysctl_dir
    before = netns.sysctl()
    result = persist_run(runner, netns, tmp_path, path)
    assert_nothing_changed(result, netns, before, str(path), cause)
    assert result["msg"].startswith("persist_path: cannot write %s: " % path)
    assert result["msg"].endswith(". Nothing was changed."), result["msg"]
    assert result["commands"] == [] and result["after"] == result["before"]
    directory = os.path.dirname(str(path))
    assert leftovers(directory) == []


def test_persist_rename_refused_puts_the_runtime_back(runner, netns, tmp_path, sysctl_dir):
    """The target is a mount point (a bind-mounted file): the staged file is
    written, the knobs are applied, and the rename is refused (EBUSY). The
    knobs written are put back and read back; the file keeps its content."""
    path = sysctl_dir / "90-mptcp.conf"
    source = tmp_path / "pinned.conf"
    source.write_text("# pinned\n")
    path.write_text("")
    subprocess.run(["mount", "--bind", str(source), str(path)], check=True)
    before = netns.sysctl()
    result = persist_run(runner, netns, tmp_path, path)
    assert_nothing_changed(result, netns, before, str(path), "Device or resource busy")
    assert result["msg"] == (
        "persist_path: cannot replace %s: Device or resource busy. Nothing was changed: the 2 knob(s) already "
        "written (net.mptcp.checksum_enabled, net.mptcp.stale_loss_cnt) were put back and read back as before." % path)
    assert before["enabled"] == "1"  # the default: no write
    assert result["commands"] == [
        "sysctl -w net.mptcp.checksum_enabled=1", "sysctl -w net.mptcp.stale_loss_cnt=7",
        "sysctl -w net.mptcp.stale_loss_cnt=4", "sysctl -w net.mptcp.checksum_enabled=0",
    ]
    assert result["after"] == result["before"]
    assert path.read_text() == "# pinned\n"
    assert leftovers(sysctl_dir) == []


def test_persist_removes_what_an_interrupted_run_left(runner, netns, tmp_path, sysctl_dir):
    """A run killed between staging and renaming leaves a temporary file: the
    next run removes it and reports it as a change, never as ok."""
    path = sysctl_dir / "90-mptcp.conf"
    wrapper = netns.interpreter(tmp_path, runner.python)
    args = dict(PERSIST, persist_path=str(path))
    first = runner.play([(SYS, args, {})], wrap=wrapper)[0]
    assert first["changed"] and first["persist_leftovers"] == []
    stale = sysctl_dir / ".mptcp-sysctl.90-mptcp.conf.x1y2z3"
    stale.write_text("net.mptcp.enabled = 1\n")
    check = runner.play([(SYS, args, {"check_mode": True})], wrap=wrapper)[0]
    assert check["changed"] is True and check["persist_leftovers"] == [str(stale)]
    assert stale.exists()
    repair = runner.play([(SYS, args, {})], wrap=wrapper)[0]
    assert repair["changed"] is True and repair["persist_changed"] is False
    assert repair["persist_leftovers"] == [str(stale)] and repair["commands"] == []
    assert sorted(os.listdir(str(sysctl_dir))) == ["90-mptcp.conf"]
    again = runner.play([(SYS, args, {})], wrap=wrapper)[0]
    assert again["changed"] is False and again["persist_leftovers"] == []


def test_sysctl_commands_and_the_deprecated_changes(runner, netns):
    result = runner.play([(SYS, {"netns": netns.name, "checksum_enabled": True, "stale_loss_cnt": 6}, {})])[0]
    assert result["commands"] == ["sysctl -w net.mptcp.checksum_enabled=1", "sysctl -w net.mptcp.stale_loss_cnt=6"]
    assert result["changes"] == ["net.mptcp.checksum_enabled=1", "net.mptcp.stale_loss_cnt=6"]
    # each command, run by sysctl itself in a fresh namespace, gives the same state
    fresh = type(netns)()
    try:
        for command in result["commands"]:
            subprocess.run(["ip", "netns", "exec", fresh.name] + command.split(), check=True, capture_output=True)
        assert fresh.sysctl() == netns.sysctl()
    finally:
        fresh.delete()
