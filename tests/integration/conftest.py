# -*- coding: utf-8 -*-
"""Kernel integration tests: the modules run through ansible-playbook inside
throw-away network namespaces; `ip` and /proc are the oracle.

Every test runs once per Python interpreter that has pyroute2: the venv's
(pyroute2 from PyPI) and Debian's /usr/bin/python3 (python3-pyroute2).
"""

from __future__ import absolute_import, division, print_function

import contextlib
import json
import os
import shutil
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.dirname(sys.executable)


def _pyroute2_version(python):
    try:
        out = subprocess.run([python, "-c", "import pyroute2; print(pyroute2.__version__)"],
                             capture_output=True, text=True, timeout=60, check=False)
    except OSError:
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _interpreters():
    found = []
    for python, origin in ((sys.executable, "pypi"), ("/usr/bin/python3", "debian")):
        version = _pyroute2_version(python)
        if version:
            found.append(pytest.param(python, id="%s-pyroute2-%s" % (origin, version.replace("unknown", "0.7"))))
    return found


INTERPRETERS = _interpreters()


def pytest_collection_modifyitems(config, items):
    if os.geteuid() != 0:
        marker = pytest.mark.skip(reason="kernel integration tests need root (network namespaces)")
        if os.environ.get("CI"):
            raise pytest.UsageError("kernel integration tests need root; CI runs as root")
        for item in items:
            item.add_marker(marker)


@pytest.fixture(scope="session")
def collections_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("collections")
    os.makedirs(str(root / "ansible_collections" / "mptcp"))
    os.symlink(REPO, str(root / "ansible_collections" / "mptcp" / "linux"))
    return str(root)


@pytest.fixture(params=INTERPRETERS)
def python(request):
    return request.param


def shell_wrapper(path, *argv):
    """An executable that runs ARGV with its own arguments appended: how an
    inventory host gets an interpreter inside a namespace. Each word is
    quoted for the shell."""
    path.write_text('#!/bin/sh\nexec %s "$@"\n' % " ".join(shlex.quote(str(word)) for word in argv))
    path.chmod(0o755)
    return str(path)


def ip(*args, **kwargs):
    return subprocess.run(["ip"] + list(args), check=kwargs.get("check", True), capture_output=True, text=True).stdout


# Flags as iproute2 prints them in JSON: "signal": true, ..., and bits it
# does not know (laminar for iproute2 < 6.18) as hex "rawflags".
_RAW_FLAG_BITS = {0x20: "laminar"}


def _oracle_flags(item):
    flags = set(f for f in ("signal", "subflow", "backup", "fullmesh", "laminar") if item.get(f) is True)
    flags.update(item.get("flags", []))
    raw = int(item.get("rawflags", "0"), 16)
    flags.update(name for bit, name in _RAW_FLAG_BITS.items() if raw & bit)
    return sorted(flags)


class Netns(object):
    """A throw-away namespace with two veth pairs (lan0/lan0p, lan1/lan1p)
    carrying IPv4 and IPv6 addresses."""

    def __init__(self):
        self.name = "mptcp-it-%s" % uuid.uuid4().hex[:8]
        self.aliases = []
        ip("netns", "add", self.name)
        self.ip("link", "set", "lo", "up")
        for n in (0, 1):
            self.ip("link", "add", "name", "lan%d" % n, "type", "veth", "peer", "name", "lan%dp" % n)
            self.ip("addr", "add", "192.0.2.%d/24" % (10 + n) if n == 0 else "198.51.100.%d/24" % (10 + n), "dev", "lan%d" % n)
            self.ip("addr", "add", "2001:db8:%d::10/64" % n, "dev", "lan%d" % n, "nodad")
            self.ip("link", "set", "lan%d" % n, "up")
            self.ip("link", "set", "lan%dp" % n, "up")

    def ip(self, *args):
        return ip("-n", self.name, *args)

    def interpreter(self, directory, python):
        """An inventory interpreter that runs PYTHON inside this namespace."""
        return shell_wrapper(directory / ("python-in-%s" % self.name), "ip", "netns", "exec", self.name, python)

    def endpoints(self):
        """The oracle: `ip -j mptcp endpoint show`, normalized."""
        out = self.ip("-j", "mptcp", "endpoint", "show").strip()
        result = []
        for item in json.loads(out) if out else []:
            result.append({
                "id": item["id"],
                "address": item["address"],
                "port": item.get("port"),
                "dev": item.get("dev"),
                "flags": _oracle_flags(item),
            })
        return sorted(result, key=lambda e: e["id"])

    def limits(self):
        words = self.ip("mptcp", "limits", "show").split()
        values = dict(zip(words[::2], (int(w) for w in words[1::2])))
        return {"subflows": values["subflows"], "add_addr_accepted": values["add_addr_accepted"]}

    def sysctl(self):
        out = subprocess.run(["ip", "netns", "exec", self.name, "grep", "-r", ".", "/proc/sys/net/mptcp/"],
                             check=True, capture_output=True, text=True).stdout
        return dict((os.path.basename(line.split(":", 1)[0]), line.split(":", 1)[1]) for line in out.splitlines())

    def state(self):
        return {"endpoints": self.endpoints(), "limits": self.limits(), "sysctl": self.sysctl()}

    def alias(self):
        """A second name for this namespace, as `ip netns attach` makes one:
        /run/netns/NAME-b, a bind mount of /run/netns/NAME."""
        name = "%s-b%d" % (self.name, len(self.aliases))
        path = os.path.join("/run/netns", name)
        open(path, "w").close()
        self.aliases.append(name)
        subprocess.run(["mount", "--bind", os.path.join("/run/netns", self.name), path], check=True)
        return name

    def inode(self):
        return os.stat(os.path.join("/run/netns", self.name)).st_ino

    def delete(self):
        for name in self.aliases:
            ip("netns", "delete", name, check=False)  # unmounts and removes the name only
        ip("netns", "delete", self.name, check=False)


@pytest.fixture
def netns():
    ns = Netns()
    yield ns
    ns.delete()


class Runner(object):
    """Runs tasks through ansible-playbook on localhost and returns each
    task's result, in order."""

    def __init__(self, python, collections_path, tmp_path):
        self.python = python
        self.collections_path = collections_path
        self.tmp_path = tmp_path

    def write_play(self, tasks):
        """``tasks``: list of (module, args, options) where options may hold
        check_mode / diff / ignore_errors. Returns the playbook's path."""
        body = []
        for index, (module, args, options) in enumerate(tasks):
            task = {"name": "step %d" % index, module: args, "register": "step%d" % index,
                    "ignore_errors": options.get("ignore_errors", False)}
            for key in ("check_mode", "diff"):
                if key in options:
                    task[key] = options[key]
            body.append(task)
        path = self.tmp_path / ("play-%s.yml" % uuid.uuid4().hex[:6])
        path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": body}]))
        return path

    def write_inventory(self, wrap=None):
        """One local host whose interpreter is ``wrap`` (default: the tested Python)."""
        inventory = self.tmp_path / "inventory.yml"
        inventory.write_text(yaml.safe_dump({"all": {"hosts": {"target": dict(
            ansible_connection="local", ansible_python_interpreter=wrap or self.python)}}}))
        return inventory

    def env(self, **extra):
        return dict(os.environ, ANSIBLE_COLLECTIONS_PATH=self.collections_path,
                    ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_NOCOLOR="1", **extra)

    def play(self, tasks, wrap=None):
        """Run the tasks; returns the list of their results."""
        return self._run(self.write_play(tasks), wrap)

    def role(self, role, role_vars, check=False):
        """Apply ROLE with ROLE_VARS (in check mode with ``check``); returns
        the list of its tasks' results."""
        path = self.tmp_path / ("role-%s.yml" % uuid.uuid4().hex[:6])
        path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "vars": role_vars, "roles": [role]}]))
        return self._run(path, options=["--check"] if check else [])

    def _run(self, path, wrap=None, options=()):
        tasks, dummy = self.run_playbook(path, wrap, options)
        return [t["hosts"]["target"] for t in tasks if "target" in t["hosts"]]

    def run_playbook(self, path, wrap=None, options=()):
        """Run the playbook at PATH with the json callback; returns its first
        play's task entries ({"task": ..., "hosts": ...}) and stderr."""
        inventory = self.write_inventory(wrap)
        proc = subprocess.run([os.path.join(VENV_BIN, "ansible-playbook"), "-i", str(inventory), str(path)] + list(options),
                              capture_output=True, text=True, check=False,
                              env=self.env(ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"))
        try:
            report = json.loads(proc.stdout)
        except ValueError:
            raise AssertionError("ansible-playbook output is not JSON:\n%s\n%s" % (proc.stdout, proc.stderr))
        return report["plays"][0]["tasks"], proc.stderr


def proc_stat(pid):
    """The fields of /proc/PID/stat after the command name: [state, ppid, ...]."""
    with open("/proc/%s/stat" % pid) as handle:
        return handle.read().rsplit(")", 1)[1].split()


def descendants(pid):
    children = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(proc_stat(entry)[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_tree(pid):
    """SIGKILL ansible-playbook and everything below it (its workers call
    setsid, so a process group is not enough): freeze, collect, kill."""
    frozen = set()
    for dummy in range(3):
        for target in [pid] + descendants(pid):
            if target not in frozen:
                try:
                    os.kill(target, signal.SIGSTOP)
                except OSError:
                    pass
                frozen.add(target)
    for target in frozen:
        try:
            os.kill(target, signal.SIGKILL)
        except OSError:
            pass


STOP_AT_TASK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "callback_plugins")


def stopped(pid, timeout=60):
    """Wait until PID is stopped (state T); False if it is not by TIMEOUT."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if proc_stat(pid)[0] == "T":
                return True
        except OSError:
            return False
        time.sleep(0.01)
    return False


def playbook_killed_at(argv, env, text):
    """Run ansible-playbook (ARGV) and SIGKILL it and everything under it
    as it starts a task or handler whose name contains TEXT (None: never).
    The stop_at_task callback stops ansible-playbook there, before any host
    gets the task, so no worker of that task races the kill. Returns
    (killed, its output)."""
    env = dict(env, PYTHONUNBUFFERED="1")
    if text:
        env.update(MPTCP_TEST_STOP_AT=text,
                   ANSIBLE_CALLBACK_PLUGINS=":".join(filter(None, [STOP_AT_TASK, env.get("ANSIBLE_CALLBACK_PLUGINS")])),
                   ANSIBLE_CALLBACKS_ENABLED=",".join(filter(None, ["stop_at_task", env.get("ANSIBLE_CALLBACKS_ENABLED")])))
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    lines = []
    killed = False
    for line in proc.stdout:
        lines.append(line)
        if text and not killed and line.startswith(("TASK [", "RUNNING HANDLER [")) and text in line:
            if not stopped(proc.pid):
                proc.kill()
                raise AssertionError("ansible-playbook did not stop at %r:\n%s" % (text, "".join(lines)))
            kill_tree(proc.pid)
            killed = True
    proc.wait()
    return killed, "".join(lines)


@pytest.fixture(scope="session")
def module_path():
    """A directory that lets both interpreters run the collection's modules
    as plain processes (``python -m ansible_collections.mptcp.linux.plugins.
    modules.NAME ARGS_FILE``, what AnsiballZ does minus the zip): ``ansible``
    is the venv's ansible-core and ``ansible_collections/mptcp/linux`` this
    tree. Outside pytest's private tmp, so that an unprivileged user can run
    a module too."""
    path = tempfile.mkdtemp(prefix="mptcp-it-modules-")
    os.chmod(path, 0o755)
    import ansible
    os.symlink(os.path.dirname(ansible.__file__), os.path.join(path, "ansible"))
    os.makedirs(os.path.join(path, "ansible_collections", "mptcp"))
    os.symlink(REPO, os.path.join(path, "ansible_collections", "mptcp", "linux"))
    yield path
    shutil.rmtree(path)


def start_module(python, module_path, module, args, prefix=()):
    """Start mptcp.linux.MODULE with ARGS as its own process (PREFIX runs it,
    e.g. inside a namespace or as another user); module_result() waits for it."""
    args_file = os.path.join(module_path, "args-%s.json" % uuid.uuid4().hex)
    with open(args_file, "w") as handle:
        json.dump({"ANSIBLE_MODULE_ARGS": args}, handle)
    os.chmod(args_file, 0o644)
    return subprocess.Popen(list(prefix) + [python, "-m", "ansible_collections.mptcp.linux.plugins.modules." + module, args_file],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=module_path))


def module_result(proc, timeout=120):
    out, err = proc.communicate(timeout=timeout)
    try:
        return json.loads(out)
    except ValueError:
        raise AssertionError("the module printed no JSON (exit %s):\n%s\n%s" % (proc.returncode, out, err))


def run_module(python, module_path, module, args, prefix=()):
    return module_result(start_module(python, module_path, module, args, prefix))


AS_NOBODY = ("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups")


def flock_holders(inode):
    """Pids holding an flock on INODE, read from /proc/locks."""
    pids = []
    with open("/proc/locks") as handle:
        for line in handle:
            words = line.split()
            if len(words) > 5 and words[1] == "FLOCK" and words[5].endswith(":%d" % inode):
                pids.append(int(words[4]))
    return pids


@contextlib.contextmanager
def lock_held(netns, name=None):
    """Hold the MPTCP lock of NETNS from a shell, through NAME (default its
    own name), as `flock /proc/self/ns/net sleep 30`; yields the holder's pid."""
    holder = subprocess.Popen(["ip", "netns", "exec", name or netns.name, "flock", "/proc/self/ns/net", "sleep", "30"],
                              start_new_session=True)
    try:
        for dummy in range(200):
            if holder.pid in flock_holders(netns.inode()):
                break
            time.sleep(0.05)
        else:
            raise AssertionError("flock did not take the lock")
        yield holder.pid
    finally:
        os.killpg(holder.pid, signal.SIGTERM)
        holder.wait()


def stop_process(proc, timeout=10):
    """SIGTERM, then SIGKILL when PROC has not ended after TIMEOUT seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def files_under(directory):
    """Every file below DIRECTORY, as sorted relative paths."""
    directory = str(directory)
    return sorted(os.path.relpath(os.path.join(d, f), directory) for d, dummy, files in os.walk(directory) for f in files)


@pytest.fixture
def runner(python, collections_path, tmp_path):
    return Runner(python, collections_path, tmp_path)


@pytest.fixture
def role_runner(collections_path, tmp_path):
    """A Runner for the unit-writing roles, on the tests' own Python."""
    return Runner(sys.executable, collections_path, tmp_path)


def run_unit_role(runner, role, unit_dir_var, role_vars, check=False):
    """Apply ROLE with ROLE_VARS, its units written to a directory of the
    test (the role's internal variable UNIT_DIR_VAR); returns the first
    failed task's result (or None) and the files under that directory."""
    unit_dir = runner.tmp_path / "units"
    unit_dir.mkdir(exist_ok=True)
    results = runner.role(role, dict(role_vars, **{unit_dir_var: str(unit_dir)}), check=check)
    failed = [result for result in results if result.get("failed")]
    return (failed[0] if failed else None), files_under(unit_dir)


def assert_refused_before_writing(outcome, role_vars, expected):
    """OUTCOME of run_unit_role(): the role failed with every text of
    EXPECTED in its message, and wrote no unit."""
    failed, written = outcome
    assert failed is not None, "the role accepted %r" % role_vars
    for text in expected:
        assert text in failed["msg"], failed["msg"]
    assert written == []


def four_runs(runner, netns, module, args, snapshot):
    """Check mode, real, check again, real again, with the oracle read
    between them. Returns (results, states): states[0] before, [1] after the
    first check run, [2] after the real run, [3] after the second pair."""
    states = [snapshot()]
    results = []
    for check in (True, False, True, False):
        result = runner.play([(module, args, {"check_mode": check, "diff": True})])[0]
        assert not result.get("failed"), result
        results.append(result)
        if check is False or len(states) == 1:
            states.append(snapshot())
    return results, states


def assert_idempotent(results, states, expect_change=True):
    check1, real1, check2, real2 = results
    assert check1["changed"] is expect_change, check1
    assert states[1] == states[0], "check mode changed the kernel state"
    assert real1["changed"] is expect_change, real1
    assert check2["changed"] is False, check2
    assert real2["changed"] is False, real2
    assert states[3] == states[2], "the second real run changed the kernel state"
    assert real2["diff"]["before"] == real2["diff"]["after"]


def mount_namespace_interpreter(path, netns, python, setup):
    """An inventory interpreter that runs PYTHON inside NETNS (None: the
    current network namespace) and a private mount namespace prepared by
    SETUP, a list of commands (argv lists) run there first, e.g. a
    read-only /proc/sys or an overlay on /etc. Nothing of it reaches the
    machine's own mounts."""
    script = path.parent / (path.name + "-setup")
    lines = [" ".join(shlex.quote(word) for word in argv) for argv in setup]
    script.write_text("#!/bin/sh\nset -e\n" + "".join(line + "\n" for line in lines))
    script.chmod(0o755)
    command = (["ip", "netns", "exec", netns.name] if netns is not None else []) + [python]
    # sh runs the setup script ($0), then the interpreter with its arguments.
    return shell_wrapper(path, "unshare", "--mount", "--propagation", "private", "--",
                         "sh", "-c", '"$0" && exec "$@"', script, *command)


def overlay_etc(tmp_path):
    """(setup commands, upper directory): /etc behind an overlay whose upper
    directory receives every file written under /etc."""
    upper, work = tmp_path / "etc-upper", tmp_path / "etc-work"
    upper.mkdir()
    work.mkdir()
    return [["mount", "-t", "overlay", "overlay", "-o", "lowerdir=/etc,upperdir=%s,workdir=%s" % (upper, work), "/etc"]], upper


# sd_booted() true: /run/systemd/system is a directory (on a private tmpfs).
SYSTEMD_BOOTED = [["mount", "-t", "tmpfs", "tmpfs", "/run/systemd"], ["mkdir", "/run/systemd/system"]]
# /proc/sys read-only, as in an unprivileged container.
PROC_SYS_READ_ONLY = [["mount", "--bind", "/proc/sys", "/proc/sys"], ["mount", "-o", "remount,bind,ro", "/proc/sys"]]
