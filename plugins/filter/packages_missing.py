# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: packages_missing
short_description: The packages of a list that dpkg does not report installed
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Reads the output of
    C(dpkg-query --show --showformat='${Package} ${db:Status-Abbrev}\n' -- NAMES)
    and returns the names of O(names) that it does not list as installed
    (status C(ii)), in their order.
  - The roles run that query first and call the package manager only for
    what is missing. Opening the package cache is the slowest step of a
    converged run - several seconds on a small host, half a minute in an
    emulated one.
  - A name with a version, an architecture or a pattern (C(=), C(:), C(*),
    C(?), C([)) is always returned, and so is every name when the output is
    empty (no dpkg) - the package manager decides.
options:
  _input:
    description: The standard output of dpkg-query.
    type: str
    required: true
  names:
    description: The package names that were asked for.
    type: list
    elements: str
    required: true
"""

EXAMPLES = r"""
- name: Find which packages are missing
  ansible.builtin.command:
    argv: "{{ ['dpkg-query', '--show', '--showformat=${Package} ${db:Status-Abbrev}\\n', '--'] + packages }}"
  register: dpkg
  changed_when: false
  failed_when: false
  check_mode: false

- name: Install them
  ansible.builtin.package:
    name: "{{ dpkg.stdout | mptcp.linux.packages_missing(packages) }}"
    state: present
  when: dpkg.stdout | mptcp.linux.packages_missing(packages) | length > 0
"""

RETURN = r"""
_value:
  description: The names of O(names) that are not installed.
  type: list
  elements: str
  sample: [nginx]
"""

import re


def packages_missing(text, names):
    installed = set()
    for line in (text or "").splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[1].startswith("ii"):
            installed.add(fields[0])
    return [name for name in names
            if re.search(r"[=:*?\[]", str(name)) or str(name) not in installed]


class FilterModule(object):
    def filters(self):
        return {"packages_missing": packages_missing}
