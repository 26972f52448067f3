# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: mptcp_role_problems
short_description: Every problem with the mptcp role's variables, found before the host is touched
version_added: 1.0.0
author: mptcp.linux maintainers (@mptcp-linux)
description:
  - The input check of the C(mptcp.linux.mptcp) role, which fails on a
    non-empty list before it reads or changes the host. One message per
    problem, each naming the variable.
  - Checks values that would change a restore file's or unit's meaning
    (through P(mptcp.linux.unsafe_values#filter)), interface names, the
    C(mptcp_sysctls) knobs against the collection's own knob table, the
    limits against the kernel's bound, the policy routing numbers, and the
    combinations of endpoint manager, persistence and systemd.
options:
  _input:
    description:
      - The role's variables by name (C(mptcp_endpoints), C(mptcp_sysctls),
        C(mptcp_limits_subflows), ...). A missing one takes the role's default.
    type: dict
    required: true
  interfaces:
    description: The interfaces MPTCP uses (named ones and those of explicit endpoints).
    type: list
    elements: str
    required: true
  systemd:
    description: Whether systemd runs the host (C(/run/systemd/system) is a directory).
    type: bool
    required: true
"""

EXAMPLES = r"""
- name: Refuse bad input before touching the host
  ansible.builtin.assert:
    that: problems | length == 0
    fail_msg: "{{ problems | join('; ') }}"
    quiet: true
  vars:
    problems: "{{ {'mptcp_limits_subflows': 9} | mptcp.linux.mptcp_role_problems([], true) }}"
"""

RETURN = r"""
_value:
  description: The problems, empty when there is none.
  type: list
  elements: str
  sample: ["mptcp_limits_subflows must be 0 to 8, not 9"]
"""

import posixpath
import re

# The knobs with a variable of their own; the others go through mptcp_sysctls.
OWN_VARIABLES = ("enabled", "path_manager", "scheduler")
TABLE_BASE_MAX = 4294967039
PRIORITY_MAX = 32765


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _in_range(value, low, high):
    number = _int(value)
    return number is not None and low <= number <= high


def _bool(value):
    return str(value).lower() in ("true", "yes", "on", "1")


def pass_through():
    """The knobs that mptcp_sysctls may set: those without a variable of their own."""
    from ansible_collections.mptcp.linux.plugins.module_utils._sysctl import KNOBS
    return sorted(knob for knob in KNOBS if knob not in OWN_VARIABLES)


def mptcp_role_problems(variables, interfaces, systemd):
    from ansible_collections.mptcp.linux.plugins.filter.unsafe_values import unsafe_values
    from ansible_collections.mptcp.linux.plugins.module_utils._common import LIMIT_MAX
    from ansible_collections.mptcp.linux.plugins.module_utils._endpoints import valid_ifname
    pass_through_knobs = pass_through()
    given = dict((k, v) for k, v in (variables or {}).items() if v is not None)
    manager = given.get("mptcp_endpoint_manager", "static")
    problems = []
    for name in ("mptcp_endpoints", "mptcp_endpoint_interfaces", "mptcp_sysctls", "mptcp_scheduler", "mptcp_restore_dir",
                 "mptcp_metrics_textfile_dir", "mptcp_metrics_interval"):
        problems.extend(unsafe_values(given.get(name, ""), name))
    problems.extend("interface name %s: not a Linux interface name (1 to 15 characters, no /, : or blank)" % name
                    for name in interfaces if not valid_ifname(str(name)))
    problems.extend("mptcp_sysctls: unknown knob %s (allowed: %s; %s and %s have their own variables)"
                    % (knob, ", ".join(pass_through_knobs), ", ".join(OWN_VARIABLES[:-1]), OWN_VARIABLES[-1])
                    for knob in given.get("mptcp_sysctls", {}) if knob not in pass_through_knobs)
    for name in ("mptcp_limits_subflows", "mptcp_limits_add_addr_accepted"):
        if name in given and not _in_range(given[name], 0, LIMIT_MAX):
            problems.append("%s must be 0 to %d, not %s" % (name, LIMIT_MAX, given[name]))
    if not str(given.get("mptcp_restore_dir", "/")).startswith("/"):
        problems.append("mptcp_restore_dir must be an absolute path, not %s" % given["mptcp_restore_dir"])
    if _bool(given.get("mptcp_policy_routing")) and manager != "static":
        problems.append("mptcp_policy_routing needs mptcp_endpoint_manager static, not %s" % manager)
    if not _in_range(given.get("mptcp_policy_routing_table_base", 1), 1, TABLE_BASE_MAX):
        problems.append("mptcp_policy_routing_table_base must be 1 to %d (tables are base + endpoint id)" % TABLE_BASE_MAX)
    if not _in_range(given.get("mptcp_policy_routing_priority", 1), 1, PRIORITY_MAX):
        problems.append("mptcp_policy_routing_priority must be 1 to %d (before the main table)" % PRIORITY_MAX)
    if manager == "networkmanager" and not given.get("mptcp_endpoint_interfaces"):
        problems.append("mptcp_endpoint_manager networkmanager needs mptcp_endpoint_interfaces (whose connections get the flags)")
    if manager == "follow" and not given.get("mptcp_endpoint_interfaces"):
        problems.append("mptcp_endpoint_manager follow needs mptcp_endpoint_interfaces (whose addresses it follows)")
    if manager == "networkmanager" and "laminar" in given.get("mptcp_endpoint_flags", []):
        problems.append("mptcp_endpoint_flags: NetworkManager has no laminar flag")
    if str(given.get("mptcp_persist", "auto")).lower() == "true" and not systemd:
        problems.append("mptcp_persist: true needs systemd, which is not running here (no /run/systemd/system): nothing "
                        "would apply the sysctl.d file or start mptcp-restore.service at a boot. Set mptcp_persist: auto "
                        "(persist only where systemd runs) or false")
    if manager == "mptcpd" and _bool(given.get("mptcpd_manage_service", True)) and not systemd:
        problems.append("mptcp_endpoint_manager mptcpd needs systemd to run mptcp.service, which is not running here "
                        "(no /run/systemd/system); set mptcpd_manage_service: false to only configure mptcpd")
    problems.extend(_metrics_problems(given))
    return problems


# systemd.time(7) time spans: numbers with units, "1min 30s"; at least 1s
# between two runs of the exporter is left to the administrator.
_TIME_SPAN = re.compile(r"[ \t]*(?:[0-9]+(?:\.[0-9]+)?[ \t]*(?:usec|us|msec|ms|seconds|second|sec|s|minutes|minute|min|m"
                        r"|hours|hour|hr|h|days|day|d|weeks|week|w)?[ \t]*)+\Z")
# ProtectSystem=full in mptcp-metrics.service: these are read-only to it.
_READ_ONLY = ("/usr", "/boot", "/efi", "/etc")


def _metrics_problems(given):
    problems = []
    if str(given.get("mptcp_metrics", False)).lower() not in ("true", "false", "yes", "no", "on", "off", "1", "0"):
        problems.append("mptcp_metrics must be true or false, not %s" % given["mptcp_metrics"])
    interval = given.get("mptcp_metrics_interval", "1min")
    if isinstance(interval, bool) or not _TIME_SPAN.match(str(interval)) or not re.search(r"[1-9]", str(interval)):
        problems.append("mptcp_metrics_interval must be a systemd time span such as 30s, 1min or 1min 30s, not %s" % (interval,))
    directory = str(given.get("mptcp_metrics_textfile_dir", "/var/lib/prometheus/node-exporter"))
    normal = posixpath.normpath(directory)
    if not directory.startswith("/"):
        problems.append("mptcp_metrics_textfile_dir must be an absolute path, not %s" % directory)
    elif normal == "/" or any(normal == top or normal.startswith(top + "/") for top in _READ_ONLY):
        problems.append("mptcp_metrics_textfile_dir must not be / or under %s, which mptcp-metrics.service sees read-only "
                        "(ProtectSystem=full), not %s" % (", ".join(_READ_ONLY), directory))
    if str(given.get("mptcp_metrics_node_exporter", "auto")).lower() not in ("auto", "true", "false"):
        problems.append("mptcp_metrics_node_exporter must be auto, true or false, not %s" % given["mptcp_metrics_node_exporter"])
    return problems


class FilterModule(object):
    def filters(self):
        return {"mptcp_role_problems": mptcp_role_problems}
