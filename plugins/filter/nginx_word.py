# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: nginx_word
short_description: One nginx configuration argument, quoted where needed
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Returns the text as one nginx argument - bare when it only holds
    characters nginx's tokenizer takes literally, otherwise double-quoted
    with C(\\), C(\") and the control characters tab, CR and LF escaped as
    nginx reads them - so that nginx reads back exactly the text, whatever
    C(;), C({), C(}), C(#), quotes or blanks it holds.
  - C($name) keeps its meaning - directives that take variables expand it.
    Quoting does not stop that; leave C($) out of values that must stay
    literal in such directives.
  - Refused, with the reason - a NUL, and a word longer than nginx reads
    through its 4096-byte buffer (4094 bytes bare, 4095 quoted).
  - Meant for templates, after the role has validated its input with messages
    that name the variable; the error here only names the reason.
options:
  _input:
    description: The text of the argument.
    type: raw
    required: true
"""

EXAMPLES = r"""
# In a template:
#   return 200 {{ 'it works; {really}' | mptcp.linux.nginx_word }};
# renders
#   return 200 "it works; {really}";

- name: Quote a value for an nginx directive
  ansible.builtin.debug:
    msg: "server_name {{ 'example.org' | mptcp.linux.nginx_word }};"
"""

RETURN = r"""
_value:
  description: The argument as nginx must read it.
  type: str
  sample: '"it works; {really}"'
"""

from ansible.errors import AnsibleFilterError


def nginx_word(text):
    """One nginx argument."""
    from ansible_collections.mptcp.linux.plugins.module_utils._quote import QuoteError, nginx_word as _nginx_word
    try:
        return _nginx_word(text)
    except QuoteError as e:
        raise AnsibleFilterError("nginx_word: %s" % e)


class FilterModule(object):
    def filters(self):
        return {"nginx_word": nginx_word}
