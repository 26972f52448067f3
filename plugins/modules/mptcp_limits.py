#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mptcp_limits
short_description: Set the MPTCP path manager limits (ip mptcp limits)
version_added: 1.0.0
description:
  - Sets how many additional subflows a connection may open and how many
    addresses announced by the peer (ADD_ADDR) it accepts, over netlink.
  - The kernel default is O(subflows=2) and O(add_addr_accepted=0), so a client
    ignores every address a server announces until O(add_addr_accepted) is raised.
  - Limits live in kernel memory only and vanish at reboot.
author:
  - mptcp.linux maintainers (@mptcp-linux)
extends_documentation_fragment:
  - mptcp.linux.netns
  - mptcp.linux.lock
  - mptcp.linux.netns.attributes
requirements:
  - pyroute2 (0.7 or later) on the managed host
options:
  subflows:
    description:
      - Maximum number of additional subflows per MPTCP connection, 0 to 8.
      - Left as it is when not given.
    type: int
  add_addr_accepted:
    description:
      - Maximum number of ADD_ADDR announcements accepted per connection, 0 to 8.
      - Left as it is when not given.
    type: int
notes:
  - "Failure semantics: the module sets both limits in one netlink request,
    which the kernel applies whole or not at all, and says which."
  - "Bad input (a limit outside 0..8) fails before anything is read or changed."
  - "A kernel refusal fails the run; the limits are read back and the message
    says whether they are as before (nothing was changed) or how they differ.
    A read-back that is not what was set (the kernel accepted something else)
    puts the previous limits back and says what the read-back then shows.
    The result carries RV(before), RV(after) (read back) and RV(commands)."
  - "A concurrent run on the same network namespace waits for the lock (see
    O(lock_timeout)) and then starts from what the first run left."
  - "A run killed midway has either sent its one request or not: the limits
    are the old or the new ones, never a mix. The next run completes it."
  - C(ip mptcp endpoint flush) resets O(add_addr_accepted) to 0; the
    M(mptcp.linux.mptcp_endpoints) module never flushes.
seealso:
  - module: mptcp.linux.mptcp_endpoints
"""

EXAMPLES = r"""
- name: Let a client accept two announced server addresses and open up to four subflows
  mptcp.linux.mptcp_limits:
    subflows: 4
    add_addr_accepted: 2
"""

RETURN = r"""
before:
  description: The limits before the change.
  returned: always
  type: dict
  sample: {"subflows": 2, "add_addr_accepted": 0}
after:
  description: The limits after the change, read back (or as they would be, in check mode).
    After a failure, as read back then.
  returned: always, and on failure once the kernel was written
  type: dict
  sample: {"subflows": 4, "add_addr_accepted": 2}
commands:
  description: The C(ip mptcp) command equivalent to the change (what was sent, on failure).
  returned: always, and on failure once the kernel was written
  type: list
  elements: str
  sample: ["ip mptcp limits set subflows 4 add_addr_accepted 2"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mptcp.linux.plugins.module_utils import _limits, _netlink
from ansible_collections.mptcp.linux.plugins.module_utils._common import NETNS_ARGUMENT, enter_netns, netns_restored, lock_timeout_problem
from ansible_collections.mptcp.linux.plugins.module_utils._lock import LOCK_ARGUMENT, ModuleLock


@netns_restored
def main():
    argument_spec = dict(
        subflows=dict(type="int"),
        add_addr_accepted=dict(type="int"),
    )
    argument_spec.update(NETNS_ARGUMENT)
    argument_spec.update(LOCK_ARGUMENT)
    module = AnsibleModule(
        argument_spec=argument_spec,
        supports_check_mode=True,
        required_one_of=[("subflows", "add_addr_accepted")],
    )
    desired = _limits.wanted(module.params)
    problems = _limits.problems(desired)
    problems += [p for p in [lock_timeout_problem(module)] if p]
    if problems:
        module.fail_json(msg="; ".join(problems))

    enter_netns(module)
    client = _netlink.mptcp_client(module)
    with ModuleLock(module, "mptcp.linux.mptcp_limits"):
        before = client.limits()
        after = dict(before, **desired)
        result = dict(changed=after != before, before=before, after=after, commands=[])
        if result["changed"] and module.check_mode:
            result["commands"] = [_limits.COMMAND % after]
        elif result["changed"]:
            try:
                result["after"] = _limits.set_checked(client, before, after, result["commands"])
            except _limits.LimitsError as exc:
                module.fail_json(msg=exc.msg, before=before, after=exc.after, commands=exc.commands)
        if module._diff:
            result["diff"] = dict(before=before, after=result["after"])
        module.exit_json(**result)


if __name__ == "__main__":
    main()
