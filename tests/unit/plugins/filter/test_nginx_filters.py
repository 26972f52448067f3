# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nginx filters of the mptcp_nginx role: what they add to _nginx (tested
in tests/unit/plugins/module_utils/test_nginx.py): the stream wrapper and
the main configuration's include, refusals as filter errors, and the ports
that ss reports listening."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.mptcp.linux.plugins.filter.nginx_listen_ports import nginx_listen_ports
from ansible_collections.mptcp.linux.plugins.filter.nginx_server_files import nginx_server_files
from ansible_collections.mptcp.linux.plugins.filter.nginx_server_problems import nginx_server_problems
from ansible_collections.mptcp.linux.plugins.filter.ss_listening_ports import ss_listening_ports

S = "mptcp_nginx_servers"
WEB = {"name": "web", "listen": [{"port": 18080, "address": "127.0.0.1", "default_server": True}],
       "server_name": ["web.example"], "directives": ["index index.html"]}


def test_problems_of_a_good_and_a_bad_block():
    assert nginx_server_problems([WEB], S) == []
    assert nginx_server_problems([WEB, WEB], S) == [S + '[1].name: "web" is given twice']


def test_the_context_is_http_or_stream():
    with pytest.raises(AnsibleFilterError, match="context must be http or stream"):
        nginx_server_problems([WEB], S, "mail")
    with pytest.raises(AnsibleFilterError, match="context must be http or stream"):
        nginx_server_files([WEB], "/etc/nginx/conf.d", "mail")


def test_stream_files_with_the_wrapper_first_and_the_main_configuration_last():
    streams = [{"name": "relay", "listen": [{"port": 2222}], "proxy_pass": "127.0.0.1:22"}]
    files = nginx_server_files(streams, "/etc/nginx/streams d", "stream", "", include_file="/etc/nginx/mptcp-streams.conf",
                               include_in="/etc/nginx/nginx.conf", main_text="events {\n}")
    assert [f["path"] for f in files] == ["/etc/nginx/mptcp-streams.conf", "/etc/nginx/streams d/mptcp-relay.conf",
                                          "/etc/nginx/nginx.conf"]
    assert files[0]["content"].endswith('stream {\n    include "/etc/nginx/streams d/*.conf";\n}\n')
    assert files[2] == {"path": "/etc/nginx/nginx.conf", "content": "events {\n}\ninclude /etc/nginx/mptcp-streams.conf;\n"}


def test_the_files_filter_refuses_what_the_problems_filter_refuses():
    bad = dict(WEB, directives=["index index.html #"])
    with pytest.raises(AnsibleFilterError) as caught:
        nginx_server_files([bad], "/etc/nginx/conf.d")
    assert "blocks[0].directives[0]" in str(caught.value)


def test_listen_ports():
    assert nginx_listen_ports([WEB, {"name": "s", "listen": [{"port": "2222"}], "proxy_pass": "x"}]) == [2222, 18080]


# `ss -H -M -l -n` with an IPv4, an IPv4 bound to a device, an IPv6 and a
# dual-stack listener (from a namespace on Linux 6.1, iproute2 6.1).
SS = """\
LISTEN 0      128     127.0.0.1:18556 0.0.0.0:*
LISTEN 0      128    0.0.0.0%lo:18558 0.0.0.0:*
LISTEN 0      128         [::1]:18555       *:*
LISTEN 0      128             *:18557       *:*
"""


def test_ss_listening_ports():
    assert ss_listening_ports(SS) == [18555, 18556, 18557, 18558]
    header = "State  Recv-Q Send-Q Local Address:Port Peer Address:Port Process\n"
    users = 'LISTEN 0 511 0.0.0.0:80 0.0.0.0:* users:(("nginx",pid=1,fd=6))\n'
    assert ss_listening_ports(header + users + users) == [80]
    assert ss_listening_ports("") == [] and ss_listening_ports(None) == []
    assert ss_listening_ports("ESTAB 0 0 10.0.0.1:443 10.0.0.2:51000\n") == []
