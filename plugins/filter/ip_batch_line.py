# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: ip_batch_line
short_description: One line of an C(ip -batch) file from a list of words
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Joins the words with blanks, quoting a word (in C(") or C(')) when it
    holds a blank (space, tab, CR), starts with a quote, is empty or ends in
    a backslash (which would join the next line to this one), so that
    iproute2 reads back exactly these words.
  - C(ip -batch) has no escapes, so refused, with the reason - a C(#)
    anywhere (iproute2 cuts the line there, even inside quotes), a line
    feed or NUL, a word that needs quoting and holds both quote characters,
    and more than 99 words (iproute2 stops the whole batch).
  - Meant for templates, after the role has validated its input with messages
    that name the variable; the error here only names the reason.
options:
  _input:
    description: The words of the command, without C(ip) itself.
    type: list
    elements: raw
    required: true
"""

EXAMPLES = r"""
# In a template:
#   {{ ['link', 'set', 'dev', 'eth0', 'alias', 'uplink A'] | mptcp.linux.ip_batch_line }}
# renders
#   link set dev eth0 alias "uplink A"

- name: Render an ip -batch line
  ansible.builtin.debug:
    msg: "{{ ['mptcp', 'endpoint', 'add', '10.0.0.1', 'dev', 'eth0', 'signal'] | mptcp.linux.ip_batch_line }}"
"""

RETURN = r"""
_value:
  description: The line, without a line feed.
  type: str
  sample: mptcp endpoint add 10.0.0.1 dev eth0 signal
"""

from ansible.errors import AnsibleFilterError


def ip_batch_line(words):
    """One ip -batch line."""
    from ansible_collections.mptcp.linux.plugins.module_utils._quote import QuoteError, ip_batch_line as _ip_batch_line
    try:
        if isinstance(words, str) or not isinstance(words, (list, tuple)):
            raise QuoteError("is a %s; give the list of words" % type(words).__name__)
        return _ip_batch_line(list(words))
    except QuoteError as e:
        raise AnsibleFilterError("ip_batch_line: %s" % e)


class FilterModule(object):
    def filters(self):
        return {"ip_batch_line": ip_batch_line}
