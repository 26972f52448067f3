# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: run the rest of a module inside a named network namespace, and
return to the namespace it started in when the module ends.

The way back matters in a persistent interpreter (Mitogen's strategies run
modules inside one Python process that serves every task of a play): a task
that stayed in the namespace it entered would make the next task, written
for the host's own namespace, act inside that one and report success."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ctypes
import ctypes.util
import functools
import os
import re
import sys

CLONE_NEWNET = 0x40000000
NETNS_RUN_DIR = "/run/netns"
# The calling thread's own namespace (setns() moves one thread).
THREAD_NETNS = "/proc/thread-self/ns/net"
_NAME_RE = re.compile(r"[A-Za-z0-9_.][A-Za-z0-9_.-]{0,254}")


class NetnsError(Exception):
    pass


def validate_name(name):
    if name in (".", "..") or _NAME_RE.fullmatch(name) is None:
        raise NetnsError(
            "netns: %r is not a valid namespace name "
            "(letters, digits, '.', '_' and '-', not starting with '-')" % name
        )


# Open descriptors of the namespace the thread was in before enter(), for
# leave(); empty while the thread is where it started.
_ORIGIN = []


def _setns(fd):
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        return os.strerror(ctypes.get_errno())
    return None


def enter(name):
    """Move this thread into the network namespace /run/netns/NAME.

    Every netlink socket, /proc/sys/net and /proc/net read opened afterwards
    belongs to that namespace, as with `ip netns exec`. leave() (or a
    function decorated with returning()) brings the thread back.
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
        origin = None if _ORIGIN else os.open(THREAD_NETNS, os.O_RDONLY)
        error = _setns(fd)
        if error is not None:
            if origin is not None:
                os.close(origin)
            raise NetnsError("netns: cannot enter %r: %s" % (name, error))
        if origin is not None:
            _ORIGIN.append(origin)
    finally:
        os.close(fd)


def leave():
    """Move this thread back to the namespace it was in before enter().

    Should that fail, the process ends at once: an interpreter left in
    another namespace must not run the next task."""
    while _ORIGIN:
        origin = _ORIGIN.pop()
        error = _setns(origin)
        os.close(origin)
        if error is not None:
            sys.stderr.write("netns: cannot return to the original network namespace (%s); "
                             "ending this interpreter\n" % error)
            sys.stderr.flush()
            os._exit(70)  # pylint: disable=protected-access


def returning(func):
    """Decorate a module's main(): however it ends (exit_json and fail_json
    raise SystemExit), the thread is back in its own namespace."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        finally:
            leave()
    return wrapper
