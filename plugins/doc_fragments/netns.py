# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  netns:
    description:
      - Name of a network namespace (as listed by C(ip netns list), a file under
        C(/run/netns)) to act in instead of the namespace the module runs in.
      - MPTCP sysctls, endpoints and limits are per network namespace.
      - A namespace that does not exist is an error; nothing is changed.
    type: str
"""

    ATTRIBUTES = r"""
attributes:
  check_mode:
    support: full
    description: Can run in check mode and return changed status prediction without modifying target.
  diff_mode:
    support: full
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  idempotent:
    support: full
    description: When run twice in a row with the same arguments, the second run reports no change and writes nothing.
"""

    READ_ONLY_ATTRIBUTES = r"""
attributes:
  check_mode:
    support: full
    description: Changes nothing on the managed host, so it runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so there is no diff.
  idempotent:
    support: full
    description: Changes nothing.
"""
