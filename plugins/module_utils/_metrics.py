# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: the MPTCP state of a network namespace as Prometheus metrics,
written for node_exporter's textfile collector.

``python3 -m ansible_collections.mptcp.linux.plugins.module_utils._metrics
OUTPUT.prom`` reads what ``mptcp_info`` reads, through the same readers
(``_sockets``, ``_sysctl``, ``_netlink``), renders it in the text exposition
format 0.0.4 and replaces OUTPUT.prom atomically: a temporary file in the
same directory (a name node_exporter skips, it reads ``*.prom`` only),
fsync, rename. The scraper sees the old file or the new one, never half of
one.

:func:`collect` reads the host, :func:`render` is pure (the unit tests
drive it with made-up state), :func:`write_atomically` writes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import os
import re
import sys
import tempfile
import time

from ansible_collections.mptcp.linux.plugins.module_utils import _netlink, _quote, _sockets, _sysctl

# What the role copies to the host for this program (module_utils/ names).
SHIPPED = ("_metrics.py", "_netlink.py", "_quote.py", "_sockets.py", "_sysctl.py")

PREFIX = "mptcp_"
# MPTcpExt fields that are levels, not event counts: gauges, no _total.
GAUGE_COUNTERS = frozenset(["MPCurrEstab"])
SUBFLOW_BUCKETS = (1, 2, 3, 4, 5, 6, 7, 8)
ENDPOINT_FLAGS = tuple(name for name, bit in _netlink.FLAG_BITS)
LIMITS = ("subflows", "add_addr_accepted")

# The words of a CamelCase name: a lone capital with the capitalised word
# after it ("HMac" of "AckHMacFailure": a word "h" reads as hours to
# promtool), a run of capitals before a capitalised word ("MP" of
# "MPJoin"), a capitalised or lower-case word, a run of capitals, each with
# the digits that follow it ("MD5" of "MD5Sig"), or digits alone.
_WORDS = re.compile(r"(?<![A-Z])[A-Z][A-Z][a-z]+[0-9]*|[A-Z]+[0-9]*(?=[A-Z][a-z])|[A-Z]?[a-z]+[0-9]*|[A-Z]+[0-9]*|[0-9]+")
_NOT_NAME = re.compile(r"[^a-zA-Z0-9_]")


def snake_case(name):
    """``MPJoinSynAckRx`` -> ``mp_join_syn_ack_rx``; characters a metric
    name cannot carry become word breaks."""
    words = []
    for part in _NOT_NAME.split(name):
        words.extend(word.lower() for word in _WORDS.findall(part))
    return "_".join(words)


def counter_names(kernel_names):
    """{kernel name: metric name} for MPTcpExt counters: ``mptcp_`` +
    snake case + ``_total`` (no ``_total`` for levels such as
    MPCurrEstab). Names are unique: should two kernel names give the same
    metric name, the later one (in sorted order) gets a number."""
    result, taken = {}, set()
    for kernel in sorted(kernel_names):
        base = PREFIX + (snake_case(kernel) or "counter")
        suffix = "" if kernel in GAUGE_COUNTERS else "_total"
        name, n = base + suffix, 1
        while name in taken:
            n += 1
            name = "%s_%d%s" % (base, n, suffix)
        taken.add(name)
        result[kernel] = name
    return result


class _Family(object):
    """One metric family: its HELP and TYPE lines and its samples."""

    def __init__(self, name, kind, help_text):
        self.name = _quote.prometheus_metric_name(name)
        self.kind = kind
        self.help = help_text
        self.samples = []

    def add(self, value, labels=(), suffix=""):
        self.samples.append((self.name + suffix, tuple(labels), value))
        return self

    def lines(self):
        yield "# HELP %s %s" % (self.name, _quote.prometheus_help(self.help))
        yield "# TYPE %s %s" % (self.name, self.kind)
        for name, labels, value in self.samples:
            yield "%s%s %s" % (name, _labels(labels), _number(value))


def _labels(pairs):
    if not pairs:
        return ""
    return "{%s}" % ",".join("%s=%s" % (_quote.prometheus_label_name(key), _quote.prometheus_label_value(value))
                             for key, value in pairs)


def _number(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "+Inf" if value > 0 else "-Inf"
        return repr(value)
    return "%d" % value


def _gauge(name, help_text, value=None):
    family = _Family(PREFIX + name, "gauge", help_text)
    if value is not None:
        family.add(value)
    return family


def _endpoint_families(endpoints):
    count = _gauge("endpoints", "MPTCP endpoints of this network namespace (ip mptcp endpoint show).", len(endpoints))
    flagged = _gauge("endpoints_flagged", "MPTCP endpoints carrying each flag (an endpoint may carry several).")
    for flag in ENDPOINT_FLAGS:
        flagged.add(sum(1 for e in endpoints if flag in (e.get("flags") or ())), [("flag", flag)])
    info = _gauge("endpoint_info", "One MPTCP endpoint, always 1: its id, address, port, interface and flags.")
    for e in endpoints:
        info.add(1, [("id", e.get("id") or ""), ("address", e.get("address") or ""), ("port", e.get("port") or ""),
                     ("dev", e.get("dev") or ""), ("flags", ",".join(sorted(e.get("flags") or ())))])
    return [count, flagged, info]


def _connection_families(connections):
    open_ = [c for c in connections if c.get("state") != "LISTEN"]
    by_state = _gauge("connections", "MPTCP connections of this network namespace by TCP state, listeners excluded.")
    for state in sorted(set(c.get("state") for c in open_)):
        by_state.add(sum(1 for c in open_ if c.get("state") == state), [("state", state)])
    listening = _gauge("listening_sockets", "Listening MPTCP sockets.",
                       sum(1 for c in connections if c.get("state") == "LISTEN"))
    subflows = [int(c.get("subflows") or 0) for c in open_]
    most = _gauge("connection_subflows_max", "Most subflows of one open MPTCP connection (0 without any).",
                  max(subflows) if subflows else 0)
    histogram = _Family(PREFIX + "connection_subflows", "histogram",
                        "Subflows per open MPTCP connection at the time of writing (a snapshot, not cumulative).")
    for bound in SUBFLOW_BUCKETS:
        histogram.add(sum(1 for n in subflows if n <= bound), [("le", "%d" % bound)], "_bucket")
    histogram.add(len(subflows), [("le", "+Inf")], "_bucket")
    histogram.add(sum(subflows), suffix="_sum")
    histogram.add(len(subflows), suffix="_count")
    return [by_state, listening, most, histogram]


def render(state):
    """The text exposition of ``state``: a dict with ``usable`` (bool),
    ``sysctl`` ({knob: text}), ``endpoints`` and ``limits`` (None when the
    kernel has no MPTCP netlink family), ``connections``, ``counters``
    ({MPTcpExt name: int}) and ``time`` (seconds since the epoch)."""
    families = [_gauge("usable", "1 when a socket(IPPROTO_MPTCP) can be opened in this network namespace.",
                       bool(state.get("usable")))]
    sysctl = state.get("sysctl") or {}
    if sysctl:
        keys = sorted(k for k in sysctl if _quote.PROMETHEUS_LABEL_NAME.match(k) and not k.startswith("__"))
        families.append(_gauge("sysctl_info", "The net.mptcp sysctls as labels, always 1.")
                        .add(1, [(k, sysctl[k]) for k in keys]))
    if state.get("endpoints") is not None:
        families.extend(_endpoint_families(state["endpoints"]))
    limits = state.get("limits") or {}
    for limit in LIMITS:
        if limit in limits:
            families.append(_gauge("limit_" + limit, "MPTCP limit %s (ip mptcp limits show)." % limit, limits[limit]))
    if state.get("connections") is not None:
        families.extend(_connection_families(state["connections"]))
    counters = state.get("counters") or {}
    names = counter_names(counters)
    for kernel in sorted(counters, key=lambda k: names[k]):
        kind = "gauge" if kernel in GAUGE_COUNTERS else "counter"
        families.append(_Family(names[kernel], kind, "MPTcpExt %s (/proc/net/netstat, nstat MPTcpExt%s)." % (kernel, kernel))
                        .add(counters[kernel]))
    if state.get("time") is not None:
        families.append(_gauge("metrics_written_timestamp_seconds", "When this file was written, seconds since the epoch.",
                               float(state["time"])))
    return "".join(line + "\n" for family in families for line in family.lines())


def collect():
    """The state :func:`render` takes, read from this network namespace
    with the readers mptcp_info uses."""
    state = {
        "usable": _sockets.usability()["usable"],
        "sysctl": _sysctl.read_all(),
        "counters": _sockets.counters(),
        "endpoints": None,
        "limits": None,
        "connections": None,
        "time": time.time(),
    }
    if _netlink.PYROUTE2_IMPORT_ERROR is None:
        # None without MPTCP in this kernel: mptcp_usable says so
        state["endpoints"], state["limits"] = _netlink.endpoints_and_limits()
    try:
        state["connections"] = _sockets.connections()
    except (OSError, IOError):
        pass  # no sock_diag for MPTCP (kernel < 5.9 or no MPTCP): no connection metrics
    return state


def write_atomically(path, text):
    """Replace ``path`` with ``text``: temporary file in the same directory,
    fsync, rename, mode 0644."""
    directory = os.path.dirname(os.path.abspath(path))
    handle, temp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temp, 0o644)
        os.rename(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1 or not argv[0].endswith(".prom"):
        sys.stderr.write("usage: python3 -m ansible_collections.mptcp.linux.plugins.module_utils._metrics OUTPUT.prom\n"
                         "(node_exporter's textfile collector reads *.prom files only)\n")
        return 2
    directory = os.path.dirname(os.path.abspath(argv[0]))
    if not os.path.isdir(directory):
        sys.stderr.write("mptcp metrics: %s is not a directory\n" % directory)
        return 1
    write_atomically(argv[0], render(collect()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
