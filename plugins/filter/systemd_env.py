# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: systemd_env
short_description: One systemd Environment= assignment, quoted
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Returns C("NAME=value") quoted and C-escaped so that systemd's
    C(Environment=) reads back exactly that name and value; C(%) becomes
    C(%%). C($) needs no escape there (C(Environment=) does not expand
    variables).
  - Several assignments may share one C(Environment=) line, separated by a
    blank.
  - Refused, with the reason - a name that is not an environment variable
    name (letters, digits, C(_), not starting with a digit); a value with a
    NUL or a Unicode noncharacter (U+FFFE, U+FDD0, ...), which systemd
    rejects as invalid UTF-8 and ignores the assignment; an assignment
    longer than a line of a unit file (1 MiB).
  - Meant for templates, after the role has validated its input with messages
    that name the variable; the error here only names the reason.
positional: value
options:
  _input:
    description: The variable name.
    type: str
    required: true
  value:
    description: The value. Numbers are written as they print.
    type: raw
    required: true
"""

EXAMPLES = r"""
# In a template:
#   Environment={{ 'GODEBUG' | mptcp.linux.systemd_env('multipathtcp=1') }}
# renders
#   Environment="GODEBUG=multipathtcp=1"

- name: Render an Environment= assignment
  ansible.builtin.debug:
    msg: "Environment={{ 'GREETING' | mptcp.linux.systemd_env('say \"hi\" at 100%') }}"
"""

RETURN = r"""
_value:
  description: The quoted assignment to write after C(Environment=).
  type: str
  sample: '"GREETING=say \"hi\" at 100%%"'
"""

from ansible.errors import AnsibleFilterError


def systemd_env(name, value):
    """The quoted "NAME=value" for Environment=."""
    from ansible_collections.mptcp.linux.plugins.module_utils._quote import QuoteError, systemd_env as _systemd_env
    try:
        return _systemd_env(name, value)
    except QuoteError as e:
        raise AnsibleFilterError("systemd_env: %s" % e)


class FilterModule(object):
    def filters(self):
        return {"systemd_env": systemd_env}
