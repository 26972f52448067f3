# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: mptcpd_problems
short_description: Why the mptcp.linux.mptcpd role refuses its settings
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Checks the mptcpd role's variables and returns one message per problem,
    each naming the variable.
  - Plugin names are letters, digits, C(_), C(-) and C(.); the path manager
    must be among C(mptcpd_load_plugins) when that is not empty; C(signal)
    and C(fullmesh) address flags cannot be combined; the plugin directory
    is an absolute path that C(mptcpd.conf) can carry (no control character,
    no backslash, no surrounding blanks).
  - With O(installed), also the plugins that are not installed in
    O(plugin_dir), or that no plugin directory was found.
options:
  _input:
    description: The role's variables by name (C(mptcpd_path_manager), C(mptcpd_load_plugins),
      C(mptcpd_plugin_dir), C(mptcpd_addr_flags)).
    type: dict
    required: true
  plugin_dir:
    description: The plugin directory in use; empty when none was found.
    type: str
  installed:
    description: The plugins found in O(plugin_dir) (file names without C(.so)).
    type: list
    elements: str
  searched:
    description: Where a plugin directory was looked for, named when none was found.
    type: list
    elements: str
    default: [/usr/lib, /usr/lib64]
"""

EXAMPLES = r"""
- name: Refuse mptcpd settings that are invalid
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join('; ') }}"
  vars:
    problems: >-
      {{ {'mptcpd_path_manager': mptcpd_path_manager, 'mptcpd_load_plugins': mptcpd_load_plugins,
          'mptcpd_plugin_dir': mptcpd_plugin_dir, 'mptcpd_addr_flags': mptcpd_addr_flags}
         | mptcp.linux.mptcpd_problems }}
"""

RETURN = r"""
_value:
  description: One message per problem; empty when the settings are accepted.
  type: list
  elements: str
  sample:
    - 'mptcpd_path_manager: "addr adv" is not a plugin name (letters, digits, ''_'', ''-'', ''.'')'
"""


def mptcpd_problems(settings, plugin_dir=None, installed=None, searched=None):
    from ansible_collections.mptcp.linux.plugins.plugin_utils import _mptcpd_role
    return _mptcpd_role.problems(settings or {}, plugin_dir, installed,
                                 tuple(searched) if searched else ("/usr/lib", "/usr/lib64"))


class FilterModule(object):
    def filters(self):
        return {"mptcpd_problems": mptcpd_problems}
