# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""systemd_show: blocks of `systemctl show` output attributed to the units
in the order asked, repeated keys as lists, and refusal of output that
cannot be attributed."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.mptcp.linux.plugins.filter.systemd_show import FilterModule, systemd_show

# What systemd 257 prints for
# systemctl show --property=LoadState,ActiveState,FragmentPath,Listen -- ssh.socket echo.socket nope.service
OUTPUT = """\
LoadState=loaded
ActiveState=active
FragmentPath=/usr/lib/systemd/system/ssh.socket
Listen=[::]:22 (Stream)

LoadState=loaded
ActiveState=active
FragmentPath=/etc/systemd/system/echo.socket
Listen=0.0.0.0:7000 (Stream)
Listen=[::1]:7001 (Stream)

LoadState=not-found
ActiveState=inactive
FragmentPath="""
UNITS = ["ssh.socket", "echo.socket", "nope.service"]


def test_registered_name():
    assert FilterModule().filters()["systemd_show"] is systemd_show


def test_blocks_in_the_order_asked():
    state = systemd_show(OUTPUT, UNITS, ["Listen"])
    assert state == {
        "ssh.socket": {"LoadState": "loaded", "ActiveState": "active",
                       "FragmentPath": "/usr/lib/systemd/system/ssh.socket", "Listen": ["[::]:22 (Stream)"]},
        "echo.socket": {"LoadState": "loaded", "ActiveState": "active",
                        "FragmentPath": "/etc/systemd/system/echo.socket",
                        "Listen": ["0.0.0.0:7000 (Stream)", "[::1]:7001 (Stream)"]},
        "nope.service": {"LoadState": "not-found", "ActiveState": "inactive", "FragmentPath": "", "Listen": []},
    }


def test_lines_as_ansible_registers_them():
    assert systemd_show(OUTPUT.split("\n"), UNITS, ["Listen"]) == systemd_show(OUTPUT, UNITS, ["Listen"])


def test_a_value_may_hold_the_separator():
    assert systemd_show("Environment=A=1 B=2", ["x.service"]) == {"x.service": {"Environment": "A=1 B=2"}}


def test_without_lists_a_repeated_key_keeps_its_last_value():
    assert systemd_show(OUTPUT, UNITS)["echo.socket"]["Listen"] == "[::1]:7001 (Stream)"


def test_nothing_printed_yet():
    assert systemd_show(None, ["a.socket"], ["Listen"]) == {"a.socket": {"Listen": []}}
    assert systemd_show("", ["a.socket"]) == {"a.socket": {}}


def test_an_empty_block_moves_on_to_the_next_unit():
    assert systemd_show("\nLoadState=loaded", ["a.socket", "b.socket"]) == {
        "a.socket": {}, "b.socket": {"LoadState": "loaded"}}


@pytest.mark.parametrize("output, reason", [
    ("LoadState=loaded\n\nLoadState=loaded", "more blocks than the 1 unit(s)"),
    ("LoadState loaded", "is not KEY=VALUE"),
    ("=loaded", "is not KEY=VALUE"),
])
def test_output_that_cannot_be_attributed_is_refused(output, reason):
    with pytest.raises(AnsibleFilterError, match=r"systemd_show: .*" + reason.replace("(", r"\(").replace(")", r"\)")):
        systemd_show(output, ["a.socket"])
