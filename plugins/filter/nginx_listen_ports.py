# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: nginx_listen_ports
short_description: The ports that present nginx server or stream blocks listen on
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Returns the C(port) of every C(listen) entry of the blocks whose C(state)
    is C(present) (the default), in the shape of the mptcp.linux.mptcp_nginx
    role's C(mptcp_nginx_servers) and C(mptcp_nginx_streams); sorted, each
    once. Check the blocks with mptcp.linux.nginx_server_problems first.
options:
  _input:
    description: The blocks.
    type: list
    elements: dict
    required: true
"""

EXAMPLES = r"""
- name: Every port the blocks listen on
  ansible.builtin.debug:
    msg: "{{ (mptcp_nginx_servers + mptcp_nginx_streams) | mptcp.linux.nginx_listen_ports }}"
"""

RETURN = r"""
_value:
  description: The ports.
  type: list
  elements: int
  sample: [443, 2222]
"""


def nginx_listen_ports(entries):
    from ansible_collections.mptcp.linux.plugins.module_utils._nginx import listen_ports
    return listen_ports(entries)


class FilterModule(object):
    def filters(self):
        return {"nginx_listen_ports": nginx_listen_ports}
