# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""tools/vm/vm.py without QEMU: platform validation and the QEMU command line."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest

from ansible_collections.mptcp.linux.tests.unit.tools.harness import import_tool

vm = import_tool("vm.vm")


PAIR = [
    {"name": "server", "suite": "trixie", "links": ["path1", "path2"], "groups": ["mptcp_servers"]},
    {"name": "client", "suite": "trixie", "links": ["path1", "path2"]},
]


def options(argv, flag):
    return [argv[i + 1] for i, arg in enumerate(argv) if arg == flag]


def test_links_join_the_platforms_that_name_them():
    assert vm.check_platforms(PAIR) == {"path1": ["server", "client"], "path2": ["server", "client"]}


@pytest.mark.parametrize("platforms, message", [
    ([], "platforms: a non-empty list"),
    ([{"name": "a b", "suite": "trixie"}], "platforms[0].name 'a b'"),
    ([{"name": "a", "suite": "sid"}], "platforms[0].suite 'sid'"),
    ([{"name": "a", "suite": "trixie"}, {"name": "a", "suite": "forky"}], "platforms[1].name 'a': used twice"),
    ([{"name": "a", "suite": "trixie", "links": ["x", "x"]}], "platforms[0].links: a list of distinct"),
    ([{"name": "a", "suite": "trixie", "links": ["x;y"]}], "platforms[0].links: 'x;y'"),
    ([{"name": "a", "suite": "trixie", "memory": "1G"}], "platforms[0].memory: a positive integer"),
    ([{"name": n, "suite": "trixie", "links": ["lan"]} for n in "abc"], "link 'lan' joins a, b, c"),
])
def test_bad_platforms_are_refused_with_the_field(platforms, message):
    with pytest.raises(vm.VMError, match=r"^" + message.replace("[", r"\[").replace("]", r"\]")
                       .replace("(", r"\(").replace(")", r"\)")):
        vm.check_platforms(platforms)


@pytest.mark.parametrize("kvm, accel", [(True, "kvm"), (False, "tcg,thread=multi")])
def test_qemu_argv_wires_each_link_to_its_peer(kvm, accel):
    members = vm.check_platforms(PAIR)
    server = vm.qemu_argv("pair", "/run/pair", PAIR[0], "/img", 2222, members, kvm)
    client = vm.qemu_argv("pair", "/run/pair", PAIR[1], "/img", 2223, members, kvm)
    assert options(server, "-accel") == [accel]
    assert options(server, "-name") == ["mptcp-vm/pair/server"]
    assert "hostfwd=tcp:127.0.0.1:2222-:22" in options(server, "-netdev")[0]
    # eth0 management first, then the links in the order listed.
    assert [d.split(",")[1] for d in options(server, "-device") if d.startswith("virtio-net-pci")] == \
        ["netdev=mgmt", "netdev=link0", "netdev=link1"]
    assert options(server, "-netdev")[1] == (
        "dgram,id=link0,local.type=unix,local.path=/run/pair/path1.server.sock,"
        "remote.type=unix,remote.path=/run/pair/path1.client.sock")
    assert options(client, "-netdev")[1] == (
        "dgram,id=link0,local.type=unix,local.path=/run/pair/path1.client.sock,"
        "remote.type=unix,remote.path=/run/pair/path1.server.sock")
    macs = [d.split("mac=")[1] for argv in (server, client) for d in options(argv, "-device") if "mac=" in d]
    assert len(set(macs)) == len(macs) == 6


def test_saved_and_resumed_guests_have_the_same_devices():
    """QEMU resumes a saved guest only on the same devices: a guest of any
    scenario and name resumed from a snapshot has the command line of the
    guest that was saved, but for the names of host-side files and the
    -incoming state; create() renames it afterwards."""
    members = vm.check_platforms(PAIR)
    saved = vm.qemu_argv("snapshot", "/cache/s", {"name": "guest", "suite": "trixie", "links": ["nic0", "nic1"]},
                         "/img", 2222, {}, False, saved=True)
    resumed = vm.qemu_argv("pair", "/run/pair", PAIR[1], "/img", 2223, members, False, saved=True, incoming="/cache/snap")
    devices = [d.split(",id=")[0] + "," + d.split("mac=")[1] if "mac=" in d else d for d in options(saved, "-device")]
    assert devices == [d.split(",id=")[0] + "," + d.split("mac=")[1] if "mac=" in d else d
                       for d in options(resumed, "-device")]
    assert options(saved, "-append") == options(resumed, "-append")
    assert "systemd.hostname" not in options(saved, "-append")[0]
    assert options(resumed, "-incoming") == ["exec:cat /cache/snap/state"]
    assert "-incoming" not in saved
    booted = vm.qemu_argv("pair", "/run/pair", PAIR[1], "/img", 2223, members, False)
    assert "systemd.hostname=client" in options(booted, "-append")[0]
    assert vm.link_macs("pair", PAIR[1]) == {"eth1": vm.mac_address("pair", "path1", "client"),
                                             "eth2": vm.mac_address("pair", "path2", "client")}


@pytest.mark.parametrize("platform, shape", [
    ({"name": "a", "suite": "trixie"}, (1024, 2, 0)),
    ({"name": "b", "suite": "bookworm", "memory": 512, "cpus": 1, "links": ["x", "y"]}, (512, 1, 2)),
])
def test_the_shape_of_a_platform_is_its_machine(platform, shape):
    assert vm.shape_of(platform) == shape


def test_a_link_of_one_platform_still_gets_a_nic():
    platform = {"name": "solo", "suite": "trixie", "links": ["spare"]}
    argv = vm.qemu_argv("s", "/run/s", platform, "/img", 2222, vm.check_platforms([platform]), False)
    assert "remote.path=/run/s/spare.-.sock" in options(argv, "-netdev")[1]
    assert "id=nic-spare" in options(argv, "-device")[-1]


def test_kill_strays_only_knows_its_own_qemu():
    assert vm.qemu_name(os.getpid()) is None


def fake_guest(monkeypatch, boot_ids, qemu_running=True):
    """reboot() against a fake guest: BOOT_IDS are the answers of successive
    logins (None: no login). Returns the list of commands run in the guest."""
    commands = []
    answers = iter(boot_ids)
    monkeypatch.setattr(vm, "instance_of", lambda scenario, name: {"instance": name, "serial_log": "/log"})
    monkeypatch.setattr(vm, "boot_id", lambda instance, timeout: next(answers))
    monkeypatch.setattr(vm, "read_pid", lambda path: 42)
    monkeypatch.setattr(vm, "qemu_name", lambda pid: "mptcp-linux/s/host" if qemu_running else None)
    monkeypatch.setattr(vm, "ssh_argv", lambda instance, command: list(command))
    monkeypatch.setattr(vm.subprocess, "run", lambda argv, **kwargs: commands.append(argv))
    monkeypatch.setattr(vm.time, "sleep", lambda seconds: None)
    return commands


def test_reboot_waits_for_a_new_boot_id(monkeypatch):
    """Logins fail while the guest goes down and boots; a login that still
    shows the old boot id (before the shutdown) is not taken for the new boot."""
    commands = fake_guest(monkeypatch, ["old", None, None, "old", "new"])
    assert vm.reboot("s", "host") == "new"
    assert commands == [["systemctl", "reboot"]]


def test_reboot_fails_when_qemu_exits(monkeypatch):
    fake_guest(monkeypatch, ["old", "old"], qemu_running=False)
    with pytest.raises(vm.VMError, match="QEMU of host exited during the reboot; see /log"):
        vm.reboot("s", "host")


def test_reboot_refuses_a_guest_it_cannot_log_in_to(monkeypatch):
    commands = fake_guest(monkeypatch, [None])
    with pytest.raises(vm.VMError, match="host: no root login before the reboot"):
        vm.reboot("s", "host")
    assert commands == []


def test_reboot_gives_up_after_the_ssh_timeout(monkeypatch):
    fake_guest(monkeypatch, ["old"] + ["old"] * 5)
    monkeypatch.setattr(vm, "SSH_TIMEOUT", 0)
    with pytest.raises(vm.VMError, match="no root login with a new boot id within 0 s of the reboot; see /log"):
        vm.reboot("s", "host")
