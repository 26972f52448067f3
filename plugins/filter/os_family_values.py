# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: os_family_values
short_description: A role's per-OS-family values (package names), or why the role must stop
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Picks the values a role needs on this host's OS family (C(ansible_facts.os_family)), such
    as package names, from a table of the families the role knows. A value the user gave (not
    null) is used as given, on any family.
  - On a family the table does not list, every value the user did not give is a problem, named
    with the variable to set. The roles stop on a problem before they change anything, so a host
    of an unknown family never gets another family's package names.
options:
  _input:
    description: "The role's variables that the table can fill, C({name: value}); null means not given."
    type: dict
    required: true
  table:
    description: "C({os_family: {name: value}}), the families the role knows. The first one is the tested one."
    type: dict
    required: true
  os_family:
    description: The host's C(ansible_facts.os_family); empty when unknown.
    type: str
    required: true
  role:
    description: The role's name, for the message.
    type: str
    required: true
  switch:
    description: The variable that turns the installation off, offered as the other way out.
    type: str
    default: ""
"""

EXAMPLES = r"""
- name: Stop on an OS family the role has no package names for
  ansible.builtin.assert:
    that: __platform.problems | length == 0
    fail_msg: "{{ __platform.problems | join('; ') }}"
  vars:
    __platform: >-
      {{ {'mptcp_packages': mptcp_packages}
         | mptcp.linux.os_family_values({'Debian': {'mptcp_packages': ['python3-pyroute2', 'iproute2']}},
                                        ansible_facts.os_family | default(''), 'mptcp.linux.mptcp',
                                        'mptcp_install_packages') }}
"""

RETURN = r"""
_value:
  description: The values and the problems.
  type: dict
  contains:
    settings:
      description: "C({name: value}) for every name of the input; null where it has no value (see problems)."
      type: dict
    packages:
      description: Every list among the settings, joined in the order of their names (the packages to install).
      type: list
      elements: str
    unset:
      description: The names the user did not give, which the family's row fills (so the family must be known).
      type: list
      elements: str
    known:
      description: Whether the table lists the family.
      type: bool
    problems:
      description: Why the role cannot run here, one text per missing value; empty when it can.
      type: list
      elements: str
"""


def os_family_values(given, table, os_family, role, switch=""):
    family = str(os_family or "")
    known = family in table
    row = table.get(family, {})
    settings = {}
    unset = []
    missing = []
    packages = []
    for name in sorted(given):
        value = given[name]
        if value is None:
            unset.append(name)
            value = row.get(name)
            if value is None:
                missing.append(name)
        settings[name] = value
        if isinstance(value, (list, tuple)):
            packages.extend(value)
    problems = []
    if missing:
        families = list(table)
        listed = "%s (tested: Debian 12, 13 and 14)" % families[0] if families else "none"
        if len(families) > 1:
            listed += "; untested: " + ", ".join(families[1:])
        way_out = " (or %s: false where they are installed already)" % switch if switch else ""
        problems.append(
            "%s has no values for this host's OS family %r (ansible_facts.os_family; the families it knows: %s):"
            " set %s%s. Nothing was changed."
            % (role, family or "unknown", listed, ", ".join(missing), way_out))
    return {"settings": settings, "packages": packages, "unset": unset, "known": known, "problems": problems}


class FilterModule(object):
    def filters(self):
        return {"os_family_values": os_family_values}
