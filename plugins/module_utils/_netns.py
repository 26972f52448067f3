# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: run the rest of a module inside a named network namespace."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import ctypes.util
import os
import re

CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = "/run/netns"
_NAME_RE = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,254}")


class NetnsError(Exception):
    pass


def validate_name(name):
    if name in (".", "..") or _NAME_RE.fullmatch(name) is None:
        raise NetnsError(
            "netns: %r is not a valid namespace name "
            "(letters, digits, '.', '_' and '-', not starting with '-')" % name
        )


def enter(name):
    """Move this process into the network namespace /run/netns/NAME.

    Every netlink socket, /proc/sys/net and /proc/net read opened afterwards
    belongs to that namespace, as with `ip netns exec`.
    """
    validate_name(name)
    path = os.path.join(NETNS_RUN_DIR, name)
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        raise NetnsError(
            "netns: network namespace %r does not exist (%s: %s)" % (name, path, exc.strerror)
        )
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise NetnsError("netns: cannot enter %r: %s" % (name, os.strerror(err)))
    finally:
        os.close(fd)
