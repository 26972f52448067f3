#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: check_mode
short_description: Tell whether this task runs in check mode
version_added: 1.0.0
description:
  - Returns C(check_mode), true when the task runs in check mode, however
    check mode was asked for - C(--check) on the command line, or
    C(check_mode) on the play, a block, an included role or the task.
  - The magic variable C(ansible_check_mode) reflects C(--check) only, so a
    role applied with the C(check_mode) keyword set to true cannot tell from
    it that it must not change anything; the roles of this collection read
    this module's result instead.
  - Runs on the controller; nothing is sent to the managed host.
author:
  - mptcp.linux maintainers (@mptcp-linux)
options: {}
attributes:
  check_mode:
    support: full
    description: Runs the same in check mode, and says so.
  diff_mode:
    support: none
    description: Changes nothing, so there is no diff.
  idempotent:
    support: full
    description: Changes nothing.
  action:
    support: full
    description: Implemented as an action plugin, answered on the controller.
"""

EXAMPLES = r"""
- name: Tell a dry run from a real one
  mptcp.linux.check_mode:
  register: __myrole_run

- name: Start the service (skipped in a dry run of a unit this run would create)
  ansible.builtin.systemd_service:
    name: example.socket
    state: started
  when: not __myrole_run.check_mode
"""

RETURN = r"""
check_mode:
  description: Whether the task ran in check mode.
  returned: always
  type: bool
  sample: false
"""
