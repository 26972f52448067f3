# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: nginx_directive
short_description: An nginx directive (or a string of arguments), checked and re-quoted word by word
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Reads the text as nginx's tokenizer would (blanks separate words, quotes
    and backslashes group them) and writes each word again with
    R(mptcp.linux.nginx_word,ansible_collections.mptcp.linux.nginx_word_filter),
    so that the result is exactly those words, one directive, however the
    text was written. Add the final C(;) in the template.
  - Refused, with the reason - a C(#) that starts a word (nginx would hide
    the rest of the line as a comment), a C(;), C({) or C(}) outside quotes
    (nginx would end the directive or open or close a block), unbalanced
    quotes, a closing quote followed by more text, a NUL, and an empty
    directive. Quote the word to keep such a character in it.
  - Meant for templates, after the role has validated its input with messages
    that name the variable; the error here only names the reason.
options:
  _input:
    description: The directive or arguments, without the final C(;).
    type: raw
    required: true
"""

EXAMPLES = r"""
# In a template:
#   {{ 'add_header X-Path "/a b"' | mptcp.linux.nginx_directive }};
# renders
#   add_header X-Path "/a b";
# while 'index index.html # old' is refused: nginx would read "# old;" as a
# comment and take the next line into this directive.

- name: Re-quote a directive given by the user
  ansible.builtin.debug:
    msg: "{{ 'add_header X-Path \"/a b\"' | mptcp.linux.nginx_directive }};"
"""

RETURN = r"""
_value:
  description: The directive, each word quoted as nginx must read it, without the final C(;).
  type: str
  sample: add_header X-Path "/a b"
"""

from ansible.errors import AnsibleFilterError


def nginx_directive(text):
    """The directive re-quoted word by word."""
    from ansible_collections.mptcp.linux.plugins.module_utils._quote import QuoteError, nginx_directive as _nginx_directive
    try:
        return _nginx_directive(text)
    except QuoteError as e:
        raise AnsibleFilterError("nginx_directive: %s" % e)


class FilterModule(object):
    def filters(self):
        return {"nginx_directive": nginx_directive}
