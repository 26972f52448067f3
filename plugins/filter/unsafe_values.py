# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: unsafe_values
short_description: List the values that would break out of a unit file or an nginx config
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Walks a variable (strings, numbers, lists and dictionaries, nested) and
    returns one message per string that contains a character able to end a
    directive or open a block in a systemd unit or an nginx configuration
    (newline, carriage return, NUL, C(;), C({), C(})).
  - Each message names the path of the value (for example
    C(mptcp_socket_units[0].exec_start)) and the character found, so a role
    can refuse the input before it writes anything.
  - Dictionary keys are checked as well as values.
positional: name
options:
  _input:
    description: The data to check.
    type: raw
    required: true
  name:
    description: The name of the variable, used as the start of each path.
    type: str
    default: value
"""

EXAMPLES = r"""
- name: Refuse values that would escape the unit files
  ansible.builtin.assert:
    that: __problems | length == 0
    fail_msg: "{{ __problems | join('; ') }}"
    quiet: true
  vars:
    __problems: "{{ my_units | mptcp.linux.unsafe_values('my_units') }}"
"""

RETURN = r"""
_value:
  description: One message per unsafe string; empty when every string is safe.
  type: list
  elements: str
  sample:
    - "mptcp_socket_units[0].exec_start: contains ';' (a directive or block delimiter)"
"""

# Characters that end a directive or open/close a block in a systemd unit
# (newline starts a new key) or an nginx config (';', '{', '}').
FORBIDDEN = (
    ("\n", "a newline"),
    ("\r", "a carriage return"),
    ("\x00", "a NUL byte"),
    (";", "';' (a directive or block delimiter)"),
    ("{", "'{' (a directive or block delimiter)"),
    ("}", "'}' (a directive or block delimiter)"),
)


def _problems(value, path):
    if isinstance(value, str):
        return ["%s: contains %s" % (path, reason) for char, reason in FORBIDDEN if char in value]
    if isinstance(value, dict):
        found = []
        for key, item in value.items():
            found.extend(_problems(key, "%s (key %r)" % (path, key)))
            found.extend(_problems(item, "%s.%s" % (path, key)))
        return found
    if isinstance(value, (list, tuple)):
        found = []
        for index, item in enumerate(value):
            found.extend(_problems(item, "%s[%d]" % (path, index)))
        return found
    return []


def unsafe_values(data, name="value"):
    """Return one message per string in data that holds a forbidden character."""
    return _problems(data, name)


class FilterModule(object):
    def filters(self):
        return {"unsafe_values": unsafe_values}
