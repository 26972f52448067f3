# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.mptcp.linux.plugins.filter.probe_targets import probe_targets

HOSTVARS = {
    "web1": {"ansible_host": "10.0.1.2"},
    "web2": {"ansible_host": "10.0.1.3", "mptcp_verify_address": "10.0.2.3"},
    "web3": {},
    "ssh1": {"ansible_host": "10.0.1.4", "mptcp_verify_listener": "no"},
}


def test_address_falls_back_from_verify_address_to_ansible_host_to_the_name():
    targets = probe_targets(["web1", "web2", "web3"], HOSTVARS)
    assert [t["host"] for t in targets] == ["10.0.1.2", "10.0.2.3", "web3"]
    assert [t["name"] for t in targets] == ["web1", "web2", "web3"]


def test_a_reply_is_expected_unless_the_server_runs_no_listener():
    targets = probe_targets(["web1", "ssh1"], HOSTVARS)
    assert [t["expect_reply"] for t in targets] == [True, False]


def test_no_servers_no_targets():
    assert probe_targets([], HOSTVARS) == []
    assert probe_targets(None, HOSTVARS) == []


def test_an_unknown_server_is_named():
    with pytest.raises(AnsibleFilterError, match="'db9' is not in the inventory"):
        probe_targets(["web1", "db9"], HOSTVARS)
