# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: the net.mptcp.* knobs, validated against the running kernel,
read and written through /proc/sys/net/mptcp, and rendered for sysctl.d."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

PROC_DIR = "/proc/sys/net/mptcp"
DEFAULT_PERSIST_PATH = "/etc/sysctl.d/90-mptcp.conf"

# option -> (kernel version that added the knob, kind, extra)
#   bool: written 0/1; int: (min, max); str: the file listing the values this
#   kernel offers (not checked when the kernel has no such file)
KNOBS = {
    "enabled": ("5.6", "bool", None),
    "add_addr_timeout": ("5.11", "int", (0, 2147483)),
    "checksum_enabled": ("5.14", "bool", None),
    "allow_join_initial_addr_port": ("5.14", "bool", None),
    "stale_loss_cnt": ("5.16", "int", (1, 2147483647)),
    "path_manager": ("5.19", "str", "available_path_managers"),  # path_manager since 6.15, pm_type before
    "scheduler": ("6.6", "str", "available_schedulers"),
    "close_timeout": ("6.7", "int", (0, 2147483)),
    "blackhole_timeout": ("6.12", "int", (0, 2147483647)),
    "syn_retrans_before_tcp_fallback": ("6.14", "int", (0, 255)),
}
PM_TYPE = {"kernel": "0", "userspace": "1"}


class SysctlError(Exception):
    pass


def kernel_release():
    return os.uname()[2]


def _path(name):
    return os.path.join(PROC_DIR, name)


def exists(name):
    return os.path.exists(_path(name))


def read(name):
    with open(_path(name)) as handle:
        return handle.read().strip()


def write(name, value):
    with open(_path(name), "w") as handle:
        handle.write("%s\n" % value)


def read_all():
    """Every knob this kernel has, raw text values."""
    if not os.path.isdir(PROC_DIR):
        return {}
    return dict((name, read(name)) for name in sorted(os.listdir(PROC_DIR)))


def kernel_key(option):
    """The file behind an option on this kernel (path_manager -> pm_type before 6.15)."""
    if option == "path_manager" and not exists("path_manager"):
        return "pm_type"
    return option


def to_kernel(option, value):
    """The text written for an option's value, for the key kernel_key() chose."""
    kind = KNOBS[option][1]
    if kind == "bool":
        return "1" if value else "0"
    if option == "path_manager" and kernel_key(option) == "pm_type":
        return PM_TYPE[value]
    return str(value)


def from_kernel(option, text):
    """The option value a kernel text means (inverse of to_kernel)."""
    kind = KNOBS[option][1]
    if kind == "bool":
        return text != "0"
    if kind == "int":
        return int(text)
    if option == "path_manager" and kernel_key(option) == "pm_type":
        return dict((v, k) for k, v in PM_TYPE.items()).get(text, text)
    return text


def validate(desired):
    """Check every requested knob against this kernel; raise one SysctlError
    naming every problem, before anything is written."""
    problems = []
    release = kernel_release()
    if not os.path.isdir(PROC_DIR):
        raise SysctlError(
            "this kernel (%s) has no %s: MPTCP needs Linux >= 5.6 built with CONFIG_MPTCP" % (release, PROC_DIR)
        )
    for option, value in sorted(desired.items()):
        added, kind, extra = KNOBS[option]
        if not exists(kernel_key(option)):
            problems.append(
                "%s: net.mptcp.%s does not exist on this kernel (%s); it was added in Linux %s"
                % (option, kernel_key(option), release, added)
            )
            continue
        if kind == "int":
            low, high = extra
            if not low <= value <= high:
                problems.append("%s: %s is out of range %d..%d" % (option, value, low, high))
        elif kind == "str" and exists(extra):
            available = read(extra).split()
            if value not in available:
                problems.append(
                    "%s: %r is not available on this kernel; %s: %s"
                    % (option, value, extra.replace("_", " "), ", ".join(available))
                )
    if problems:
        raise SysctlError("; ".join(problems))


def plan(desired):
    """(before, after, changes) where changes is [(kernel key, text)] to write."""
    before, after, changes = {}, {}, []
    for option, value in sorted(desired.items()):
        key = kernel_key(option)
        current = from_kernel(option, read(key))
        before[option] = current
        after[option] = value
        if current != value:
            changes.append((key, to_kernel(option, value)))
    return before, after, changes


def apply(changes):
    """Write every change; if one is refused, put back the ones already
    written and raise, so nothing is left half-applied."""
    done = []
    for key, text in changes:
        try:
            old = read(key)
            write(key, text)
        except (IOError, OSError) as exc:
            for done_key, done_old in reversed(done):
                write(done_key, done_old)
            raise SysctlError(
                "net.mptcp.%s: the kernel refused %r (%s); nothing was changed" % (key, text, exc.strerror or exc)
            )
        done.append((key, old))


def render_conf(desired):
    """The sysctl.d file for the requested knobs: sorted, stable, no timestamp,
    so that its content changes only when the settings do."""
    lines = [
        "# Managed by Ansible (mptcp.linux.mptcp_sysctl). Local edits are overwritten.",
    ]
    for option, value in sorted(desired.items()):
        lines.append("net.mptcp.%s = %s" % (kernel_key(option), to_kernel(option, value)))
    return "\n".join(lines) + "\n"
