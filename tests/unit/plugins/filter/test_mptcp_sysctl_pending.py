# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mptcp.linux.plugins.filter.mptcp_sysctl_pending import mptcp_sysctl_pending

# mptcp_info's sysctl on a 6.18 kernel (raw text) and on a 6.1 one (pm_type).
NEW = {"enabled": "1", "path_manager": "kernel", "pm_type": "0", "scheduler": "default", "add_addr_timeout": "120",
       "checksum_enabled": "0", "available_schedulers": "default"}
OLD = {"enabled": "1", "pm_type": "0", "add_addr_timeout": "120", "checksum_enabled": "0"}


def test_a_converged_host_has_nothing_pending():
    wanted = {"enabled": True, "path_manager": "kernel", "scheduler": "default", "add_addr_timeout": 120,
              "checksum_enabled": False}
    assert mptcp_sysctl_pending(wanted, NEW) == []


def test_values_as_strings_from_the_inventory_compare_as_the_module_writes_them():
    assert mptcp_sysctl_pending({"enabled": "yes", "add_addr_timeout": "120", "checksum_enabled": "false"}, NEW) == []


def test_differences_are_listed_sorted():
    wanted = {"enabled": False, "scheduler": "default", "add_addr_timeout": 60, "path_manager": "userspace"}
    assert mptcp_sysctl_pending(wanted, NEW) == ["add_addr_timeout", "enabled", "path_manager"]


def test_path_manager_is_read_as_pm_type_before_6_15():
    assert mptcp_sysctl_pending({"path_manager": "kernel"}, OLD) == []
    assert mptcp_sysctl_pending({"path_manager": "userspace"}, OLD) == ["path_manager"]


def test_what_cannot_be_compared_is_pending_so_that_the_module_says_why():
    wanted = {"scheduler": "default", "nope": 1, "add_addr_timeout": "soon", "enabled": "maybe",
              "stale_loss_cnt": True, "path_manager": "bogus"}
    # scheduler does not exist on the old kernel; the rest are not values the module takes
    assert mptcp_sysctl_pending(wanted, OLD) == ["add_addr_timeout", "enabled", "nope", "path_manager", "scheduler",
                                                 "stale_loss_cnt"]


def test_an_unset_option_is_left_out_and_an_empty_read_leaves_all_pending():
    assert mptcp_sysctl_pending({"scheduler": None}, NEW) == []
    assert mptcp_sysctl_pending({"enabled": True}, {}) == ["enabled"]
    assert mptcp_sysctl_pending({"enabled": True}, None) == ["enabled"]
