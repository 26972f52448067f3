# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: node_exporter_netstat_fields
short_description: node_exporter's defaults file with MPTcpExt added to its netstat fields
version_added: 1.1.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - Debian's C(prometheus-node-exporter) reads its command line from C(ARGS)
    in C(/etc/default/prometheus-node-exporter) (the unit's
    C(EnvironmentFile=), sourced by the init script too). Its netstat
    collector exports only the C(/proc/net/netstat) fields that
    C(--collector.netstat.fields) matches, and the default matches no
    C(MPTcpExt) field.
  - This filter returns the file's content with that regular expression
    extended by C(|^MPTcpExt_), so that every MPTcpExt counter is scraped as
    C(node_netstat_MPTcpExt_*), and with everything else kept (the other
    lines, the other arguments, an expression of the administrator's
    wrapped as C((?:EXPR)|^MPTcpExt_)). Without the option, the
    installed node_exporter's default (from O(help_text), its C(--help) output)
    is extended; without that, node_exporter 1.5's default.
  - An expression that matches MPTcpExt fields already, and a file that
    has one, is returned as it is.
  - C(ARGS) is read only in a form that systemd and the shell read alike,
    and written in single quotes; otherwise the filter fails naming the line.
options:
  _input:
    description: The file's content; V(null) or empty when there is no file.
    type: str
    required: true
  help_text:
    description: The output of C(prometheus-node-exporter --help), or V(null).
    type: str
"""

EXAMPLES = r"""
- name: Scrape the MPTcpExt counters
  ansible.builtin.copy:
    dest: /etc/default/prometheus-node-exporter
    content: "{{ (slurped.content | b64decode) | mptcp.linux.node_exporter_netstat_fields(help_text=node_exporter_help.stdout) }}"
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The file's new content.
  type: str
  sample: |
    # Set the command-line arguments to pass to the server.
    ARGS='--collector.netstat.fields=(?:^(.*_(InErrors|InErrs)|Ip_Forwarding))|^MPTcpExt_'
"""

import re

from ansible.errors import AnsibleFilterError

FLAG = "--collector.netstat.fields"
ADDED = "^MPTcpExt_"
# node_exporter 1.5 (Debian 12) to 1.9's default, for a host without the binary.
DEFAULT_FIELDS = (r"^(.*_(InErrors|InErrs)|Ip_Forwarding|Ip(6|Ext)_(InOctets|OutOctets)|Icmp6?_(InMsgs|OutMsgs)"
                  r"|TcpExt_(Listen.*|Syncookies.*|TCPSynRetrans|TCPTimeouts)"
                  r"|Tcp_(ActiveOpens|InSegs|OutSegs|OutRsts|PassiveOpens|RetransSegs|CurrEstab)"
                  r"|Udp6?_(InDatagrams|OutDatagrams|NoPorts|RcvbufErrors|SndbufErrors))$")
_HELP_DEFAULT = re.compile(r'--collector\.netstat\.fields="((?:[^"\\]|\\.)*)"')
# Fields the collector reads as Protocol_Field, for the "matches already" test.
_SAMPLE_FIELDS = ("MPTcpExt_MPCapableSYNRX", "MPTcpExt_MPCapableFallbackACK", "MPTcpExt_MPJoinSynRx",
                  "MPTcpExt_AddAddr")
FILE = "/etc/default/prometheus-node-exporter"


def default_fields(help_text):
    """The netstat fields default printed by ``--help`` (kingpin prints it
    Go-quoted), or DEFAULT_FIELDS."""
    found = _HELP_DEFAULT.search(help_text or "")
    if not found:
        return DEFAULT_FIELDS
    return re.sub(r'\\(.)', r"\1", found.group(1))


def matches_mptcp(expression):
    """Whether the expression matches the MPTcpExt fields (Go's MatchString:
    a search, not anchored). Python's re reads the RE2 syntax node_exporter
    uses in all but rare constructs; one it cannot read counts as no."""
    try:
        pattern = re.compile(expression)
    except (re.error, OverflowError):
        return False
    return all(pattern.search(field) for field in _SAMPLE_FIELDS)


def extended(expression):
    if matches_mptcp(expression):
        return expression
    return "(?:%s)|%s" % (expression, ADDED)


def extend_words(words, help_text=None):
    """The argument words with the netstat fields extended (the last of the
    flag's occurrences, as the flag parser keeps the last)."""
    words = list(words)
    for index in range(len(words) - 1, -1, -1):
        if words[index].startswith(FLAG + "="):
            words[index] = FLAG + "=" + extended(words[index][len(FLAG) + 1:])
            return words
        if words[index] == FLAG and index + 1 < len(words):
            words[index + 1] = extended(words[index + 1])
            return words
    return words + [FLAG + "=" + extended(default_fields(help_text))]


def node_exporter_netstat_fields(content, help_text=None):
    from ansible_collections.mptcp.linux.plugins.module_utils._quote import QuoteError, environment_file_read, environment_file_value
    if content is not None and not isinstance(content, str):
        raise AnsibleFilterError("node_exporter_netstat_fields: the file content is a %s, not text" % type(content).__name__)
    lines = (content or "").splitlines()
    try:
        value, index = environment_file_read(lines, "ARGS")
    except QuoteError as exc:
        raise AnsibleFilterError("%s: ARGS: %s" % (FILE, exc))
    words = extend_words((value or "").split(), help_text)
    if value is not None and words == value.split():
        return content
    try:
        line = "ARGS=" + environment_file_value(" ".join(words))
    except QuoteError as exc:
        raise AnsibleFilterError("%s: ARGS with the MPTcpExt fields %s" % (FILE, exc))
    if index is None:
        lines.append(line)
    else:
        lines[index] = line
    return "".join(text + "\n" for text in lines)


class FilterModule(object):
    def filters(self):
        return {"node_exporter_netstat_fields": node_exporter_netstat_fields}
