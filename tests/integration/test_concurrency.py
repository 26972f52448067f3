# -*- coding: utf-8 -*-
"""Two writers of one namespace never interleave: every module that writes
MPTCP state holds the namespace's lock (an flock on its nsfs inode) from
reading the state to verifying its writes. `ip -j mptcp endpoint show` and
/proc/locks are the oracle."""

from __future__ import absolute_import, division, print_function

import subprocess
import time

import pytest

from conftest import lock_held, module_result, start_module

EP = "mptcp.linux.mptcp_endpoints"
SYS = "mptcp.linux.mptcp_sysctl"
LIM = "mptcp.linux.mptcp_limits"

# two full sets (the kernel's maximum of 8), each with its own ids and flags
SET_A = [{"address": "10.61.0.%d" % n, "id": n, "flags": ["subflow"]} for n in range(1, 9)]
SET_B = [{"address": "10.62.0.%d" % n, "id": 10 + n, "flags": ["signal"]} for n in range(1, 9)]
ROUNDS = 20


def shown(config):
    """A config set as the module reports it and as the oracle reads it."""
    return [{"id": e["id"], "address": e["address"], "port": None, "dev": None, "flags": e["flags"]} for e in config]


def test_two_overridden_runs_at_once_end_in_one_set(python, module_path, netns):
    """20 rounds of two simultaneous `overridden` runs with different full
    sets; in odd rounds the second run reaches the namespace through another
    name (a bind mount of /run/netns/NAME), so only a lock keyed by the
    namespace itself, not by its name, serializes them."""
    alias = netns.alias()
    sets = {"a": shown(SET_A), "b": shown(SET_B)}
    for index in range(ROUNDS):
        names = {"a": netns.name, "b": alias if index % 2 else netns.name}
        order = ("a", "b") if index % 4 < 2 else ("b", "a")
        start = netns.endpoints()
        procs = dict((tag, start_module(python, module_path, "mptcp_endpoints", {
            "netns": names[tag], "state": "overridden", "config": SET_A if tag == "a" else SET_B})) for tag in order)
        results = dict((tag, module_result(proc)) for tag, proc in procs.items())
        final = netns.endpoints()
        where = "round %d (%s)" % (index, ", ".join("%s via %s" % (tag, names[tag]) for tag in order))
        for tag, result in results.items():
            assert not result.get("failed"), "%s: run %s failed: %s" % (where, tag, result.get("msg"))
            assert result["after"] == sets[tag], "%s: run %s reports an after that is not what it set" % (where, tag)
        assert final in (sets["a"], sets["b"]), "%s: the kernel holds neither set: %s" % (where, final)
        # serializable: one run read what the round started with, the other read
        # what the first left (its after), and the kernel ends with the second's after
        assert any(results[x]["before"] == start and results[y]["before"] == results[x]["after"]
                   and results[y]["after"] == final for x, y in (("a", "b"), ("b", "a"))), \
            "%s: the runs interleaved: %r" % (where, results)


@pytest.mark.parametrize("module, args, through_alias", [
    (EP, {"state": "overridden", "config": [{"address": "10.61.0.1", "flags": ["subflow"]}]}, False),
    (EP, {"state": "overridden", "config": [{"address": "10.61.0.1", "flags": ["subflow"]}]}, True),
    (SYS, {"checksum_enabled": True}, False),
    (LIM, {"subflows": 5, "add_addr_accepted": 4}, False),
], ids=["endpoints", "endpoints-other-name", "sysctl", "limits"])
def test_a_held_lock_times_out_naming_its_holder(runner, netns, module, args, through_alias):
    netns.ip("mptcp", "endpoint", "add", "192.0.2.10", "id", "1", "signal")
    holder_name = netns.alias() if through_alias else netns.name
    with lock_held(netns, holder_name) as pid:
        before = netns.state()
        started = time.time()
        result = runner.play([(module, dict(args, netns=netns.name, lock_timeout=1), {"ignore_errors": True})])[0]
        waited = time.time() - started
        assert result.get("failed") is True, result
        assert "pid %d (flock /proc/self/ns/net sleep 30)" % pid in result["msg"], result["msg"]
        assert "waited 1 s (lock_timeout)" in result["msg"] and "Nothing was changed" in result["msg"]
        assert result.get("changed") is not True
        assert waited >= 1
        assert netns.state() == before, "a run that did not get the lock changed the state"
        # check mode takes no lock: a dry run reads and predicts while the lock is held
        check = runner.play([(module, dict(args, netns=netns.name, lock_timeout=1), {"check_mode": True})])[0]
        assert not check.get("failed") and check["changed"] is True, check
        assert netns.state() == before


def test_a_run_waits_for_the_lock_and_plans_from_what_it_finds(python, module_path, netns):
    """While a shell holds the lock, a run waits; it reads the state only
    once the lock is free, so it sees what the holder left."""
    with lock_held(netns) as dummy:
        proc = start_module(python, module_path, "mptcp_endpoints", {
            "netns": netns.name, "state": "merged", "config": [{"address": "10.61.0.2", "id": 2, "flags": ["subflow"]}]})
        with pytest.raises(subprocess.TimeoutExpired):
            proc.wait(timeout=5)  # a run takes well under a second: it is waiting for the lock
        netns.ip("mptcp", "endpoint", "add", "10.61.0.1", "id", "1", "signal")  # what the holder does
    result = module_result(proc)
    assert not result.get("failed"), result
    assert result["before"] == [{"id": 1, "address": "10.61.0.1", "port": None, "dev": None, "flags": ["signal"]}]
    assert result["after"] == netns.endpoints() == result["before"] + shown([{"address": "10.61.0.2", "id": 2, "flags": ["subflow"]}])
