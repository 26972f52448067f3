# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: the fleet report (playbooks/report.yml, filter
mptcp.linux.fleet_report).

``build()`` turns what report.yml read on each host (mptcp_info's result and
the mptcp role's dry run, the fact ``mptcp_drift`` of the role's ``drift``
tasks) into one JSON-ready report: per host whether MPTCP is usable, its
endpoints and limits, what site.yml would change (drift), the fallback
ratio from the MPTcpExt counters and the flags an operator should look at.
``html()`` and ``markdown()`` render it; every value goes through the
quoting layer (_quote.html_text, _quote.markdown_cell), and the chart is an
inline SVG, so the page needs no network.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.mptcp.linux.plugins.module_utils import _quote

# MP_CAPABLE handshakes, active (SYN sent) and passive (SYN received), and
# those that ended in plain TCP: the SYN-ACK came without MP_CAPABLE
# (active), the third ACK came without it (passive), or the SYN was sent
# again without it after net.mptcp.syn_retrans_before_tcp_fallback losses.
ATTEMPT_COUNTERS = ("MPCapableSYNTX", "MPCapableSYNRX")
FALLBACK_COUNTERS = ("MPCapableFallbackSYNACK", "MPCapableFallbackACK", "MPCapableSYNTXDrop")
DEFAULT_THRESHOLD = 0.2
DEFAULT_MIN_ATTEMPTS = 10


def fallback(counters):
    """(attempts, fallbacks, ratio) from MPTcpExt counters; ratio is None
    without attempts or counters."""
    counters = counters or {}
    if not any(name in counters for name in ATTEMPT_COUNTERS):
        return 0, 0, None
    attempts = sum(int(counters.get(name, 0)) for name in ATTEMPT_COUNTERS)
    fallbacks = sum(int(counters.get(name, 0)) for name in FALLBACK_COUNTERS)
    return attempts, fallbacks, (float(fallbacks) / attempts if attempts else None)


def _endpoint_text(endpoint):
    words = [str(endpoint.get("address") or "")]
    if endpoint.get("port"):
        words.append("port %s" % endpoint["port"])
    if endpoint.get("id") is not None:
        words.append("id %s" % endpoint["id"])
    words.extend(endpoint.get("flags") or [])
    if endpoint.get("dev"):
        words.append("dev %s" % endpoint["dev"])
    return " ".join(word for word in words if word)


def _drift(drift, info):
    """What site.yml would change on the host, one line each."""
    lines = []
    if not drift.get("endpoints_managed", True):
        pass  # mptcpd or NetworkManager own them: nothing of site.yml's to compare
    elif drift.get("endpoint_error"):
        lines.append("endpoints: the dry run failed: %s" % drift["endpoint_error"])
    else:
        lines.extend(drift.get("endpoint_commands") or [])
    current = info.get("limits") or {}
    for name, wanted in sorted((drift.get("limits_wanted") or {}).items()):
        if "%s" % (current.get(name),) != "%s" % (wanted,):
            lines.append("limits: %s %s, site.yml sets %s" % (name, current.get(name, "unknown"), wanted))
    wanted = drift.get("sysctls_wanted") or {}
    sysctl = info.get("sysctl") or {}
    for name in drift.get("sysctls_pending") or []:
        key = "pm_type" if name == "path_manager" and "path_manager" not in sysctl else name
        lines.append("net.mptcp.%s: %s, site.yml sets %s" % (key, sysctl.get(key, "absent"), _sysctl_text(wanted.get(name))))
    return lines


def _sysctl_text(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    return "%s" % (value,)


def host_entry(name, data, role="standalone", threshold=DEFAULT_THRESHOLD, min_attempts=DEFAULT_MIN_ATTEMPTS):
    """One host's line of the report from report.yml's ``mptcp_drift``
    fact (None when the host gave none: unreachable or failed); ``role``:
    server, client or standalone."""
    info = (data or {}).get("info")
    if not info:
        return {"host": name, "role": role, "reached": False, "usable": None, "usable_reason": "", "kernel": "",
                "endpoints": [], "limits": {}, "drift": [], "in_step": None, "connections": 0,
                "attempts": 0, "fallbacks": 0, "fallback_ratio": None, "counters": {},
                "flags": ["no data: the host was unreachable or its read failed"]}
    counters = info.get("counters") or {}
    attempts, fallbacks, ratio = fallback(counters)
    drift = _drift(data.get("drift") or {}, info)
    limits = info.get("limits") or {}
    flags = []
    if not info.get("usable"):
        flags.append("MPTCP not usable: %s" % (info.get("usable_reason") or "unknown"))
    if ratio is not None and attempts >= min_attempts and ratio > threshold:
        flags.append("fallback ratio %.2f above %.2f: a middlebox may strip the MPTCP option" % (ratio, threshold))
    if role == "client" and limits.get("add_addr_accepted") == 0:
        flags.append("add_addr_accepted 0 on a client: it ignores the addresses servers announce")
    return {
        "host": name, "role": role, "reached": True, "usable": bool(info.get("usable")),
        "usable_reason": info.get("usable_reason") or "", "kernel": info.get("kernel") or "",
        "endpoints": [dict((k, e.get(k)) for k in ("address", "id", "port", "dev", "flags"))
                      for e in info.get("endpoints") or []],
        "limits": dict(limits), "drift": drift, "in_step": not drift,
        "connections": len([c for c in info.get("connections") or [] if c.get("state") == "ESTAB"]),
        "attempts": attempts, "fallbacks": fallbacks, "fallback_ratio": ratio,
        "counters": dict((k, int(counters[k])) for k in ATTEMPT_COUNTERS + FALLBACK_COUNTERS if k in counters),
        "flags": flags,
    }


def role_of(name, servers, clients):
    """site.yml's reading of the groups: a host in both is a server."""
    if name in servers:
        return "server"
    return "client" if name in clients else "standalone"


def build(hosts, generated="", threshold=DEFAULT_THRESHOLD, min_attempts=DEFAULT_MIN_ATTEMPTS, servers=(), clients=()):
    """The report: ``hosts`` maps each host name to its ``mptcp_drift``
    fact (or None); ``servers`` and ``clients``: the inventory groups
    mptcp_servers and mptcp_clients."""
    threshold = float(threshold)
    min_attempts = int(min_attempts)
    if not 0 <= threshold <= 1:
        raise ValueError("fallback_threshold must be between 0 and 1, not %s" % threshold)
    if min_attempts < 1:
        raise ValueError("min_attempts must be 1 or more, not %s" % min_attempts)
    entries = [host_entry(name, hosts[name], role_of(name, servers or (), clients or ()), threshold, min_attempts)
               for name in sorted(hosts)]
    return {
        "generated": "%s" % (generated,), "fallback_threshold": threshold, "min_attempts": min_attempts,
        "attempt_counters": list(ATTEMPT_COUNTERS), "fallback_counters": list(FALLBACK_COUNTERS),
        "summary": {"hosts": len(entries), "usable": len([e for e in entries if e["usable"]]),
                    "drifted": len([e for e in entries if e["in_step"] is False]),
                    "flagged": len([e for e in entries if e["flags"]])},
        "hosts": entries,
    }


def to_json(report):
    return json.dumps(report, indent=2, sort_keys=True) + "\n"


# ------------------------------------------------------------------ rendering

def _ratio_text(entry):
    if entry["fallback_ratio"] is None:
        return "n/a"
    return "%.2f (%d/%d)" % (entry["fallback_ratio"], entry["fallbacks"], entry["attempts"])


def _usable_text(entry):
    if entry["usable"] is None:
        return "unknown"
    return "yes" if entry["usable"] else "no: %s" % entry["usable_reason"]


def _limits_text(entry):
    return ", ".join("%s %s" % (k, v) for k, v in sorted(entry["limits"].items())) or "-"


def _columns(entry):
    """The table's cells, each a list of lines, in order."""
    return [
        [entry["host"]], [entry["role"]], [_usable_text(entry)],
        [_endpoint_text(e) for e in entry["endpoints"]] or ["none"],
        [_limits_text(entry)],
        ["unknown"] if entry["in_step"] is None else ["in step"] if entry["in_step"] else entry["drift"],
        [_ratio_text(entry)], entry["flags"] or ["-"],
    ]


HEADERS = ["Host", "Role", "MPTCP usable", "Endpoints", "Limits", "site.yml drift", "Fallback ratio", "Flags"]


def _h(value):
    return _quote.html_text(_quote.visible(value))


def _m(value):
    return _quote.markdown_cell(_quote.visible(value))


def markdown(report):
    s = report["summary"]
    lines = ["# MPTCP fleet report", "",
             _m("Generated %s. %d host(s): %d with MPTCP usable, %d drifted from site.yml, %d flagged."
                % (report["generated"], s["hosts"], s["usable"], s["drifted"], s["flagged"])), "",
             _m("Fallback ratio: (%s) / (%s), flagged above %.2f from %d attempts."
                % (" + ".join(report["fallback_counters"]), " + ".join(report["attempt_counters"]),
                   report["fallback_threshold"], report["min_attempts"])), "",
             "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    for entry in report["hosts"]:
        lines.append("| " + " | ".join("<br>".join(_m(line) for line in cell) for cell in _columns(entry)) + " |")
    return "\n".join(lines) + "\n"


# The chart: one bar per host, its height the fallback ratio (0..1); a
# dashed line at the threshold; a host without attempts gets a grey "n/a".
_BAR, _GAP, _LEFT, _TOP, _HEIGHT, _BOTTOM = 22, 10, 44, 16, 160, 90


def chart(report):
    entries = report["hosts"]
    width = _LEFT + max(len(entries), 1) * (_BAR + _GAP) + _GAP
    height = _TOP + _HEIGHT + _BOTTOM
    base = _TOP + _HEIGHT
    out = ['<svg xmlns="http://www.w3.org/2000/svg" id="fallback-chart" role="img" width="%d" height="%d" '
           'viewBox="0 0 %d %d" aria-labelledby="chart-title">' % (width, height, width, height),
           '<title id="chart-title">Fallback ratio per host</title>']
    for tick in (0, 0.25, 0.5, 0.75, 1):
        y = base - tick * _HEIGHT
        out.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (_LEFT, y, width, y))
        out.append('<text x="%d" y="%.1f" font-size="10" text-anchor="end">%.2f</text>' % (_LEFT - 4, y + 3, tick))
    threshold_y = base - report["fallback_threshold"] * _HEIGHT
    out.append('<line class="threshold" x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#c00" stroke-dasharray="4 3"/>'
               % (_LEFT, threshold_y, width, threshold_y))
    for index, entry in enumerate(entries):
        x = _LEFT + _GAP + index * (_BAR + _GAP)
        ratio = entry["fallback_ratio"]
        label = _h(entry["host"])
        if ratio is None:
            out.append('<text class="na" x="%d" y="%d" font-size="10" text-anchor="middle" fill="#888">n/a</text>'
                       % (x + _BAR // 2, base - 4))
        else:
            height = max(ratio * _HEIGHT, 1.0)
            colour = "#c0392b" if entry["flags"] and ratio > report["fallback_threshold"] else "#2e86c1"
            out.append('<rect class="bar" data-host="%s" data-ratio="%.4f" x="%d" y="%.1f" width="%d" height="%.1f" '
                       'fill="%s"><title>%s: %s</title></rect>'
                       % (label, ratio, x, base - height, _BAR, height, colour, label, _h(_ratio_text(entry))))
        out.append('<text x="%d" y="%d" font-size="10" transform="rotate(60 %d %d)">%s</text>'
                   % (x + 4, base + 12, x + 4, base + 12, label))
    out.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>' % (_LEFT, base, width, base))
    out.append("</svg>")
    return "\n".join(out)


_STYLE = """body{font-family:sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #bbb;padding:4px 6px;vertical-align:top;text-align:left}
th{background:#eee}tr.flagged td{background:#fdecea}td.ok{color:#1e7d32}td.bad{color:#b00020;font-weight:bold}
p.note{font-size:12px;color:#555}"""


def html(report):
    s = report["summary"]
    rows = []
    for entry in report["hosts"]:
        cells = _columns(entry)
        state = {True: "ok", False: "bad", None: ""}
        classes = ["", "", state[entry["usable"]], "", "", state[entry["in_step"]], "", "bad" if entry["flags"] else ""]
        rows.append('<tr class="%s" data-host="%s">%s</tr>' % (
            "flagged" if entry["flags"] else "in-order", _h(entry["host"]),
            "".join('<td%s>%s</td>' % (' class="%s"' % c if c else "", "<br>".join(_h(line) for line in cell))
                    for c, cell in zip(classes, cells))))
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>MPTCP fleet report</title>',
        "<style>%s</style></head><body>" % _STYLE,
        "<h1>MPTCP fleet report</h1>",
        '<p id="summary">%s</p>' % _h("Generated %s. %d host(s): %d with MPTCP usable, %d drifted from site.yml, %d flagged."
                                      % (report["generated"], s["hosts"], s["usable"], s["drifted"], s["flagged"])),
        "<h2>Fallback ratio</h2>",
        chart(report),
        '<p class="note">%s</p>' % _h("(%s) / (%s) since the host's boot; the dashed line is the threshold %.2f, "
                                      "applied from %d attempts." % (" + ".join(report["fallback_counters"]),
                                                                     " + ".join(report["attempt_counters"]),
                                                                     report["fallback_threshold"], report["min_attempts"])),
        "<h2>Hosts</h2>",
        '<table id="hosts"><thead><tr>%s</tr></thead><tbody>' % "".join("<th>%s</th>" % _h(h) for h in HEADERS),
        "\n".join(rows),
        "</tbody></table>",
        "</body></html>",
        "",
    ])


def render(report, fmt):
    if fmt == "data":
        return report
    if fmt == "json":
        return to_json(report)
    if fmt == "markdown":
        return markdown(report)
    if fmt == "html":
        return html(report)
    raise ValueError("format must be one of data, json, markdown, html, not %s" % (fmt,))
