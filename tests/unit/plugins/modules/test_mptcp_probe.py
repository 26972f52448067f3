# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""mptcp_probe's targets: each target a full set of options, and the input
problems named by field. The probes themselves run against the kernel in
tests/integration/test_info_probe.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mptcp.linux.plugins.modules.mptcp_probe import targets_of

PARAMS = {"host": None, "port": None, "targets": None, "family": "any", "send": "x", "expect_reply": False,
          "expect_mptcp": True, "expect_subflows": 2, "timeout": 5.0, "settle": 1.0, "netns": None}


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
