# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: systemd_exec
short_description: The value of a systemd ExecStart= (or ExecStartPre=, ExecStop=, ...) line
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Given a list, returns the command line that makes systemd run exactly that
    argument vector, with no shell, no environment variable expansion and no
    specifiers. Each argument is written as a C-escaped, double-quoted word
    where needed; C(%) becomes C(%%) and C($) becomes C($$); a lone C(;)
    argument becomes C(\;) because systemd reads a lone C(;) as the start
    of a second command.
  - Given a string, returns it as systemd syntax, stripped of surrounding
    blanks, after checking that it cannot change the unit file or start a
    second command. C($VARIABLES), C(%) specifiers and quotes keep the
    meaning systemd gives them.
  - Refused, with the reason, in both forms - a program that is empty,
    relative (C(bin/x)), a directory, longer than a path may be, holds a
    quote, a backslash or a control character (systemd refuses such an
    executable path), or starts with one of systemd's prefixes C(@-:+!|); a
    program that environment expansion would change (C($$), C(${NAME}), a
    leading C($)), because systemd expands argv[0] but runs the path as
    written; a NUL.
  - A string is also refused for a line break or an odd number of trailing
    backslashes (the unit file would change), a Unicode noncharacter
    (systemd ignores a line that is not valid UTF-8 for it), unbalanced
    quotes, an escape or a specifier systemd does not know, and a lone C(;)
    (a second command). A list argument is written whatever it holds, except
    a NUL.
  - Meant for templates, after the role has validated its input with messages
    that name the variable; the error here only names the reason.
options:
  _input:
    description: The argument vector (program first), or a command line in systemd syntax.
    type: raw
    required: true
seealso:
  - name: systemd.service(5), Command lines
    description: How systemd splits and expands ExecStart=.
    link: https://www.freedesktop.org/software/systemd/man/latest/systemd.service.html#Command%20lines
"""

EXAMPLES = r"""
# In a template:
#   ExecStart={{ ['/usr/bin/printf', '%s\n', '50% of $HOME'] | mptcp.linux.systemd_exec }}
# renders
#   ExecStart=/usr/bin/printf "%%s\n" "50%% of $$HOME"
# and systemd runs printf with the arguments '%s\n' and '50% of $HOME'.

- name: Render an ExecStart= value from an argument vector
  ansible.builtin.debug:
    msg: "ExecStart={{ ['/usr/bin/python3', '-m', 'http.server', '8080'] | mptcp.linux.systemd_exec }}"

- name: Pass a command line written in systemd syntax, checked
  ansible.builtin.debug:
    msg: "ExecStart={{ '/usr/bin/sleep ${DELAY}' | mptcp.linux.systemd_exec }}"
"""

RETURN = r"""
_value:
  description: The value to write after C(ExecStart=).
  type: str
  sample: /usr/bin/python3 -m http.server 8080
"""

from ansible.errors import AnsibleFilterError


def systemd_exec(value):
    """ExecStart= value of an argv list, or a checked systemd command line."""
    from ansible_collections.mptcp.linux.plugins.module_utils._quote import QuoteError, systemd_exec_argv, systemd_exec_string_problems
    try:
        if isinstance(value, str):
            return systemd_exec_string_problems(value)
        if isinstance(value, (list, tuple)):
            return systemd_exec_argv(list(value))
        raise QuoteError("is a %s; give a list of arguments or a command line string" % type(value).__name__)
    except QuoteError as e:
        raise AnsibleFilterError("systemd_exec: %s" % e)


class FilterModule(object):
    def filters(self):
        return {"systemd_exec": systemd_exec}
