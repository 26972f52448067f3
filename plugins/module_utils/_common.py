# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: what every module of the collection does first (kept free of
pyroute2, so that modules without netlink do not pay for importing it)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mptcp.linux.plugins.module_utils import _netns

NETNS_ARGUMENT = dict(netns=dict(type="str"))


def enter_netns(module):
    """Move into the requested namespace (or fail, having changed nothing)."""
    name = module.params.get("netns")
    if name is None:
        return
    try:
        _netns.enter(name)
    except _netns.NetnsError as exc:
        module.fail_json(msg=str(exc))
