#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mptcp_limits
short_description: Set the MPTCP path manager limits (ip mptcp limits)
version_added: 0.1.0
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
  description: The limits after the change (or as they would be, in check mode).
  returned: always
  type: dict
  sample: {"subflows": 4, "add_addr_accepted": 2}
commands:
  description: The C(ip mptcp) command equivalent to the change.
  returned: always
  type: list
  elements: str
  sample: ["ip mptcp limits set subflows 4 add_addr_accepted 2"]
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mptcp.linux.plugins.module_utils import _netlink
from ansible_collections.mptcp.linux.plugins.module_utils._common import NETNS_ARGUMENT, enter_netns

LIMIT_MAX = 8


def main():
    module = AnsibleModule(
        argument_spec=dict(
            subflows=dict(type="int"),
            add_addr_accepted=dict(type="int"),
            **NETNS_ARGUMENT
        ),
        supports_check_mode=True,
        required_one_of=[("subflows", "add_addr_accepted")],
    )
    desired = dict((k, module.params[k]) for k in ("subflows", "add_addr_accepted") if module.params[k] is not None)
    problems = ["%s: %d is out of range 0..%d" % (k, v, LIMIT_MAX) for k, v in sorted(desired.items()) if not 0 <= v <= LIMIT_MAX]
    if problems:
        module.fail_json(msg="; ".join(problems))

    enter_netns(module)
    client = _netlink.mptcp_client(module)
    before = client.limits()
    after = dict(before, **desired)
    result = dict(changed=after != before, before=before, after=after, commands=[])
    if result["changed"]:
        result["commands"] = ["ip mptcp limits set subflows %(subflows)d add_addr_accepted %(add_addr_accepted)d" % after]
        if not module.check_mode:
            try:
                client.set_limits(after["subflows"], after["add_addr_accepted"])
            except _netlink.NetlinkError as exc:
                module.fail_json(msg="the kernel refused the limits: %s" % _netlink.describe_error(exc), before=before)
            result["after"] = client.limits()
    if module._diff:
        result["diff"] = dict(before=before, after=result["after"])
    module.exit_json(**result)


if __name__ == "__main__":
    main()
