# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: what every module of the collection does first (kept free of
pyroute2, so that modules without netlink do not pay for importing it)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

from ansible_collections.mptcp.linux.plugins.module_utils import _netns

NETNS_ARGUMENT = dict(netns=dict(type="str"))
LOCK_TIMEOUT_MAX = 3600
# The kernel's bound for both path manager limits (MPTCP_PM_ADDR_MAX).
LIMIT_MAX = 8


def number_problem(name, value, low, high, low_open=False):
    """Why VALUE (an int or float option) is not a finite number from LOW
    (excluded with ``low_open``) to HIGH, or None."""
    if value is None:
        return None
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return "%s: %r is not a finite number" % (name, value)
    if low_open and not low < value <= high:
        return "%s: %s is out of range: more than %s, at most %s" % (name, value, low, high)
    if not low <= value <= high:
        return "%s: %s is out of range %s..%s" % (name, value, low, high)
    return None


def lock_timeout_problem(module):
    return number_problem("lock_timeout", module.params.get("lock_timeout"), 0, LOCK_TIMEOUT_MAX)


# Decorates each module's main() that calls enter_netns(): the module ends
# in the namespace it started in, as a persistent interpreter needs.
netns_restored = _netns.returning


def enter_netns(module):
    """Move into the requested namespace (or fail, having changed nothing)."""
    name = module.params.get("netns")
    if name is None:
        return
    try:
        _netns.enter(name)
    except _netns.NetnsError as exc:
        module.fail_json(msg=str(exc))
