# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_limits with a fake path manager: the paths the real kernel does not
take on demand (a write it accepts and reads back otherwise, a refused
put-back). The kernel's own refusals are tested in tests/integration."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.mptcp.linux.plugins.module_utils import _limits, _netlink

BEFORE = {"subflows": 2, "add_addr_accepted": 0}
WANTED = {"subflows": 4, "add_addr_accepted": 2}


class FakeClient(object):
    """Limits in memory. READ_AS maps a written value to what reads back;
    REFUSE lists the writes (as dicts) the fake kernel refuses."""

    def __init__(self, limits, read_as=None, refuse=()):
        self.current = dict(limits)
        self.read_as = read_as or {}
        self.refuse = list(refuse)
        self.sent = []

    def limits(self):
        return dict(self.current)

    def set_limits(self, subflows, add_addr_accepted):
        wanted = {"subflows": subflows, "add_addr_accepted": add_addr_accepted}
        self.sent.append(wanted)
        if wanted in self.refuse:
            raise _netlink.NetlinkError(22, "Invalid argument")
        self.current = dict(self.read_as.get((subflows, add_addr_accepted), wanted))


def test_set_checked_returns_the_read_back():
    client = FakeClient(BEFORE)
    commands = []
    assert _limits.set_checked(client, BEFORE, WANTED, commands) == WANTED
    assert commands == ["ip mptcp limits set subflows 4 add_addr_accepted 2"]


def test_a_refusal_reads_back_and_says_nothing_changed():
    client = FakeClient(BEFORE, refuse=[WANTED])
    with pytest.raises(_limits.LimitsError) as caught:
        _limits.set_checked(client, BEFORE, WANTED, [])
    assert caught.value.msg == ("ip mptcp limits set subflows 4 add_addr_accepted 2: the kernel refused it: Invalid "
                                "argument. Nothing was changed: the limits read back as before (subflows 2 "
                                "add_addr_accepted 0).")
    assert caught.value.after == BEFORE and client.sent == [WANTED]


def test_a_misread_write_is_put_back():
    client = FakeClient(BEFORE, read_as={(4, 2): {"subflows": 4, "add_addr_accepted": 1}})
    with pytest.raises(_limits.LimitsError) as caught:
        _limits.set_checked(client, BEFORE, WANTED, [])
    assert caught.value.msg == ("ip mptcp limits set subflows 4 add_addr_accepted 2: the kernel accepted it but the "
                                "limits read back as subflows 4 add_addr_accepted 1. The previous limits were "
                                "restored (read back: subflows 2 add_addr_accepted 0).")
    assert caught.value.commands == ["ip mptcp limits set subflows 4 add_addr_accepted 2",
                                     "ip mptcp limits set subflows 2 add_addr_accepted 0"]
    assert client.current == BEFORE


def test_a_misread_write_whose_put_back_is_refused_says_how_they_differ():
    client = FakeClient(BEFORE, read_as={(4, 2): {"subflows": 4, "add_addr_accepted": 1}}, refuse=[BEFORE])
    with pytest.raises(_limits.LimitsError) as caught:
        _limits.set_checked(client, BEFORE, WANTED, [])
    assert caught.value.msg.endswith(
        "; putting back the previous limits was refused: Invalid argument. The limits now differ from before: "
        "subflows 4 add_addr_accepted 1 instead of subflows 2 add_addr_accepted 0.")
    assert caught.value.after == {"subflows": 4, "add_addr_accepted": 1}


def test_undo_after_a_later_failure():
    client = FakeClient(WANTED)
    commands = ["ip mptcp limits set subflows 4 add_addr_accepted 2"]
    assert _limits.undo(client, BEFORE, commands) == (
        "The limits were put back (read back: subflows 2 add_addr_accepted 0).", BEFORE)
    assert commands[-1] == "ip mptcp limits set subflows 2 add_addr_accepted 0"


def test_undo_refused_says_the_limits_are_left_changed():
    client = FakeClient(WANTED, refuse=[BEFORE])
    sentence, now = _limits.undo(client, BEFORE, [])
    assert sentence == ("The limits were NOT put back (putting back the previous limits was refused: Invalid "
                        "argument): subflows 4 add_addr_accepted 2 instead of subflows 2 add_addr_accepted 0.")
    assert now == WANTED


@pytest.mark.parametrize("given, problems", [
    ({"subflows": 8, "add_addr_accepted": 0}, []),
    ({"subflows": 9}, ["limits.subflows: 9 is out of range 0..8"]),
    ({"subflows": -1, "add_addr_accepted": 99},
     ["limits.add_addr_accepted: 99 is out of range 0..8", "limits.subflows: -1 is out of range 0..8"]),
])
def test_problems_name_the_field(given, problems):
    assert _limits.problems(_limits.wanted(dict(given, other=None)), "limits.") == problems
