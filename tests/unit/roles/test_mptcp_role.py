# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcp role's interface: the variables site.yml documents are the
role's. Its rp_filter and policy-routing rules are the planner's
(tests/unit/plugins/module_utils/test_routing.py)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mptcp.linux.tests.unit.roles.role_files import options

ROLE = "mptcp"


def test_site_variables_are_role_variables():
    """playbooks/site.yml's documented variables keep working."""
    for name in ("mptcp_endpoint_interfaces", "mptcp_endpoints", "mptcp_endpoints_state", "mptcp_limits_subflows",
                 "mptcp_limits_add_addr_accepted", "mptcp_scheduler", "mptcp_path_manager", "mptcp_persist"):
        assert name in options(ROLE), name
