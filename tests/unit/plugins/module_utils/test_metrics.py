# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The textfile exporter (module_utils/_metrics.py) without a kernel: the
rendering of made-up state, read back by a port of Prometheus' own text
reader (tests/quote_consumers.py), the names, and the atomic write.
tests/integration/test_metrics.py runs it in namespaces against nstat."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import stat

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ansible_collections.mptcp.linux.plugins.module_utils import _metrics, _quote
from ansible_collections.mptcp.linux.plugins.module_utils._quote import QuoteError
from ansible_collections.mptcp.linux.tests import quote_consumers as consumer

EXAMPLES = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Text full of what breaks the format: backslashes, quotes, line feeds,
# braces, "=", ",", "#", non-ASCII, lone surrogates.
TEXT = st.text(st.one_of(st.sampled_from(list('\\"\n{}=,# \t\r')), st.characters()), max_size=40)

STATE = {
    "usable": True,
    "sysctl": {"enabled": "1", "path_manager": "kernel", "available_schedulers": "default bpf_rr"},
    "endpoints": [
        {"id": 1, "address": "192.0.2.1", "port": None, "dev": "eth0", "flags": ["signal", "subflow"]},
        {"id": 2, "address": "2001:db8::1", "port": 8080, "dev": None, "flags": ["signal"]},
        {"id": 3, "address": "198.51.100.1", "port": None, "dev": "eth1", "flags": ["subflow", "backup"]},
    ],
    "limits": {"subflows": 2, "add_addr_accepted": 1},
    "connections": [
        {"state": "LISTEN", "subflows": 0},
        {"state": "ESTAB", "subflows": 2},
        {"state": "ESTAB", "subflows": 1},
        {"state": "CLOSE-WAIT", "subflows": 9},
    ],
    "counters": {"MPCapableSYNRX": 5, "MPCapableFallbackACK": 2, "MPCurrEstab": 3, "MD5SigFallback": 0},
    "time": 1700000000.5,
}


def _read(text):
    return consumer.prometheus_text(text.encode("utf-8"))


def _samples(parsed, name):
    return [(labels, value) for sample, labels, value in parsed["samples"] if sample == name]


def test_render_reads_back_with_the_values_of_the_state():
    parsed = _read(_metrics.render(STATE))
    assert _samples(parsed, "mptcp_usable") == [({}, "1")]
    assert _samples(parsed, "mptcp_sysctl_info") == [(STATE["sysctl"], "1")]
    assert _samples(parsed, "mptcp_endpoints") == [({}, "3")]
    flagged = dict((labels["flag"], value) for labels, value in _samples(parsed, "mptcp_endpoints_flagged"))
    assert flagged == {"signal": "2", "subflow": "2", "backup": "1", "fullmesh": "0", "implicit": "0", "laminar": "0"}
    assert _samples(parsed, "mptcp_endpoint_info")[1] == (
        {"id": "2", "address": "2001:db8::1", "port": "8080", "dev": "", "flags": "signal"}, "1")
    assert _samples(parsed, "mptcp_limit_subflows") == [({}, "2")]
    assert _samples(parsed, "mptcp_limit_add_addr_accepted") == [({}, "1")]
    assert _samples(parsed, "mptcp_connections") == [({"state": "CLOSE-WAIT"}, "1"), ({"state": "ESTAB"}, "2")]
    assert _samples(parsed, "mptcp_listening_sockets") == [({}, "1")]
    assert _samples(parsed, "mptcp_connection_subflows_max") == [({}, "9")]
    buckets = dict((labels["le"], value) for labels, value in _samples(parsed, "mptcp_connection_subflows_bucket"))
    assert buckets == {"1": "1", "2": "2", "3": "2", "4": "2", "5": "2", "6": "2", "7": "2", "8": "2", "+Inf": "3"}
    assert _samples(parsed, "mptcp_connection_subflows_sum") == [({}, "12")]
    assert _samples(parsed, "mptcp_connection_subflows_count") == [({}, "3")]
    assert _samples(parsed, "mptcp_mp_capable_synrx_total") == [({}, "5")]
    assert _samples(parsed, "mptcp_mp_capable_fallback_ack_total") == [({}, "2")]
    assert _samples(parsed, "mptcp_md5_sig_fallback_total") == [({}, "0")]
    assert _samples(parsed, "mptcp_mp_curr_estab") == [({}, "3")]
    assert float(_samples(parsed, "mptcp_metrics_written_timestamp_seconds")[0][1]) == 1700000000.5
    assert parsed["type"]["mptcp_mp_capable_synrx_total"] == "counter"
    assert parsed["type"]["mptcp_mp_curr_estab"] == "gauge"
    assert parsed["type"]["mptcp_connection_subflows"] == "histogram"
    assert parsed["help"]["mptcp_mp_capable_synrx_total"].startswith("MPTcpExt MPCapableSYNRX ")
    # every family has HELP and TYPE, every sample belongs to a family
    assert set(parsed["help"]) == set(parsed["type"])
    for name, labels, value in parsed["samples"]:
        assert any(name == family or (parsed["type"][family] == "histogram" and name.startswith(family + "_"))
                   for family in parsed["type"]), name


def test_render_without_mptcp_netlink_omits_endpoints_and_limits():
    state = dict(STATE, usable=False, endpoints=None, limits=None, connections=None, counters={}, sysctl={})
    parsed = _read(_metrics.render(state))
    assert sorted(set(name for name, labels, value in parsed["samples"])) == [
        "mptcp_metrics_written_timestamp_seconds", "mptcp_usable"]
    assert _samples(parsed, "mptcp_usable") == [({}, "0")]


def test_render_without_connections_has_an_empty_histogram():
    parsed = _read(_metrics.render(dict(STATE, connections=[])))
    assert _samples(parsed, "mptcp_connection_subflows_count") == [({}, "0")]
    assert _samples(parsed, "mptcp_connection_subflows_max") == [({}, "0")]
    assert _samples(parsed, "mptcp_connections") == []


@pytest.mark.parametrize("kernel, metric", [
    ("MPJoinSynAckHMacFailure", "mptcp_mp_join_syn_ack_hmac_failure_total"),
    ("MPJoinAckHMacFailure", "mptcp_mp_join_ack_hmac_failure_total"),
    ("DSSNotMatching", "mptcp_dss_not_matching_total"),
    ("MPTCPRetrans", "mptcp_mptcp_retrans_total"),
    ("MD5SigFallback", "mptcp_md5_sig_fallback_total"),
    ("AddAddrTx", "mptcp_add_addr_tx_total"),
    ("MPCurrEstab", "mptcp_mp_curr_estab"),
])
def test_counter_names_of_kernel_counters(kernel, metric):
    assert _metrics.counter_names([kernel]) == {kernel: metric}


# The MPTcpExt fields of Linux 6.18 (/proc/net/netstat).
KERNEL_6_18 = (
    "MPCapableSYNRX", "MPCapableSYNTX", "MPCapableSYNACKRX", "MPCapableACKRX", "MPCapableFallbackACK",
    "MPCapableFallbackSYNACK", "MPCapableSYNTXDrop", "MPCapableSYNTXDisabled", "MPCapableEndpAttempt",
    "MPFallbackTokenInit", "MPTCPRetrans", "MPJoinNoTokenFound", "MPJoinSynRx", "MPJoinSynBackupRx",
    "MPJoinSynAckRx", "MPJoinSynAckBackupRx", "MPJoinSynAckHMacFailure", "MPJoinAckRx",
    "MPJoinAckHMacFailure", "MPJoinRejected", "MPJoinSynTx", "MPJoinSynTxCreatSkErr", "MPJoinSynTxBindErr",
    "MPJoinSynTxConnectErr", "DSSNotMatching", "DSSCorruptionFallback", "DSSCorruptionReset",
    "InfiniteMapTx", "InfiniteMapRx", "DSSNoMatchTCP", "DataCsumErr", "OFOQueueTail", "OFOQueue", "OFOMerge",
    "NoDSSInWindow", "DuplicateData", "AddAddr", "AddAddrTx", "AddAddrTxDrop", "EchoAdd", "EchoAddTx",
    "EchoAddTxDrop", "PortAdd", "AddAddrDrop", "MPJoinPortSynRx", "MPJoinPortSynAckRx", "MPJoinPortAckRx",
    "MismatchPortSynRx", "MismatchPortAckRx", "RmAddr", "RmAddrDrop", "RmAddrTx", "RmAddrTxDrop",
    "RmSubflow", "MPPrioTx", "MPPrioRx", "MPFailTx", "MPFailRx", "MPFastcloseTx", "MPFastcloseRx", "MPRstTx",
    "MPRstRx", "SubflowStale", "SubflowRecover", "SndWndShared", "RcvWndShared", "RcvWndConflictUpdate",
    "RcvWndConflict", "MPCurrEstab", "Blackhole", "MPCapableDataFallback", "MD5SigFallback", "DssFallback",
    "SimultConnectFallback", "FallbackFailed", "WinProbe"
)
# promtool check metrics: "metric names should not contain abbreviated units".
PROMTOOL_UNIT_ABBREVIATIONS = {"s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb", "tb", "pb", "m", "h", "d"}


def test_counter_names_of_the_kernel_carry_no_word_promtool_reads_as_a_unit():
    for kernel, metric in _metrics.counter_names(KERNEL_6_18).items():
        words = set(metric.split("_"))
        assert not words & PROMTOOL_UNIT_ABBREVIATIONS, (kernel, metric)


@EXAMPLES
@given(st.lists(st.text(max_size=12), max_size=8, unique=True))
@example(["AB", "Ab", "ab", "A_b"])
@example(["", "-", "\u00e9"])
def test_counter_names_are_valid_unique_counters(kernel_names):
    names = _metrics.counter_names(kernel_names)
    assert sorted(names) == sorted(kernel_names)
    assert len(set(names.values())) == len(kernel_names)
    for kernel, name in names.items():
        assert _quote.PROMETHEUS_METRIC_NAME.match(name) and name.startswith("mptcp_")
        assert name.endswith("_total") == (kernel not in _metrics.GAUGE_COUNTERS)


@EXAMPLES
@given(st.lists(st.text(max_size=12), max_size=6, unique=True), st.integers(0, 2 ** 64))
def test_any_counters_render_and_read_back(kernel_names, value):
    counters = dict((name, value) for name in kernel_names)
    parsed = _read(_metrics.render({"usable": True, "counters": counters}))
    names = _metrics.counter_names(kernel_names)
    for kernel in kernel_names:
        assert _samples(parsed, names[kernel]) == [({}, "%d" % value)]
        assert parsed["help"][names[kernel]] == "MPTcpExt %s (/proc/net/netstat, nstat MPTcpExt%s)." % (kernel, kernel)


@EXAMPLES
@given(TEXT)
@example('a\\"b\nc\\')
@example("\\n")
@example("\ud800")
def test_label_values_read_back_exactly(value):
    state = {"endpoints": [{"id": 1, "address": value, "dev": value, "flags": []}],
             "sysctl": {"scheduler": value}}
    try:
        text = _metrics.render(state)
    except QuoteError as exc:
        with pytest.raises(UnicodeError):
            value.encode("utf-8")  # refused only when it is no Unicode text at all
        assert "lone surrogate" in str(exc)
        return
    parsed = _read(text)
    assert _samples(parsed, "mptcp_endpoint_info")[0][0]["address"] == value
    assert _samples(parsed, "mptcp_endpoint_info")[0][0]["dev"] == value
    assert _samples(parsed, "mptcp_sysctl_info")[0][0]["scheduler"] == value


@EXAMPLES
@given(TEXT)
@example("ends in a backslash\\")
@example("two\nlines")
def test_help_text_reads_back_exactly(value):
    try:
        rendered = "# HELP m %s\n# TYPE m gauge\nm 1\n" % _quote.prometheus_help(value)
    except QuoteError:
        with pytest.raises(UnicodeError):
            value.encode("utf-8")
        return
    # the reader skips blanks before the text; the renderer's callers never start with one
    assert _read(rendered)["help"]["m"] == value.lstrip(" \t")


def test_reader_refuses_what_the_renderer_must_avoid():
    for raw in (b'm{a="x"y"} 1\n', b'm{a="x\\ty"} 1\n', b'm{a="x\ny"} 1\n', b"# HELP m a\\tb\n"):
        with pytest.raises(consumer.Refused):
            consumer.prometheus_text(raw)


@pytest.mark.parametrize("name", ["", "1a", "a-b", "a b", "\u00e9"])
def test_bad_metric_names_are_refused(name):
    with pytest.raises(QuoteError, match="not a Prometheus metric name"):
        _quote.prometheus_metric_name(name)


@pytest.mark.parametrize("name", ["", "__name__", "a:b", "1a"])
def test_bad_label_names_are_refused(name):
    with pytest.raises(QuoteError, match="not a Prometheus label name"):
        _quote.prometheus_label_name(name)


def test_sysctls_that_cannot_be_label_names_are_left_out():
    parsed = _read(_metrics.render({"sysctl": {"enabled": "1", "__x": "2", "a-b": "3"}}))
    assert _samples(parsed, "mptcp_sysctl_info") == [({"enabled": "1"}, "1")]


def test_write_atomically_replaces_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "mptcp.prom"
    target.write_text("old\n")
    _metrics.write_atomically(str(target), "new\n")
    assert target.read_text() == "new\n"
    assert os.listdir(str(tmp_path)) == ["mptcp.prom"]
    assert stat.S_IMODE(os.stat(str(target)).st_mode) == 0o644


def test_write_atomically_keeps_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "mptcp.prom"
    target.write_text("old\n")
    with pytest.raises(TypeError):
        _metrics.write_atomically(str(target), b"not text")
    assert target.read_text() == "old\n"
    assert os.listdir(str(tmp_path)) == ["mptcp.prom"]


@pytest.mark.parametrize("argv", [[], ["a.prom", "b.prom"], ["metrics.txt"]])
def test_main_refuses_other_arguments(argv, capsys):
    assert _metrics.main(argv) == 2
    assert "OUTPUT.prom" in capsys.readouterr().err


def test_main_refuses_a_missing_directory(tmp_path, capsys):
    assert _metrics.main([str(tmp_path / "missing" / "mptcp.prom")]) == 1
    assert "is not a directory" in capsys.readouterr().err
