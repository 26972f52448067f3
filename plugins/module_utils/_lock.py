# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: one exclusive lock per network namespace around read, plan,
write and verify of its MPTCP state.

The lock is an ``flock`` on the namespace itself: ``/proc/self/ns/net`` opens
the namespace's nsfs inode, which every name of that namespace
(``/run/netns/NAME``, ``/proc/PID/ns/net``) shares, so two names for one
namespace take the same lock and two namespaces never share one. Nothing is
created on disk, nothing goes stale: the kernel drops the lock when its
holder exits, however it exits. A shell or a unit file takes the same lock
with ``flock /proc/self/ns/net COMMAND`` (util-linux).

The holder is found in ``/proc/locks`` (its pid) and named by the note that
``hold()`` leaves in ``/run/mptcp-linux`` (what it is and since when), so a
timeout says who is in the way.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import json
import os
import time

NS_PATH = "/proc/self/ns/net"
NOTE_DIR = "/run/mptcp-linux"
DEFAULT_TIMEOUT = 60
LOCK_ARGUMENT = dict(lock_timeout=dict(type="int", default=DEFAULT_TIMEOUT))


class LockTimeout(Exception):
    pass


def namespace_id():
    """The inode number of the current network namespace (``ip netns identify``'s key)."""
    return os.stat(NS_PATH).st_ino


def _note_path(inode):
    return os.path.join(NOTE_DIR, "netns-%d.holder" % inode)


def _read_note(inode):
    try:
        with open(_note_path(inode)) as handle:
            return json.load(handle)
    except (IOError, OSError, ValueError):
        return {}


def _write_note(inode, what):
    """Best effort: a host without a writable /run still gets the lock."""
    try:
        if not os.path.isdir(NOTE_DIR):
            os.makedirs(NOTE_DIR, 0o755)
        tmp = "%s.%d" % (_note_path(inode), os.getpid())
        with open(tmp, "w") as handle:
            json.dump({"pid": os.getpid(), "what": what, "since": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, handle)
        os.rename(tmp, _note_path(inode))
    except (IOError, OSError):
        pass


def _clear_note(inode):
    if _read_note(inode).get("pid") == os.getpid():
        try:
            os.unlink(_note_path(inode))
        except OSError:
            pass


def lock_holders(inode, locks_path="/proc/locks"):
    """Pids holding an flock on the nsfs inode ``inode``, from /proc/locks."""
    pids = []
    try:
        with open(locks_path) as handle:
            for line in handle:
                words = line.split()
                # "1: FLOCK  ADVISORY  WRITE 11437 00:04:4026531833 0 EOF"
                if len(words) >= 6 and words[1] == "FLOCK" and words[5].rsplit(":", 1)[-1] == str(inode):
                    try:
                        pids.append(int(words[4]))
                    except ValueError:
                        continue
    except (IOError, OSError):
        pass
    return pids


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            words = handle.read().split(b"\0")
    except (IOError, OSError):
        return ""
    return " ".join(w.decode("utf-8", "replace") for w in words if w)[:200]


def describe_holder(inode):
    """Who holds the lock, in words."""
    pids = lock_holders(inode)
    note = _read_note(inode)
    if not pids:
        return "a process this host does not show (no entry in /proc/locks)"
    parts = []
    for pid in pids:
        if note.get("pid") == pid:
            parts.append("pid %d (%s, since %s)" % (pid, note.get("what"), note.get("since")))
        else:
            parts.append("pid %d (%s)" % (pid, _cmdline(pid) or "command line unknown"))
    return ", ".join(parts)


class NetnsLock(object):
    """``with NetnsLock("mptcp.linux.mptcp_endpoints", timeout=60):`` holds the
    current network namespace's MPTCP lock; raises LockTimeout naming the
    holder when it is not free within ``timeout`` seconds."""

    poll = 0.05

    def __init__(self, what, timeout=DEFAULT_TIMEOUT):
        self.what = what
        self.timeout = timeout
        self.fd = None
        self.inode = None

    def acquire(self):
        fd = os.open(NS_PATH, os.O_RDONLY)
        inode = os.fstat(fd).st_ino
        deadline = time.time() + max(self.timeout, 0)
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except (IOError, OSError) as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    os.close(fd)
                    raise
            if time.time() >= deadline:
                holder = describe_holder(inode)
                os.close(fd)
                raise LockTimeout(
                    "another change of MPTCP state holds the lock of this network namespace (net:[%d]): %s; "
                    "waited %d s (lock_timeout). Nothing was changed."
                    % (inode, holder, self.timeout))
            time.sleep(self.poll)
        self.fd, self.inode = fd, inode
        _write_note(inode, self.what)
        return self

    def release(self):
        if self.fd is not None:
            _clear_note(self.inode)
            os.close(self.fd)  # closing the only descriptor drops the flock
            self.fd = None

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()


class ModuleLock(object):
    """``with ModuleLock(module, "mptcp.linux.mptcp_endpoints"):`` holds the
    namespace lock for a module's read, plan, write and verify, or fails the
    module (having changed nothing) when it cannot get it in time.

    In check mode nothing is written, so nothing is locked: a dry run reads
    what is there, like any other reader."""

    def __init__(self, module, what):
        self.module = module
        self.lock = NetnsLock(what, module.params.get("lock_timeout", DEFAULT_TIMEOUT))

    def __enter__(self):
        if not self.module.check_mode:
            try:
                self.lock.acquire()
            except LockTimeout as exc:
                self.module.fail_json(msg=str(exc))
        return self

    def __exit__(self, *exc):
        self.lock.release()
