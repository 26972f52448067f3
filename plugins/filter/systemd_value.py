# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: systemd_value
short_description: A systemd setting that takes the rest of the line (Description= and the like)
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Returns the text with C(%) written as C(%%), the only escape such
    settings know, so that systemd reads back exactly the text.
  - Refused, with the reason, exactly what systemd cannot read back in such
    a value - a line break (LF, CR) or NUL, blanks at either end (systemd
    strips them), an odd number of trailing backslashes (a line
    continuation), a Unicode noncharacter (systemd ignores a line that is
    not valid UTF-8 for it), a value longer than a line of a unit file
    (1 MiB).
  - Meant for templates, after the role has validated its input with messages
    that name the variable; the error here only names the reason.
options:
  _input:
    description: The text.
    type: raw
    required: true
"""

EXAMPLES = r"""
# In a template:
#   Description={{ 'web at 100% over MPTCP' | mptcp.linux.systemd_value }}
# renders
#   Description=web at 100%% over MPTCP

- name: Render a Description= value
  ansible.builtin.debug:
    msg: "Description={{ 'web at 100% over MPTCP' | mptcp.linux.systemd_value }}"
"""

RETURN = r"""
_value:
  description: The text to write after the C(=).
  type: str
  sample: web at 100%% over MPTCP
"""

from ansible.errors import AnsibleFilterError


def systemd_value(text):
    """The text, escaped for a rest-of-line systemd setting."""
    from ansible_collections.mptcp.linux.plugins.module_utils._quote import QuoteError, systemd_value as _systemd_value
    try:
        return _systemd_value(text)
    except QuoteError as e:
        raise AnsibleFilterError("systemd_value: %s" % e)


class FilterModule(object):
    def filters(self):
        return {"systemd_value": systemd_value}
