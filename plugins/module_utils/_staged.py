# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Private: install a set of files as one change, validated by their real
consumer before any of them goes live (mptcp.linux.staged_files).

A change is a transaction with a journal, ``<journal_dir>/<name>.json``,
written (atomically, fsynced) before anything else, and moved through
three phases:

``staged``
    The journal lists every file to change, what it was before (content,
    mode, owner), its staging file (``.<file>.staged-<name>``, next to it, so
    that the final rename stays on one filesystem) and the directories the
    change creates. Then the staging files are written and fsynced, and the
    validator runs in a private mount namespace that shows each directory of
    a changed file as it will be after the change (see ``view_operations``).
    No live file has changed yet.
``committing``
    The validator accepted the staged set; the staging files are renamed
    over their targets (and removed files unlinked), one by one.
``committed``
    Every file is in place; the consumer has not loaded them yet. The
    journal stays (``pending``) until ``acknowledge()`` (the module's
    ``state=loaded``) says the consumer loaded them.

A run that finds a journal repairs it before it reports anything, so an
interrupted transaction is never reported as unchanged:

- ``staged``: nothing live had changed. The staging files and the
  directories the transaction created are removed (``discarded``), and the
  run carries on with the files it was given.
- ``committing``: some files are new, some old, a mix nobody validated. The
  run validates the files it was given over the live tree (even when they
  are all in place already) and installs them (``completed``); when the
  consumer refuses that, every file of the interrupted transaction goes back
  to what it was before it (``rolled back``) and the run fails with the
  consumer's message.
- ``committed``: the files are in place and valid but were never loaded:
  the run reports a change (``pending``), so that the caller's reload runs.

Every path in this file is the caller's business: the functions raise
StagedError with a message that names the file and the reason.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import errno
import fcntl
import functools
import grp
import json
import os
import pwd
import re
import signal
import stat
import sys
import time

DEFAULT_JOURNAL_DIR = "/var/lib/mptcp-linux/staged"
JOURNAL_VERSION = 1
DEFAULT_MODE = 0o644
KILL_ENV = "MPTCP_STAGED_KILL_AT"

# Where a transaction can be cut short on purpose, for the tests that kill
# it there (KILL_ENV); N counts from 0, staging files in the order they are
# written, renames and removals in the order of the changed files.
KILL_STEPS = (
    ("journal", "the journal of a new transaction is written, no staging file yet"),
    ("stage-N", "halfway through writing the N-th staging file"),
    ("staged", "every staging file is written, the validator has not run"),
    ("validated", "the validator accepted the staged files"),
    ("committing", "the journal says committing, no file renamed yet"),
    ("rename-N", "the N-th changed file is in place (renamed or removed)"),
    ("renamed", "every file is in place, the journal still says committing"),
    ("committed", "the journal says committed, the module has not returned"),
    ("rollback-N", "a rollback put back its N-th file"),
    ("loaded", "state=loaded, before the journal is removed"),
)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_OCTAL_MODE = re.compile(r"[0-7]{3,4}")


class StagedError(Exception):
    """A request or a state that is refused; the message says why."""


class StagedFailure(Exception):
    """The transaction failed after it started (the validator refused the
    files, a rollback happened): the message and what the run found and did."""

    def __init__(self, msg, result):
        super(StagedFailure, self).__init__(msg)
        self.result = result


def kill_point(step, environ=None):
    """Test-only fault injection: SIGKILL this process at STEP when the
    environment variable MPTCP_STAGED_KILL_AT names it. Inert otherwise."""
    if (os.environ if environ is None else environ).get(KILL_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


# ------------------------------------------------------------ the request


class Desired(object):
    """One file of the request: ``path`` as given, ``real`` with the
    symbolic links of its directories resolved."""

    def __init__(self, path, real, state, content, mode, uid, gid):
        self.path = path
        self.real = real
        self.state = state
        self.content = content
        self.mode = mode
        self.uid = uid
        self.gid = gid


def check_name(name):
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise StagedError("name: %r is not a transaction name (letters, digits, '.', '_' and '-', "
                          "starting with a letter or digit, at most 64)" % (name,))
    return name


def parse_mode(value):
    """An octal mode given as a string ('0644') or a number (YAML's 0644)."""
    if isinstance(value, bool):
        raise ValueError(value)
    if isinstance(value, int):
        if 0 <= value <= 0o7777:
            return value
        raise ValueError(value)
    text = str(value)
    if not _OCTAL_MODE.fullmatch(text):
        raise ValueError(value)
    return int(text, 8)


def _account(value, lookup, attribute):
    if value is None:
        return None
    text = str(value)
    if text.isdigit():
        return int(text)
    return getattr(lookup(text), attribute)


def resolve(path):
    """PATH with its existing directories' symbolic links resolved (the
    file itself is not followed: the module refuses a link there)."""
    head, tail = os.path.split(path)
    missing = []
    while head != "/" and not os.path.exists(head):
        head, part = os.path.split(head)
        missing.insert(0, part)
    return os.path.join(os.path.realpath(head), *(missing + [tail]))


def desired_files(files, journal_dir):
    """The request's files, checked: every problem is named with its field
    (``files[2].mode: ...``) in one StagedError."""
    problems = []
    result = []
    seen = {}
    journal_real = resolve(journal_dir)
    for index, item in enumerate(files or []):
        where = "files[%d]" % index
        if not isinstance(item, dict):
            problems.append("%s: %r is not a dictionary" % (where, item))
            continue
        path = item.get("path")
        state = item.get("state") or "present"
        content = item.get("content")
        real = None
        if not isinstance(path, str) or not path:
            problems.append("%s.path: is required" % where)
        elif not path.startswith("/") or os.path.normpath(path) != path or path.endswith("/"):
            problems.append("%s.path: %r is not a normalized absolute path" % (where, path))
        elif os.path.dirname(path) == "/":
            problems.append("%s.path: %r is directly in /, which cannot be staged" % (where, path))
        else:
            real = resolve(path)
            if real in seen:
                problems.append("%s.path: %r is the same file as files[%d].path" % (where, path, seen[real]))
            elif real == journal_real or real.startswith(journal_real.rstrip("/") + "/"):
                problems.append("%s.path: %r is in the journal directory %s" % (where, path, journal_dir))
            seen.setdefault(real, index)
        if state not in ("present", "absent"):
            problems.append("%s.state: %r is not present or absent" % (where, state))
        data = None
        if state == "present":
            if not isinstance(content, str):
                problems.append("%s.content: is required (a string) when state is present" % where)
            else:
                try:
                    data = content.encode("utf-8")
                except UnicodeError:
                    problems.append("%s.content: is not valid Unicode" % where)
        elif content is not None:
            problems.append("%s.content: a file with state absent has no content" % where)
        mode = uid = gid = None
        try:
            mode = None if item.get("mode") is None else parse_mode(item.get("mode"))
        except ValueError:
            problems.append("%s.mode: %r is not an octal mode such as '0644'" % (where, item.get("mode")))
        try:
            uid = _account(item.get("owner"), pwd.getpwnam, "pw_uid")
        except KeyError:
            problems.append("%s.owner: no user %r on this host" % (where, item.get("owner")))
        try:
            gid = _account(item.get("group"), grp.getgrnam, "gr_gid")
        except KeyError:
            problems.append("%s.group: no group %r on this host" % (where, item.get("group")))
        result.append(Desired(path, real, state, data, mode, uid, gid))
    if problems:
        raise StagedError("; ".join(problems))
    return result


# ------------------------------------------------------------ live files


class Live(object):
    def __init__(self, exists, content=None, mode=None, uid=None, gid=None):
        self.exists = exists
        self.content = content
        self.mode = mode
        self.uid = uid
        self.gid = gid

    def to_journal(self):
        if not self.exists:
            return None
        return {"content": base64.b64encode(self.content).decode("ascii"),
                "mode": self.mode, "uid": self.uid, "gid": self.gid}

    @classmethod
    def from_journal(cls, data):
        if data is None:
            return cls(False)
        return cls(True, base64.b64decode(data["content"]), data["mode"], data["uid"], data["gid"])


def read_live(path):
    """What PATH is now. Refuses a symbolic link or anything but a file."""
    try:
        info = os.lstat(path)
    except OSError as err:
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return Live(False)
        raise StagedError("cannot read %s: %s" % (path, err.strerror))
    if stat.S_ISLNK(info.st_mode):
        raise StagedError("%s is a symbolic link; give the path of the file it points to" % path)
    if not stat.S_ISREG(info.st_mode):
        raise StagedError("%s exists and is not a regular file" % path)
    with open(path, "rb") as handle:
        content = handle.read()
    return Live(True, content, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid)


# ------------------------------------------------------------ the plan


class Change(object):
    """What one file of the request needs: ``action`` is created, updated
    (content), attributes (mode or owner only), removed or unchanged;
    ``mode``/``uid``/``gid`` are what a present file ends up with."""

    def __init__(self, desired, live, action, mode=None, uid=None, gid=None):
        self.desired = desired
        self.live = live
        self.action = action
        self.mode = mode
        self.uid = uid
        self.gid = gid

    @property
    def path(self):
        return self.desired.real


def plan_one(desired, live):
    if desired.state == "absent":
        return Change(desired, live, "removed" if live.exists else "unchanged")
    if not live.exists:
        return Change(desired, live, "created", DEFAULT_MODE if desired.mode is None else desired.mode,
                      os.geteuid() if desired.uid is None else desired.uid,
                      os.getegid() if desired.gid is None else desired.gid)
    mode = live.mode if desired.mode is None else desired.mode
    uid = live.uid if desired.uid is None else desired.uid
    gid = live.gid if desired.gid is None else desired.gid
    if live.content != desired.content:
        action = "updated"
    elif (mode, uid, gid) != (live.mode, live.uid, live.gid):
        action = "attributes"
    else:
        action = "unchanged"
    return Change(desired, live, action, mode, uid, gid)


def plan(desired, reader=read_live):
    return [plan_one(item, reader(item.real)) for item in desired]


def staging_path(path, name):
    """Next to PATH, hidden (a leading dot: no `*` glob of nginx or the
    shell matches it) and named for the transaction."""
    return os.path.join(os.path.dirname(path), ".%s.staged-%s" % (os.path.basename(path), name))


def missing_directories(paths):
    """The directories that must be created for PATHS, parents first."""
    found = []
    for path in paths:
        head = os.path.dirname(path)
        chain = []
        while head != "/" and not os.path.isdir(head):
            chain.insert(0, head)
            head = os.path.dirname(head)
        for directory in chain:
            if directory not in found:
                found.append(directory)
    return found


def _text(content):
    if content is None:
        return ""
    return content.decode("utf-8", "replace")


def diff_of(change):
    before = _text(change.live.content) if change.live.exists else ""
    after = _text(change.desired.content) if change.desired.state == "present" else ""
    if change.action == "attributes":
        before = "mode %04o, owner %d:%d\n" % (change.live.mode, change.live.uid, change.live.gid)
        after = "mode %04o, owner %d:%d\n" % (change.mode, change.uid, change.gid)
    return {"before_header": change.desired.path, "after_header": change.desired.path,
            "before": before, "after": after}


def command_of(change, name):
    if change.action == "removed":
        return "rm -f %s" % change.path
    return "mv -f %s %s  # mode %04o, owner %d:%d" % (staging_path(change.path, name), change.path,
                                                      change.mode, change.uid, change.gid)


# ------------------------------------------------------------ disk helpers


def fsync_directory(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path, content, mode, uid, gid, kill_step=None):
    """Write a new file at PATH (replacing a stale one), fsynced, with its
    final owner and mode. KILL_STEP: the test hook, halfway through."""
    try:
        os.unlink(path)
    except OSError as err:
        if err.errno != errno.ENOENT:
            raise
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
    try:
        view = memoryview(content)
        if kill_step:
            os.write(fd, view[:len(view) // 2])
            kill_point(kill_step)
        while view:
            view = view[os.write(fd, view):]
        os.fchown(fd, uid, gid)
        os.fchmod(fd, mode)
        os.fsync(fd)
    finally:
        os.close(fd)


def unlink_quietly(path):
    try:
        os.unlink(path)
        return True
    except OSError as err:
        if err.errno in (errno.ENOENT, errno.ENOTDIR):
            return False
        raise


def rmdir_quietly(path):
    try:
        os.rmdir(path)
        return True
    except OSError:
        return False


# ------------------------------------------------------------ the validator's view


def view_operations(final, scratch, hidden=()):
    """How the validator's private mount namespace shows the staged tree.

    FINAL maps each changed path to the file to show there (its staging
    file) or to None (removed: not shown at all). Every directory holding a
    changed path is replaced by a copy on a tmpfs mounted at SCRATCH: an
    empty file or directory per entry, with the real entry bind-mounted
    onto it, the staging file bind-mounted at its final name, and removed
    files and the names in HIDDEN (the staging files) left out. So a
    validator reading a directory (nginx's ``include conf.d/*.conf``) sees
    exactly the files of the change. Directories are mounted parents first.

    Returns the operations for the helper: ["tmpfs", path], ["mkdir", path,
    mode, uid, gid], ["file", path], ["symlink", target, path] and ["bind",
    source, target]."""
    hidden = set(hidden)
    directories = sorted(set(os.path.dirname(path) for path in final), key=lambda d: (d.count("/"), d))
    operations = [["tmpfs", scratch]]
    covers = []
    for number, directory in enumerate(directories):
        shadow = os.path.join(scratch, str(number))
        info = os.stat(directory)
        operations.append(["mkdir", shadow, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid])
        replaced = dict((os.path.basename(path), source) for path, source in final.items()
                        if os.path.dirname(path) == directory)
        names = set(os.listdir(directory)) | set(replaced)
        for entry in sorted(names):
            real = os.path.join(directory, entry)
            if real in hidden or (entry in replaced and replaced[entry] is None):
                continue
            source = replaced.get(entry) or real
            target = os.path.join(shadow, entry)
            info = os.lstat(source)
            if stat.S_ISLNK(info.st_mode):
                operations.append(["symlink", os.readlink(source), target])
                continue
            if stat.S_ISDIR(info.st_mode):
                operations.append(["mkdir", target, stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid])
            else:
                operations.append(["file", target])
            operations.append(["bind", source, target])
        covers.append(["bind", shadow, directory])
    return operations + covers


# Runs in the validator's process: a private mount namespace, the view, then
# exec of the validator. Errors go to the status descriptor, which exec
# closes, so the module tells a view that failed from a validator that did.
VIEW_HELPER = r"""
import ctypes, fcntl, json, os, sys
status, operations, argv = int(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[3:]
def fail(what, code):
    os.write(status, ("%s: %s" % (what, os.strerror(code))).encode("utf-8", "replace"))
    os._exit(127)
libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
def mount(source, target, fstype, flags, data, what):
    encode = lambda text: None if text is None else text.encode("utf-8", "surrogateescape")
    if libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data)) != 0:
        fail(what, ctypes.get_errno())
if libc.unshare(0x00020000) != 0:  # CLONE_NEWNS
    fail("unshare(CLONE_NEWNS) for a private mount namespace", ctypes.get_errno())
mount(None, "/", None, 16384 | 262144, None, "mount --make-rprivate /")
for op in operations:
    try:
        if op[0] == "tmpfs":
            mount("tmpfs", op[1], "tmpfs", 0, "mode=0700", "mount -t tmpfs tmpfs " + op[1])
        elif op[0] == "mkdir":
            os.mkdir(op[1])
            os.chown(op[1], op[3], op[4])
            os.chmod(op[1], op[2])
        elif op[0] == "file":
            os.close(os.open(op[1], os.O_WRONLY | os.O_CREAT, 0o600))
        elif op[0] == "symlink":
            os.symlink(op[1], op[2])
        elif op[0] == "bind":
            mount(op[1], op[2], None, 4096 | 16384, None, "mount --rbind %s %s" % (op[1], op[2]))
    except OSError as err:
        fail(" ".join(str(part) for part in op), err.errno)
fcntl.fcntl(status, fcntl.F_SETFD, fcntl.FD_CLOEXEC)
try:
    os.execvp(argv[0], argv)
except OSError as err:
    fail("cannot run " + argv[0], err.errno)
"""


class Validation(object):
    def __init__(self, argv, rc, stdout, stderr, refused_lines, view_error=None):
        self.argv = argv
        self.rc = rc
        self.stdout = stdout
        self.stderr = stderr
        self.refused_lines = refused_lines
        self.view_error = view_error

    @property
    def ok(self):
        return self.view_error is None and self.rc == 0 and not self.refused_lines

    def as_result(self):
        return {"argv": self.argv, "rc": self.rc, "stdout": self.stdout, "stderr": self.stderr,
                "refused_lines": self.refused_lines}

    def reason(self):
        if self.view_error:
            return "could not run %s on the staged files (in a private mount namespace, which needs root): %s" % (
                self.argv[0], self.view_error)
        said = (self.stderr.strip() + "\n" + self.stdout.strip()).strip()
        if self.rc == 0:
            return "%s exited 0, but its output has a line the request refuses: %s" % (
                self.argv[0], " | ".join(self.refused_lines))
        return said or "%s exited with status %d and printed nothing" % (self.argv[0], self.rc)


def run_validator(run_command, argv, operations, refuse=()):
    """Run ARGV (no shell) with RUN_COMMAND (the module's run_command) in a
    private mount namespace arranged by OPERATIONS (view_operations(); none:
    run it as it is)."""
    # Bytes out, decoded here with replacement: a validator's message is
    # reported whatever its encoding. Arguments go as they are (no ~ or $VAR
    # expansion), and a program that cannot run is reported, not a failure.
    options = dict(cwd="/", encoding=None, expand_user_and_vars=False, handle_exceptions=False)
    if operations:
        read_end, write_end = os.pipe()
        command = [sys.executable, "-I", "-c", VIEW_HELPER, str(write_end), json.dumps(operations)] + list(argv)
        try:
            rc, stdout, stderr = run_command(command, pass_fds=(write_end,), **options)
        finally:
            os.close(write_end)
        with os.fdopen(read_end, "rb") as handle:
            view_error = handle.read().decode("utf-8", "replace") or None
    else:
        try:
            rc, stdout, stderr = run_command(list(argv), **options)
        except OSError as err:
            return Validation(list(argv), None, "", "", [], "cannot run %s: %s" % (argv[0], err.strerror))
        view_error = None
    stdout = stdout.decode("utf-8", "replace")
    stderr = stderr.decode("utf-8", "replace")
    patterns = [re.compile(pattern) for pattern in refuse]
    refused = [line for line in (stderr + "\n" + stdout).splitlines() if any(p.fullmatch(line) for p in patterns)]
    return Validation(list(argv), rc, stdout, stderr, refused, view_error)


# ------------------------------------------------------------ the journal


class Journal(object):
    """``<journal_dir>/<name>.json``: the transaction's phase and files."""

    def __init__(self, journal_dir, name):
        self.directory = journal_dir
        self.name = name
        self.path = os.path.join(journal_dir, name + ".json")
        self.tmp = os.path.join(journal_dir, ".%s.json.tmp" % name)

    def load(self):
        try:
            with open(self.path) as handle:
                data = json.load(handle)
        except (IOError, OSError) as err:
            if err.errno == errno.ENOENT:
                return None
            raise StagedError("cannot read the journal %s: %s" % (self.path, err.strerror))
        except ValueError as err:
            raise StagedError("the journal %s is not valid JSON (%s); check the files it names and remove it"
                              % (self.path, err))
        if not isinstance(data, dict) or data.get("version") != JOURNAL_VERSION \
                or data.get("phase") not in ("staged", "committing", "committed"):
            raise StagedError("the journal %s is not a version %d journal of this module; check the files it names "
                              "and remove it" % (self.path, JOURNAL_VERSION))
        return data

    def save(self, data):
        data = dict(data, version=JOURNAL_VERSION, name=self.name,
                    time=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        write_file(self.tmp, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"), 0o600, os.geteuid(), os.getegid())
        os.rename(self.tmp, self.path)
        fsync_directory(self.directory)

    def remove(self):
        removed = unlink_quietly(self.path)
        fsync_directory(self.directory)
        return removed

    def remove_tmp(self):
        unlink_quietly(self.tmp)


class DirectoryLock(object):
    """An exclusive flock on the journal directory for the whole run."""

    def __init__(self, directory, timeout):
        self.directory = directory
        self.timeout = timeout
        self.fd = None

    def __enter__(self):
        self.fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY)
        deadline = time.time() + self.timeout
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except (IOError, OSError) as err:
                if err.errno not in (errno.EAGAIN, errno.EACCES) or time.time() >= deadline:
                    os.close(self.fd)
                    raise StagedError("another staged_files run holds the lock on %s (waited %d s)"
                                      % (self.directory, self.timeout))
                time.sleep(0.1)

    def __exit__(self, *exc):
        os.close(self.fd)
        return False


# ------------------------------------------------------------ the transaction


class Transaction(object):
    def __init__(self, name, journal_dir=DEFAULT_JOURNAL_DIR, files=None, validate=None, refuse=(),
                 pending=True, directory_mode=0o755, check_mode=False, lock_timeout=60, run_command=None, runner=None):
        """RUN_COMMAND (the module's run_command) runs VALIDATE through
        run_validator(); RUNNER, a function like run_validator() without its
        first argument, replaces both (tests)."""
        self.name = check_name(name)
        self.journal = Journal(journal_dir, name)
        self.journal_dir = journal_dir
        self.files = files
        self.validate = list(validate or [])
        self.refuse = list(refuse or [])
        for pattern in self.refuse:
            try:
                re.compile(pattern)
            except re.error as err:
                raise StagedError("refuse: %r is not a regular expression: %s" % (pattern, err))
        self.pending = pending
        self.directory_mode = directory_mode
        self.check_mode = check_mode
        self.lock_timeout = lock_timeout
        self.runner = runner or functools.partial(run_validator, run_command)
        self.result = {"changed": False, "files": {}, "commands": [], "pending": False, "journal": "absent",
                       "journal_path": self.journal.path, "repaired": None, "validated": None, "diff": []}

    # -- public

    def apply(self):
        """Bring the files to the request (state=present)."""
        desired = desired_files(self.files, self.journal_dir)
        if not os.path.isdir(self.journal_dir):
            # No journal, so nothing to repair: decide without writing.
            changes = plan(desired)
            if all(change.action == "unchanged" for change in changes) or self.check_mode:
                self.result["pending"] = self.pending and any(change.action != "unchanged" for change in changes)
                return self._report(changes, self._summary(changes))
            os.makedirs(self.journal_dir, 0o700)
        with DirectoryLock(self.journal_dir, self.lock_timeout):
            return self._apply(desired)

    def acknowledge(self):
        """The consumer loaded the installed files (state=loaded)."""
        if not os.path.isdir(self.journal_dir):
            return self._finish("nothing was pending for %s" % self.name)
        with DirectoryLock(self.journal_dir, self.lock_timeout):
            journal = self.journal.load()
            if journal is None:
                return self._finish("nothing was pending for %s" % self.name)
            if journal["phase"] != "committed":
                raise StagedError("the transaction %s was interrupted while %s (journal %s); run the module with "
                                  "state=present and the files first, which completes it or rolls it back"
                                  % (self.name, journal["phase"], self.journal.path))
            self.result.update(changed=True, journal="cleared")
            if not self.check_mode:
                kill_point("loaded")
                self.journal.remove()
            return self._finish("the consumer loaded the files of %s; journal cleared" % self.name)

    # -- the run

    def _apply(self, desired):
        found = self.journal.load()
        if not self.check_mode:
            self.journal.remove_tmp()
        load_owed = False
        interrupted = None
        if found is not None:
            load_owed = found["phase"] != "staged" or bool(found.get("load_owed"))
            if found["phase"] == "staged":
                self._discard(found)
            elif found["phase"] == "committing":
                interrupted = found
                if not self.check_mode:
                    for entry in found["files"]:
                        unlink_quietly(entry["staging"])
        changes = plan(desired)
        changed = [change for change in changes if change.action != "unchanged"]
        if not changed and interrupted is None:
            return self._settle(changes, found, load_owed)
        if self.check_mode:
            if interrupted is not None:
                self.result["repaired"] = {"found": "committing", "action": "would complete or roll back",
                                           "files": [entry["path"] for entry in interrupted["files"]]}
            self.result.update(pending=self.pending)
            return self._report(changes, self._summary(changes))
        return self._transact(changes, changed, interrupted, load_owed)

    def _settle(self, changes, found, load_owed):
        """Nothing to write: report what a journal found says."""
        if load_owed and self.pending:
            if not self.check_mode and (found is None or found["phase"] != "committed"):
                self.journal.save({"phase": "committed", "load_owed": True, "files": []})
            self.result.update(changed=True, pending=True, journal="pending")
            return self._report(changes, "the files of %s are in place but were never loaded by their consumer"
                                % self.name)
        if found is not None and not self.check_mode:
            self.journal.remove()
        if self.result["repaired"]:
            self.result["changed"] = True
        return self._report(changes, self._summary(changes))

    def _discard(self, found):
        """A transaction killed before any live file changed: remove its
        staging files and the directories it created."""
        removed = []
        if not self.check_mode:
            for entry in found["files"]:
                if unlink_quietly(entry["staging"]):
                    removed.append(entry["staging"])
            for directory in reversed(found.get("created_dirs", [])):
                if rmdir_quietly(directory):
                    removed.append(directory)
            self.journal.remove()
        self.result["repaired"] = {"found": "staged", "action": "would discard" if self.check_mode else "discarded",
                                   "files": [entry["path"] for entry in found["files"]], "removed": removed}

    def _transact(self, changes, changed, interrupted, load_owed):
        entries, created_dirs = self._journal_entries(changed, interrupted)
        # After an interrupted commit the live files are already a mix that
        # nobody validated: this transaction is "committing" from the start,
        # so that a kill before it ends is repaired as one (validate or roll
        # back), never discarded as if nothing had changed.
        journal = {"phase": "staged" if interrupted is None else "committing", "load_owed": load_owed or bool(interrupted),
                   "files": entries, "created_dirs": created_dirs}
        self.journal.save(journal)
        kill_point("journal")
        new_dirs = [d for d in created_dirs if not os.path.isdir(d)]
        for directory in new_dirs:
            os.mkdir(directory, self.directory_mode)
            os.chmod(directory, self.directory_mode)
        staging = {}
        for change in changed:
            if change.action == "removed":
                continue
            kill_step = "stage-%d" % len(staging)
            staging[change.path] = staging_path(change.path, self.name)
            kill_step = kill_step if os.environ.get(KILL_ENV) == kill_step else None
            write_file(staging[change.path], change.desired.content, change.mode, change.uid, change.gid, kill_step)
        kill_point("staged")
        if self.validate:
            final = dict((change.path, staging.get(change.path)) for change in changed)
            scratch_view = view_operations(final, self.journal_dir, staging.values()) if final else []
            validation = self.runner(self.validate, scratch_view, self.refuse)
            self.result["validated"] = validation.as_result()
            if not validation.ok:
                self._refused(validation, changes, staging, new_dirs, interrupted, journal)
        kill_point("validated")
        journal["phase"] = "committing"
        journal["load_owed"] = True
        self.journal.save(journal)
        kill_point("committing")
        for index, change in enumerate(changed):
            if change.action == "removed":
                unlink_quietly(change.path)
            else:
                os.rename(staging[change.path], change.path)
            kill_point("rename-%d" % index)
        for directory in sorted(set(os.path.dirname(change.path) for change in changed)):
            fsync_directory(directory)
        kill_point("renamed")
        if interrupted is not None:
            self.result["repaired"] = {"found": "committing", "action": "completed",
                                       "files": [entry["path"] for entry in interrupted["files"]]}
        self.result["changed"] = True
        if self.pending:
            self.journal.save({"phase": "committed", "load_owed": True,
                               "files": [{"path": entry["path"]} for entry in entries]})
            kill_point("committed")
            self.result.update(pending=True, journal="pending")
        else:
            self.journal.remove()
        return self._report(changes, self._summary(changes))

    def _journal_entries(self, changed, interrupted):
        """The journal's files: each changed file with what it was before
        and, from an interrupted commit, its files with what they were
        before it (the state to roll back to), changed now or not."""
        entries = []
        before = {}
        created = []
        if interrupted is not None:
            for entry in interrupted["files"]:
                before[entry["path"]] = entry["before"]
            created = list(interrupted.get("created_dirs", []))
        for change in changed:
            entries.append({"path": change.path, "staging": staging_path(change.path, self.name),
                            "action": change.action,
                            "before": before.pop(change.path) if change.path in before else change.live.to_journal()})
        for path, state in before.items():
            entries.append({"path": path, "staging": staging_path(path, self.name), "action": "unchanged",
                            "before": state})
        for directory in missing_directories([c.path for c in changed if c.action != "removed"]):
            if directory not in created:
                created.append(directory)
        return entries, created

    def _refused(self, validation, changes, staging, new_dirs, interrupted, journal):
        """The validator refused: remove the staging files and the new
        directories; after an interrupted commit, put back every file of
        it. Then fail with the validator's words."""
        for path in staging.values():
            unlink_quietly(path)
        rolled_back = []
        if interrupted is not None:
            rolled_back = self._roll_back(journal["files"])
            new_dirs = journal["created_dirs"]
        for directory in reversed(new_dirs):
            rmdir_quietly(directory)
        if journal["load_owed"] and self.pending:
            self.journal.save({"phase": "committed", "load_owed": True, "files": []})
            self.result.update(pending=True, journal="pending")
        else:
            self.journal.remove()
        # What the refused change would have done; only a rollback or a
        # discarded leftover changed anything.
        for change in changes:
            self.result["files"][change.desired.path] = change.action
            if change.action != "unchanged":
                self.result["diff"].append(diff_of(change))
        self.result["changed"] = bool(rolled_back) or self.result["repaired"] is not None
        command = " ".join(validation.argv)
        if interrupted is not None:
            self.result["repaired"] = {"found": "committing", "action": "rolled back",
                                       "files": [entry["path"] for entry in interrupted["files"]],
                                       "restored": rolled_back}
            msg = ("%s refused the files of %s; an interrupted earlier change was rolled back (%s), "
                   "so the files are as they were before it: %s"
                   % (command, self.name, ", ".join(rolled_back) or "nothing had changed", validation.reason()))
        else:
            msg = "%s refused the staged files of %s, so no live file was changed: %s" % (
                command, self.name, validation.reason())
        self.result["msg"] = msg
        raise StagedFailure(msg, self.result)

    def _roll_back(self, entries):
        restored = []
        for entry in entries:
            before = Live.from_journal(entry["before"])
            live = read_live(entry["path"])
            if (live.exists, live.content, live.mode, live.uid, live.gid) == \
                    (before.exists, before.content, before.mode, before.uid, before.gid):
                continue
            if before.exists:
                write_file(entry["staging"], before.content, before.mode, before.uid, before.gid)
                os.rename(entry["staging"], entry["path"])
            else:
                unlink_quietly(entry["path"])
            fsync_directory(os.path.dirname(entry["path"]))
            kill_point("rollback-%d" % len(restored))
            restored.append(entry["path"])
        return restored

    # -- reporting

    def _summary(self, changes):
        counts = {}
        for change in changes:
            counts[change.action] = counts.get(change.action, 0) + 1
        parts = ["%d %s" % (counts[a], a) for a in ("created", "updated", "attributes", "removed", "unchanged")
                 if counts.get(a)]
        verb = "would be" if self.check_mode else "were"
        text = "files of %s: %s" % (self.name, ", ".join(parts) or "none")
        if any(change.action != "unchanged" for change in changes):
            text = "%s (%s %s)" % (text, verb, "validated and installed" if self.validate else "installed")
        if self.result["pending"]:
            text += "; pending until the consumer has loaded them (state=loaded)"
        if self.result["repaired"]:
            text += "; an interrupted change was %s" % self.result["repaired"]["action"]
        return text

    def _report(self, changes, msg):
        for change in changes:
            self.result["files"][change.desired.path] = change.action
            if change.action != "unchanged":
                self.result["changed"] = True
                self.result["commands"].append(command_of(change, self.name))
                self.result["diff"].append(diff_of(change))
        if self.result["repaired"] or self.result["pending"]:
            self.result["changed"] = True
        return self._finish(msg)

    def _finish(self, msg):
        self.result["msg"] = msg
        return self.result
