# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mptcp_probe's targets: each target a full set of options, the input
problems named by field, and how several attempts add up (fallbacks,
counter deltas, the summary line) over made-up connections. The probes
themselves run against the kernel in tests/integration/test_info_probe.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.mptcp.linux.plugins.modules import mptcp_probe
from ansible_collections.mptcp.linux.plugins.modules.mptcp_probe import (ProbeFailed, counter_deltas, problems_of, summary,
                                                                         targets_of)

PARAMS = {"host": None, "port": None, "targets": None, "family": "any", "send": "x", "expect_reply": False,
          "expect_mptcp": True, "expect_subflows": 2, "timeout": 5.0, "settle": 1.0, "attempts": 1, "netns": None}


def _entry(host, port=None, name=None, expect_reply=None):
    return {"host": host, "port": port, "name": name, "expect_reply": expect_reply}


def test_one_host_is_one_target_named_after_it():
    targets, problems = targets_of(dict(PARAMS, host="10.0.1.2", port=4242))
    assert [p for p in problems if p] == []
    assert len(targets) == 1 and targets[0]["name"] == "10.0.1.2" and targets[0]["port"] == 4242


def test_targets_take_the_module_options_unless_they_give_their_own():
    targets, problems = targets_of(dict(PARAMS, port=4242, targets=[
        _entry("10.0.1.2", name="web1"), _entry("10.0.1.3", port=8443, expect_reply=True)]))
    assert [p for p in problems if p] == []
    assert [(t["name"], t["host"], t["port"], t["expect_reply"]) for t in targets] == [
        ("web1", "10.0.1.2", 4242, False), ("10.0.1.3", "10.0.1.3", 8443, True)]
    assert all(t["expect_subflows"] == 2 and t["timeout"] == 5.0 for t in targets)


def test_a_target_without_any_port_and_a_bad_port_are_named_by_index():
    dummy, problems = targets_of(dict(PARAMS, targets=[_entry("a", port=80), _entry("b"), _entry("c", port=70000)]))
    assert [p for p in problems if p] == ["targets[1].port: missing, and no port option for every target",
                                          "targets[2].port: 70000 is out of range 1..65535"]


def test_an_empty_list_is_refused():
    dummy, problems = targets_of(dict(PARAMS, port=4242, targets=[]))
    assert [p for p in problems if p] == ["targets: an empty list, nothing to probe"]


@pytest.mark.parametrize("attempts", [0, -1, 101])
def test_attempts_out_of_range_is_refused(attempts):
    dummy, problems = problems_of(dict(PARAMS, host="10.0.1.2", port=4242, attempts=attempts))
    assert problems == ["attempts: %d is out of range 1..100 (connections to open to each target)" % attempts]


def test_attempts_in_range_and_every_problem_named():
    assert problems_of(dict(PARAMS, host="10.0.1.2", port=4242, attempts=100))[1] == []
    dummy, problems = problems_of(dict(PARAMS, host="h", port=0, attempts=0, timeout=0.0))
    assert [p.split(":")[0] for p in problems] == ["port", "timeout", "attempts"]


def test_counter_deltas_keep_the_client_counters_the_kernel_has():
    before = {"MPCapableSYNTX": 10, "MPCapableFallbackSYNACK": 4, "MPJoinSynAckRx": 7, "MPCapableSYNRX": 5}
    after = {"MPCapableSYNTX": 13, "MPCapableFallbackSYNACK": 4, "MPJoinSynAckRx": 10, "MPCapableSYNRX": 9}
    assert counter_deltas(before, after) == {"MPCapableSYNTX": 3, "MPCapableFallbackSYNACK": 0, "MPJoinSynAckRx": 3}
    assert counter_deltas({}, {}) == {}  # no MPTcpExt line (no MPTCP in the kernel)


def test_summary_lines():
    counters = {"MPCapableSYNTX": 3, "MPCapableFallbackSYNACK": 1, "MPCapableSYNTXDrop": 1, "MPJoinSynAckRx": 2}
    assert summary(dict(mptcp=True, subflows=2, attempts=3, fallbacks=0, counters=counters)) == (
        "MPTCP, 2 subflows, 0 of 3 attempts fell back (MP_CAPABLE SYNs 3, fallbacks 2, MP_JOIN SYN-ACKs 2)")
    assert summary(dict(mptcp=False, subflows=1, attempts=1, fallbacks=1, counters={})) == (
        "plain TCP (fell back), 1 subflow, 1 of 1 attempt fell back")
    assert summary(dict(mptcp=False, subflows=0, attempts=0, fallbacks=0, counters={})) == "not connected"


class FakeHost(object):
    """Made-up connections (mptcp, subflows) one per attempt, and a counter
    of MP_CAPABLE SYNs that each attempt raises."""

    def __init__(self, monkeypatch, outcomes):
        self.outcomes, self.syns = list(outcomes), 0
        monkeypatch.setattr(mptcp_probe, "attempt", self.attempt)
        monkeypatch.setattr(mptcp_probe._sockets, "counters", lambda: {"MPCapableSYNTX": self.syns})

    def attempt(self, target):
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, ProbeFailed):
            raise outcome
        self.syns += 1
        mptcp, subflows = outcome
        return dict(mptcp=mptcp, subflows=subflows, remote="10.0.1.2:4242", bytes_received=1, local="l%d" % self.syns)


def _target(**options):
    return dict(targets_of(dict(PARAMS, host="10.0.1.2", port=4242))[0][0], **options)


def test_all_attempts_negotiated(monkeypatch):
    FakeHost(monkeypatch, [(True, 2)] * 3)
    result = mptcp_probe.probe(_target(attempts=3))
    assert (result["attempts"], result["mptcp_attempts"], result["fallbacks"]) == (3, 3, 0)
    assert result["counters"] == {"MPCapableSYNTX": 3} and result["local"] == "l3"  # the last attempt's fields
    assert result["summary"] == "MPTCP, 2 subflows, 0 of 3 attempts fell back (MP_CAPABLE SYNs 3)"


def test_fallbacks_do_not_stop_the_attempts_and_are_counted(monkeypatch):
    host = FakeHost(monkeypatch, [(True, 2), (False, 1), (True, 2), (False, 1)])
    with pytest.raises(ProbeFailed) as caught:
        mptcp_probe.probe(_target(attempts=4))
    result = caught.value.result
    assert host.outcomes == [] and (result["attempts"], result["mptcp_attempts"], result["fallbacks"]) == (4, 2, 2)
    assert result["mptcp"] is False and result["local"] == "l2"  # the first that fell back
    assert caught.value.msg.startswith("MPTCP was not negotiated with 10.0.1.2:4242: 2 of 4 attempt(s) fell back")


def test_fallbacks_only_reported_without_expect_mptcp(monkeypatch):
    FakeHost(monkeypatch, [(False, 1), (True, 2)])
    result = mptcp_probe.probe(_target(attempts=2, expect_mptcp=False, expect_subflows=None))
    assert (result["fallbacks"], result["mptcp_attempts"]) == (1, 1)


def test_another_failure_stops_the_attempts_and_says_which(monkeypatch):
    host = FakeHost(monkeypatch, [(True, 2), (True, 1), (True, 2)])
    with pytest.raises(ProbeFailed) as caught:
        mptcp_probe.probe(_target(attempts=3))
    assert len(host.outcomes) == 1 and caught.value.result["attempts"] == 2
    assert caught.value.msg.startswith("attempt 2 of 3: only 1 subflow(s) to 10.0.1.2:4242 came up")


def test_a_refused_first_attempt_is_not_connected(monkeypatch):
    FakeHost(monkeypatch, [ProbeFailed("cannot connect to 10.0.1.2 port 4242: refused")])
    with pytest.raises(ProbeFailed) as caught:
        mptcp_probe.probe(_target())
    assert caught.value.msg == "cannot connect to 10.0.1.2 port 4242: refused"
    result = caught.value.result
    assert (result["attempts"], result["fallbacks"], result["summary"]) == (0, 0, "not connected")
