# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: the net.mptcp.* knobs, validated against the running kernel,
read and written through /proc/sys/net/mptcp, and rendered for sysctl.d."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import fcntl
import os
import tempfile

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


def to_kernel(option, value, key=None):
    """The text written for an option's value, for KEY (default: the key
    kernel_key() chooses on this host)."""
    kind = KNOBS[option][1]
    if kind == "bool":
        return "1" if value else "0"
    if option == "path_manager" and (key or kernel_key(option)) == "pm_type":
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


def read_options(options):
    """The current value of each option, as the option's type."""
    return dict((option, from_kernel(option, read(kernel_key(option)))) for option in sorted(options))


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


def read_only():
    """Whether PROC_DIR is on a read-only mount, as /proc/sys is in an
    unprivileged container: every write would fail with EROFS."""
    try:
        return bool(os.statvfs(PROC_DIR).f_flag & os.ST_RDONLY)
    except OSError:
        return False


def read_only_message(changes):
    """Why CHANGES [(key, text)] cannot be written where PROC_DIR is read-only,
    and the usual remedies."""
    return ("%s is read-only here (a read-only mount of /proc/sys, as in an unprivileged container), so %s cannot be "
            "written. Nothing was changed. Run the container privileged (docker/podman run --privileged), or set the "
            "knobs when the container starts: %s"
            % (PROC_DIR, ", ".join("net.mptcp.%s=%s" % change for change in changes),
               " ".join("--sysctl net.mptcp.%s=%s" % change for change in changes)))


def command(change):
    """The ``sysctl -w`` line equivalent to writing one (key, text) change."""
    return "sysctl -w net.mptcp.%s=%s" % change


def apply(changes, sent):
    """Write every change, in order, appending each (key, text) to ``sent``
    as it is written. Returns the [(key, old text)] written, for rollback().

    If the kernel refuses one, the ones already written are put back, every
    knob this call touched is read back, and the SysctlError says what the
    read-back shows: nothing was changed, or which knobs are not as before."""
    done = []
    for key, text in changes:
        try:
            old = read(key)
        except (IOError, OSError) as exc:
            failed = rollback(done, sent)
            raise SysctlError("net.mptcp.%s: cannot be read (%s). %s"
                              % (key, exc.strerror or exc, rollback_outcome(done, failed, first="it was the first knob to write")))
        sent.append((key, text))
        try:
            write(key, text)
        except (IOError, OSError) as exc:
            failed = rollback(done, sent) + not_as_before([(key, old)])
            if exc.errno == errno.EROFS and not done and not failed:
                raise SysctlError(read_only_message(changes))
            raise SysctlError("net.mptcp.%s: the kernel refused %r (%s). %s"
                              % (key, text, exc.strerror or exc,
                                 rollback_outcome(done, failed, first="it was the first knob to write, and it reads back as before")))
        done.append((key, old))
    return done


def not_as_before(pairs):
    """[(key, old text, text now)] for each (key, old text) that reads back otherwise."""
    failed = []
    for key, old in pairs:
        try:
            now = read(key)
        except (IOError, OSError) as exc:
            now = "unreadable (%s)" % (exc.strerror or exc)
        if now != old:
            failed.append((key, old, now))
    return failed


def rollback(done, sent):
    """Put back the values written (newest first), appending each write to
    ``sent``, then read every one back. Returns not_as_before() of them."""
    for key, old in reversed(done):
        sent.append((key, old))
        try:
            write(key, old)
        except (IOError, OSError):
            pass  # the read-back below reports it
    return not_as_before(done)


def rollback_outcome(done, failed, first="no knob had to be written"):
    """The sentence a failed run ends with, from what the read-back showed
    (FIRST says why nothing was written, when nothing was)."""
    if failed:
        return "Not as before after putting back what was written: %s." % "; ".join(
            "net.mptcp.%s is %r, was %r" % (key, now, old) for key, old, now in failed)
    if not done:
        return "Nothing was changed: %s." % first
    return ("Nothing was changed: the %d knob(s) already written (%s) were put back and read back as before."
            % (len(done), ", ".join("net.mptcp.%s" % key for key, dummy in done)))


def render_conf(desired):
    """The sysctl.d file for the requested knobs: sorted, stable, no timestamp,
    so that its content changes only when the settings do."""
    lines = [
        "# Managed by Ansible (mptcp.linux.mptcp_sysctl). Local edits are overwritten.",
    ]
    for option, value in sorted(desired.items()):
        lines.append("net.mptcp.%s = %s" % (kernel_key(option), to_kernel(option, value)))
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the persist file, staged

TEMP_PREFIX = ".mptcp-sysctl."


def _temp_prefix(path):
    return "%s%s." % (TEMP_PREFIX, os.path.basename(path))


class StagedFile(object):
    """The new content of a file, written and synced next to it under a
    temporary name (locked while this process lives), to be renamed over it
    by commit() or removed by discard(). Creating it changes nothing that
    anything reads: systemd-sysctl reads only ``*.conf`` files."""

    def __init__(self, path, content):
        self.path = os.path.realpath(path)
        directory = os.path.dirname(self.path)
        if not os.path.isdir(directory):
            raise OSError(errno.ENOENT, "directory %s does not exist" % directory)
        for kernel_fs in ("/proc", "/sys"):
            if (directory + "/").startswith(kernel_fs + "/"):
                raise OSError(errno.EINVAL, "it is under %s, an interface of the kernel, not a place for files" % kernel_fs)
        if os.path.lexists(self.path) and not os.path.isfile(self.path):
            kind = "a directory" if os.path.isdir(self.path) else "not a regular file"
            raise OSError(errno.EISDIR if os.path.isdir(self.path) else errno.EINVAL, "it is %s" % kind)
        try:
            self.fd, self.tmp = tempfile.mkstemp(prefix=_temp_prefix(self.path), dir=directory)
        except (IOError, OSError) as exc:
            raise OSError(exc.errno, "cannot create a file in %s (%s)" % (directory, exc.strerror or exc))
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # tells leftovers() this one is alive
            data = content.encode("utf-8")
            while data:
                data = data[os.write(self.fd, data):]
            os.fsync(self.fd)
            os.fchmod(self.fd, 0o644)
            if os.pread(self.fd, len(content.encode("utf-8")) + 1, 0) != content.encode("utf-8"):
                raise OSError(errno.EIO, "the staged file %s does not read back as written" % self.tmp)
        except (IOError, OSError):
            self.discard()
            raise

    def commit(self):
        """Rename the staged file over the target: atomic, all or nothing."""
        os.rename(self.tmp, self.path)
        self.tmp = None
        try:
            directory = os.open(os.path.dirname(self.path), os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except OSError:
            pass  # the rename is done; a directory that cannot be synced is the file system's business
        self._close()

    def discard(self):
        if self.tmp is not None:
            try:
                os.unlink(self.tmp)
            except OSError as exc:
                if exc.errno != errno.ENOENT:
                    raise
            self.tmp = None
        self._close()

    def _close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def leftovers(path):
    """Temporary files that an interrupted run left next to PATH: staged
    files whose writer is gone (nobody holds their lock)."""
    target = os.path.realpath(path)
    directory, prefix = os.path.dirname(target), _temp_prefix(target)
    try:
        names = sorted(n for n in os.listdir(directory) if n.startswith(prefix))
    except OSError:
        return []
    found = []
    for name in names:
        candidate = os.path.join(directory, name)
        try:
            fd = os.open(candidate, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            found.append(candidate)
        except (IOError, OSError):
            pass  # a live writer holds it
        finally:
            os.close(fd)
    return found


# ---------------------------------------------------------------- net.ipv4.conf
# Per-interface IPv4 settings (rp_filter), read and written like the knobs
# above, through /proc/sys of the current network namespace.

IPV4_CONF_DIR = "/proc/sys/net/ipv4/conf"


def ipv4_conf_path(interface, name):
    return os.path.join(IPV4_CONF_DIR, interface, name)


def read_ipv4_conf(interface, name):
    """The integer value of net.ipv4.conf.INTERFACE.NAME, or None when this
    namespace has no such interface (or no IPv4 on it)."""
    try:
        with open(ipv4_conf_path(interface, name)) as handle:
            return int(handle.read().strip())
    except (IOError, OSError, ValueError):
        return None


def write_ipv4_conf(interface, name, value):
    with open(ipv4_conf_path(interface, name), "w") as handle:
        handle.write("%s\n" % value)
