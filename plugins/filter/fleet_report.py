# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: fleet_report
short_description: The MPTCP fleet report as data, JSON, Markdown or a self-contained HTML page
version_added: 1.1.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Builds the report of C(playbooks/report.yml) from what it read on each
    host, the fact C(mptcp_drift) that the C(drift) tasks of the
    C(mptcp.linux.mptcp) role set (the result of M(mptcp.linux.mptcp_info),
    the role's dry run of M(mptcp.linux.mptcp_endpoints), the limits and
    sysctls the role would set).
  - Per host it gives whether MPTCP is usable, the endpoints and limits,
    what C(site.yml) would change (drift), the fallback ratio and flags.
  - The fallback ratio is (MPCapableFallbackSYNACK + MPCapableFallbackACK
    + MPCapableSYNTXDrop) / (MPCapableSYNTX + MPCapableSYNRX), from the
    MPTcpExt counters, so since the host's boot. A host is flagged when the
    ratio is above O(fallback_threshold) after at least O(min_attempts)
    attempts (a middlebox that strips the MPTCP option), when MPTCP is not
    usable, when a client (in O(clients), not in O(servers)) has
    C(add_addr_accepted) 0, and when the host gave no data.
  - The HTML page has no script and loads nothing; its chart of the
    fallback ratios is an inline SVG. Every value is HTML-escaped (or, in
    Markdown, backslash-escaped) by the collection's quoting layer;
    characters a page cannot show as they are appear as Python escapes.
options:
  _input:
    description:
      - Each host's name mapped to its C(mptcp_drift) fact, or V(null) for
        a host that gave none.
    type: dict
    required: true
  format:
    description: V(data) returns the report as a dictionary; the others as text.
    type: str
    choices: [data, json, markdown, html]
    default: data
  generated:
    description: When the report was made, shown as given.
    type: str
    default: ""
  fallback_threshold:
    description: The fallback ratio (0 to 1) above which a host is flagged.
    type: float
    default: 0.2
  min_attempts:
    description: The MP_CAPABLE attempts a host needs before its ratio can flag it.
    type: int
    default: 10
  servers:
    description: The hosts of the group C(mptcp_servers) (a host in both groups is a server, as in C(site.yml)).
    type: list
    elements: str
  clients:
    description: The hosts of the group C(mptcp_clients).
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Write the fleet report as HTML
  ansible.builtin.copy:
    dest: /tmp/mptcp-report/index.html
    content: "{{ dict(ansible_play_hosts_all | zip(ansible_play_hosts_all | map('extract', hostvars, 'mptcp_drift')))
                 | mptcp.linux.fleet_report(format='html', generated=now(utc=true).isoformat(),
                                           servers=groups.get('mptcp_servers', []), clients=groups.get('mptcp_clients', [])) }}"
    mode: "0644"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
_value:
  description:
    - With O(format=data), the report; otherwise its JSON, Markdown or HTML text.
    - The report's keys are C(generated), C(fallback_threshold), C(min_attempts),
      C(attempt_counters), C(fallback_counters), C(summary) (C(hosts), C(usable),
      C(drifted), C(flagged)) and C(hosts), one entry per host sorted by name with
      C(host), C(role), C(reached), C(usable), C(usable_reason), C(kernel),
      C(endpoints), C(limits), C(drift) (lines), C(in_step), C(connections),
      C(attempts), C(fallbacks), C(fallback_ratio) (null without attempts),
      C(counters) and C(flags).
  type: raw
"""

from ansible.errors import AnsibleFilterError


def fleet_report(hosts, format="data", generated="", fallback_threshold=None, min_attempts=None, servers=None, clients=None):
    from ansible_collections.mptcp.linux.plugins.module_utils import _quote, _report
    fallback_threshold = _report.DEFAULT_THRESHOLD if fallback_threshold is None else fallback_threshold
    min_attempts = _report.DEFAULT_MIN_ATTEMPTS if min_attempts is None else min_attempts
    if not isinstance(hosts, dict):
        raise AnsibleFilterError("fleet_report: the input must map host names to their mptcp_drift fact, not a %s"
                                 % type(hosts).__name__)
    try:
        return _report.render(_report.build(hosts, generated, fallback_threshold, min_attempts, servers, clients), format)
    except (ValueError, TypeError, _quote.QuoteError) as exc:
        raise AnsibleFilterError("fleet_report: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"fleet_report": fleet_report}
