# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: nginx_server_problems
short_description: List what nginx would misread, or MPTCP cannot carry, in server or stream blocks
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Checks a list of blocks in the shape of the mptcp.linux.mptcp_nginx
    role's C(mptcp_nginx_servers) or C(mptcp_nginx_streams) and returns one
    message per problem, each starting with the path of the field (for
    example C(mptcp_nginx_servers[0].locations[1].directives[2])).
  - Every argument string (C(directives) items, C(return), a location's
    C(path), C(root), C(server_name) items, C(proxy_pass), a listen's
    C(address) and C(options)) is read the way nginx's tokenizer reads it.
    Refused - a C(#) that starts a word (nginx would hide the rest of the
    line, and the next directive with it), a C(;), C({) or C(}) outside
    quotes, an unbalanced quote, a line break; a field that takes one word
    but holds several; a C(return) or location match nginx would not take.
    Quote a word to keep such a character in it.
  - Also refused - names that are not file names, a name given twice, ports
    outside 1 to 65535, a present block without C(listen), a stream block
    without C(proxy_pass), and what MPTCP cannot carry (C(quic), C(udp)) or
    the role adds itself (C(multipath), C(mptcp)).
positional: name, context
options:
  _input:
    description: The blocks.
    type: list
    elements: dict
    required: true
  name:
    description: The variable's name, the start of each path.
    type: str
    default: mptcp_nginx_servers
  context:
    description: C(http) for server blocks, C(stream) for stream blocks.
    type: str
    choices: [http, stream]
    default: http
"""

EXAMPLES = r"""
- name: Refuse blocks nginx would misread
  ansible.builtin.assert:
    that: __problems | length == 0
    fail_msg: "{{ __problems | join('; ') }}"
    quiet: true
  vars:
    __problems: >-
      {{ mptcp_nginx_servers | mptcp.linux.nginx_server_problems('mptcp_nginx_servers')
         + mptcp_nginx_streams | mptcp.linux.nginx_server_problems('mptcp_nginx_streams', 'stream') }}
"""

RETURN = r"""
_value:
  description: One message per problem; empty when there is none.
  type: list
  elements: str
  sample:
    - "mptcp_nginx_servers[0].directives[0]: \"index index.html #\" has '#', which starts an nginx comment and
      hides the rest of the line (quote the word to keep the #)"
"""

from ansible.errors import AnsibleFilterError


def nginx_server_problems(entries, name="mptcp_nginx_servers", context="http"):
    from ansible_collections.mptcp.linux.plugins.module_utils._nginx import block_problems
    if context not in ("http", "stream"):
        raise AnsibleFilterError("nginx_server_problems: context must be http or stream, not %r" % (context,))
    return block_problems(entries, name, context)


class FilterModule(object):
    def filters(self):
        return {"nginx_server_problems": nginx_server_problems}
