# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""node_exporter_netstat_fields: Debian's /etc/default/prometheus-node-exporter
with the MPTcpExt fields added to ARGS, everything else kept. /bin/sh, which
the init script sources the file with, reads the values back."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import subprocess

import pytest
from ansible.errors import AnsibleFilterError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.mptcp.linux.plugins.filter.node_exporter_netstat_fields import (
    DEFAULT_FIELDS, matches_mptcp, node_exporter_netstat_fields)
from ansible_collections.mptcp.linux.plugins.module_utils._quote import (QuoteError, environment_file_read,
                                                                         environment_file_value)

# The shape of Debian's file: comments, then an empty ARGS.
DEBIAN = '''# Set the command-line arguments to pass to the server.
# Due to shell scaping, to pass backslashes for regexes, you need to double
# them (\\\\d for \\d). If running under systemd, you need to double them again
# (\\\\\\\\d to mean \\d), and escape newlines too.
ARGS=""

# Prometheus-node-exporter supports the following options:
#  --collector.netstat.fields="^(.*_(InErrors|InErrs))$"
'''
HELP = '''usage: prometheus-node-exporter [<flags>]
      --collector.netstat.fields="^(Tcp_.*|Udp_.*)$"
                                 Regexp of fields to return for netstat collector.
'''


def sh_reads(content, name="ARGS"):
    """What /bin/sh sees in NAME after sourcing the content."""
    return subprocess.run(["sh", "-c", '. /dev/stdin; printf %%s "$%s"' % name], input=content.encode("utf-8"),
                          capture_output=True, check=True).stdout.decode("utf-8")


def args_of(content):
    return environment_file_read(content.splitlines(), "ARGS")[0].split()


def test_debian_file_gets_the_default_extended_from_help_and_keeps_the_rest():
    new = node_exporter_netstat_fields(DEBIAN, HELP)
    assert args_of(new) == ["--collector.netstat.fields=(?:^(Tcp_.*|Udp_.*)$)|^MPTcpExt_"]
    assert [line for line in new.splitlines() if not line.startswith("ARGS=")] == [
        line for line in DEBIAN.splitlines() if not line.startswith("ARGS=")]
    assert sh_reads(new) == "--collector.netstat.fields=(?:^(Tcp_.*|Udp_.*)$)|^MPTcpExt_"
    assert node_exporter_netstat_fields(new, HELP) == new  # idempotent


def test_without_help_the_built_in_default_is_extended():
    words = args_of(node_exporter_netstat_fields(DEBIAN))
    assert words == ["--collector.netstat.fields=(?:%s)|^MPTcpExt_" % DEFAULT_FIELDS]
    expression = re.compile(words[0].split("=", 1)[1])
    # what node_exporter exported before still matches, and now MPTcpExt too
    assert expression.search("TcpExt_TCPTimeouts") and expression.search("MPTcpExt_MPJoinSynRx")
    assert not expression.search("TcpExt_TCPOFODrop")


def test_an_administrators_expression_and_other_arguments_are_kept():
    content = "ARGS='--web.listen-address=:9100 --collector.netstat.fields=^Tcp_.* --no-collector.wifi'\n"
    assert args_of(node_exporter_netstat_fields(content)) == [
        "--web.listen-address=:9100", "--collector.netstat.fields=(?:^Tcp_.*)|^MPTcpExt_", "--no-collector.wifi"]


def test_the_flag_as_two_words():
    content = 'ARGS="--collector.netstat.fields ^Ip_.*"\n'
    assert args_of(node_exporter_netstat_fields(content)) == ["--collector.netstat.fields", "(?:^Ip_.*)|^MPTcpExt_"]


@pytest.mark.parametrize("expression", [".*", "^(MPTcpExt|Tcp)_.*", "MPTcpExt_"])
def test_an_expression_that_matches_mptcp_already_is_left_alone(expression):
    content = "# mine\nARGS='--collector.netstat.fields=%s'\n" % expression
    assert node_exporter_netstat_fields(content) is content


def test_no_file_gets_one_line():
    assert node_exporter_netstat_fields(None, HELP) == (
        "ARGS='--collector.netstat.fields=(?:^(Tcp_.*|Udp_.*)$)|^MPTcpExt_'\n")


def test_the_last_assignment_is_the_one_read_and_changed():
    content = "ARGS='--a'\n#ARGS='--c'\nARGS='--b'\n"
    new = node_exporter_netstat_fields(content)
    assert new.splitlines()[:2] == ["ARGS='--a'", "#ARGS='--c'"]
    assert sh_reads(new).split()[0] == "--b"


@pytest.mark.parametrize("line", [
    'ARGS="--x=$HOME"', 'ARGS="a\\"b"', "ARGS=--a --b", 'ARGS="--a" # comment', "ARGS=`id`", " ARGS=~/x",
    'ARGS="--a\\\n--b"',
])
def test_forms_systemd_and_sh_may_read_differently_are_refused(line):
    with pytest.raises(AnsibleFilterError, match="/etc/default/prometheus-node-exporter: ARGS: line 1"):
        node_exporter_netstat_fields(line + "\n")


def test_a_continued_line_before_args_is_refused():
    with pytest.raises(AnsibleFilterError, match="line 2 continues the line before it"):
        node_exporter_netstat_fields("OTHER=a\\\nARGS=''\n")


def test_an_argument_with_a_single_quote_cannot_be_written():
    with pytest.raises(AnsibleFilterError, match="single quote"):
        node_exporter_netstat_fields('ARGS="--web.listen-address=it\'s"\n')


def test_matches_mptcp_counts_an_unreadable_expression_as_no():
    assert matches_mptcp("(?<name>x)") is False and matches_mptcp("MPTcpExt_") is True


# Every character but the one the format cannot carry in single quotes.
VALUE = st.text(st.characters(blacklist_characters="'\x00\n\r", blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(VALUE)
def test_environment_file_value_reads_back_in_sh_and_in_our_reader(value):
    line = "ARGS=%s\n" % environment_file_value(value)
    assert sh_reads(line) == value
    assert environment_file_read([line.rstrip("\n")], "ARGS") == (value, 0)


@pytest.mark.parametrize("value, reason", [("it's", "single quote"), ("a\nb", "line break"), ("a\x00", "NUL")])
def test_environment_file_value_refusals(value, reason):
    with pytest.raises(QuoteError, match=reason):
        environment_file_value(value)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(st.sampled_from(list("ab =-'\"\\$`# \t")), max_size=12))
def test_environment_file_read_agrees_with_sh_whenever_it_reads(raw):
    try:
        value, index = environment_file_read(["ARGS=" + raw], "ARGS")
    except QuoteError:
        return
    assert sh_reads("ARGS=%s\n" % raw) == value
