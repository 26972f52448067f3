# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  lock_timeout:
    description:
      - Seconds to wait, 0 to 3600, for the MPTCP lock of the network namespace.
      - The module holds this lock from reading the current state, through
        planning and writing, to reading back and verifying the result, so two
        writers of one namespace (two playbooks, a role's helper, the boot-time
        restore) never interleave; the second waits for the first and then
        plans from what the first left.
      - The lock is the namespace itself, not a name of it. It is an exclusive
        C(flock) on C(/proc/self/ns/net), the namespace's nsfs inode, which every
        name of the namespace shares (C(/run/netns/NAME), a bind mount of it,
        C(/proc/PID/ns/net)). The kernel drops it when its holder exits, however
        it exits, so it never goes stale.
      - When the lock is not free within O(lock_timeout) seconds, the module
        fails having changed nothing, and the message names the holder (its
        pid and command line, or what it is and since when).
      - Check mode takes no lock. It reads the state like any other reader.
      - A shell or a unit file takes the same lock with
        C(flock /proc/self/ns/net COMMAND) run inside the namespace, for
        example C(ip netns exec NAME flock /proc/self/ns/net ip -batch FILE).
    type: int
    default: 60
"""
