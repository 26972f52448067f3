# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mptcp.linux.plugins.filter.rollback_message import rollback_message

FAILED = {"failed": True, "msg": "ip mptcp endpoint add 192.0.2.10 port 9000 signal: the kernel refused it."}
TASK = "Set the endpoints"
SKIPPED = {"skipped": True, "changed": False}


def test_all_put_back():
    message = rollback_message(FAILED, TASK, [{"what": "the limits", "result": {"changed": True}},
                                              {"what": "the net.mptcp sysctls", "result": {"changed": True}}])
    assert message == ("Set the endpoints failed: ip mptcp endpoint add 192.0.2.10 port 9000 signal: the kernel "
                       "refused it. Rolled back what this run had changed before that step: the limits, the net.mptcp "
                       "sysctls. The host is as it was before the run.")


def test_nothing_had_changed():
    message = rollback_message(FAILED, TASK, [{"what": "the limits", "result": SKIPPED},
                                              {"what": "the sysctl.d file", "result": None}])
    assert message.endswith("refused it. Nothing else had changed before that step.")


def test_an_undo_that_failed_is_named_and_the_host_said_changed():
    message = rollback_message({"msg": "boom"}, TASK, [
        {"what": "the limits", "result": {"failed": True, "msg": "limits: EPERM."}},
        {"what": "the net.mptcp sysctls", "result": {"changed": True}}])
    assert message == ("Set the endpoints failed: boom. Rolled back what this run had changed before that step: the "
                       "net.mptcp sysctls. NOT rolled back, the host is left changed: the limits (limits: EPERM).")
    assert "as it was" not in message


def test_a_result_without_message():
    assert rollback_message({}, TASK, []) == "Set the endpoints failed: no message. Nothing else had changed before that step."


def test_the_failed_step_put_its_own_part_back():
    failed = dict(FAILED, before=[{"id": 1}], after=[{"id": 1}],
                  limits_before={"subflows": 2, "add_addr_accepted": 0}, limits_after={"subflows": 2, "add_addr_accepted": 0})
    message = rollback_message(failed, TASK, [{"what": "the net.mptcp sysctls", "result": {"changed": True}}])
    assert message.endswith("the net.mptcp sysctls. The host is as it was before the run.")


def test_the_failed_step_could_not_put_its_own_part_back():
    """Every earlier step was put back, but the failed module's read-back
    (here its limits) is not what it read before: the host is not as it was."""
    failed = dict(FAILED, before=[{"id": 1}], after=[{"id": 1}],
                  limits_before={"subflows": 2, "add_addr_accepted": 0}, limits_after={"subflows": 6, "add_addr_accepted": 3})
    message = rollback_message(failed, TASK, [{"what": "the net.mptcp sysctls", "result": {"changed": True}}])
    assert message.endswith("Rolled back what this run had changed before that step: the net.mptcp sysctls. NOT "
                            "rolled back, the host is left changed: what that step changed (see above)."), message
    assert "as it was" not in message
    alone = rollback_message(dict(FAILED, before={"scheduler": "default", "enabled": True},
                                  after={"scheduler": "bpf"}), TASK, [])
    assert alone.endswith("refused it. NOT rolled back, the host is left changed: what that step changed (see above).")
    both = rollback_message(dict(FAILED, before=[{"id": 1}], after=[]), TASK,
                            [{"what": "the limits", "result": {"failed": True, "msg": "EPERM"}}])
    assert both.endswith("NOT rolled back, the host is left changed: the limits (EPERM); what that step changed "
                         "(see above).")


def test_a_sysctl_failure_compares_only_the_knobs_it_read_back():
    failed = dict(FAILED, before={"enabled": True, "scheduler": "default"}, after={"scheduler": "default"})
    assert rollback_message(failed, TASK, []).endswith("Nothing else had changed before that step.")
