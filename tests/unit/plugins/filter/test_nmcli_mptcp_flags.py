# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mptcp.linux.plugins.filter.nmcli_mptcp_flags import nmcli_mptcp_flags


def test_devices_uuids_and_hex_flags():
    results = [{"item": "eth1:0b8c-1", "stdout": "0x1a"}, {"item": "eth2:77aa-2", "stdout": "0x1\n"},
               {"item": "eth3:9f:odd", "stdout": ""}]
    assert nmcli_mptcp_flags(results) == [
        {"device": "eth1", "uuid": "0b8c-1", "flags": 26},
        {"device": "eth2", "uuid": "77aa-2", "flags": 1},
        {"device": "eth3", "uuid": "9f:odd", "flags": 0},
    ]


def test_nothing_read():
    assert nmcli_mptcp_flags([]) == [] and nmcli_mptcp_flags(None) == []
