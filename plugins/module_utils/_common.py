# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: what every module of the collection does first."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mptcp.linux.plugins.module_utils import _netlink, _netns

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


def require_pyroute2(module):
    if _netlink.PYROUTE2_IMPORT_ERROR is not None:
        module.fail_json(
            msg=missing_required_lib(
                "pyroute2",
                reason="to talk to the kernel's MPTCP path manager over netlink "
                "(Debian/Ubuntu: python3-pyroute2)",
            ),
            exception=_netlink.PYROUTE2_IMPORT_ERROR,
        )


def mptcp_client(module):
    """An open netlink client, or a clear failure."""
    require_pyroute2(module)
    try:
        return _netlink.MptcpClient()
    except _netlink.MptcpNetlinkError as exc:
        module.fail_json(msg=str(exc))
