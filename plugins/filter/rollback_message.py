# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: rollback_message
short_description: The message of a role step that failed after earlier steps changed the host
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - A role applies the host's state in steps. When a later step fails, its
    rescue puts back what the earlier steps changed, each undo task
    registered with C(ignore_errors). This filter turns the failure and
    those undo results into one message that names the cause and says
    whether the host is again as it was, and if not, what was not put back.
  - The failed step's own module puts back its own part. Where its result
    shows that it could not (its read-back C(after), or C(limits_after),
    differs from C(before), or C(limits_before)), the message says the host
    is left changed, even if every earlier step was put back.
  - An undo that was skipped (its step had changed nothing, or had not
    run) is left out.
options:
  _input:
    description: The failed task's result (C(ansible_failed_result)).
    type: dict
    required: true
  task:
    description: The failed task's name (C(ansible_failed_task.name)).
    type: str
    required: true
  undone:
    description:
      - One entry per earlier step, in the order they were undone, with
        V(what) (what the step had changed, for the message) and V(result)
        (the registered result of its undo task, or null when it had none).
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Stop, naming the cause and what was put back
  ansible.builtin.fail:
    msg: >-
      {{ ansible_failed_result | mptcp.linux.rollback_message(ansible_failed_task.name,
         [{'what': 'the limits', 'result': undo_limits}]) }}
"""

RETURN = r"""
_value:
  description: The message.
  type: str
  sample: >-
    Set the endpoints failed: ip mptcp endpoint add 192.0.2.10 port 9000 signal: the kernel refused it
    (Address already in use). Rolled back what this run had changed before that step: the limits, the
    net.mptcp sysctls. The host is as it was before the run.
"""


def _ran(result):
    return isinstance(result, dict) and not result.get("skipped")


def _differs(before, after):
    if isinstance(before, dict) and isinstance(after, dict):
        return any(key not in before or before[key] != value for key, value in after.items())
    return isinstance(before, list) and isinstance(after, list) and before != after


def _left_changed(failed):
    """Whether the failed step's own read-back differs from what it read
    before it wrote: its module could not put its own part back. The
    collection's modules give both on such a failure (before/after, and
    limits_before/limits_after for mptcp_endpoints with limits)."""
    return any(_differs(failed.get(before), failed.get(after))
               for before, after in (("before", "after"), ("limits_before", "limits_after")))


def rollback_message(failed, task, undone):
    failed = failed or {}
    cause = str(failed.get("msg") or "no message").rstrip(". ")
    message = "%s failed: %s." % (task, cause)
    ran = [(entry["what"], entry.get("result")) for entry in undone if _ran(entry.get("result"))]
    back = [what for what, result in ran if not result.get("failed")]
    left = ["%s (%s)" % (what, str(result.get("msg") or "no message").rstrip(". "))
            for what, result in ran if result.get("failed")]
    if _left_changed(failed):
        left.append("what that step changed (see above)")
    if back:
        message += " Rolled back what this run had changed before that step: %s." % ", ".join(back)
    if left:
        return message + " NOT rolled back, the host is left changed: %s." % "; ".join(left)
    if not ran:
        return message + " Nothing else had changed before that step."
    return message + " The host is as it was before the run."


class FilterModule(object):
    def filters(self):
        return {"rollback_message": rollback_message}
