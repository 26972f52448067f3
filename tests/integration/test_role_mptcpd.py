# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcpd role on this machine, and the real mptcpd it configures.

The role runs through ansible-playbook against a host whose interpreter lives
in a throw-away network namespace and a private mount namespace in which
/etc/mptcpd and /etc/sysctl.d are empty temporary directories: the role
writes its real files and the real sysctl, and touches nothing of the
machine. systemd is not PID 1 here, so `mptcpd_manage_service: false`; the
service, its restart and the endpoint flush are proven by the `mptcpd`
Molecule scenario.

Then Debian's mptcpd runs inside the namespace, reading the configuration the
role wrote, and `ip -j mptcp endpoint show` is the oracle: the addresses of
the namespace become endpoints with the configured flags.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import subprocess
import time

import pytest
import yaml

from conftest import Runner, stop_process

MPTCPD = "/usr/libexec/mptcpd"
PYTHON = "/usr/bin/python3"
HEADER = (
    "# Managed by the mptcp.linux.mptcpd role: local changes are overwritten.\n"
    "# mptcp.service starts mptcpd with --log=journal, which takes precedence\n"
    "# over a log= setting in this file.\n"
    "[core]\n"
)
SYSCTL_HEADER = "# Managed by Ansible (mptcp.linux.mptcp_sysctl). Local edits are overwritten.\n"
# On this machine no systemd and no package installation.
OFFLINE = {"mptcpd_install_packages": False, "mptcpd_manage_service": False}


def _plugin_dir():
    for root in ("/usr/lib", "/usr/lib64"):
        for sub in sorted(os.listdir(root)) if os.path.isdir(root) else []:
            for candidate in (os.path.join(root, sub), os.path.join(root, sub, "mptcpd")):
                if os.path.basename(candidate) == "mptcpd" and os.path.isdir(candidate):
                    return candidate
    return None


PLUGIN_DIR = _plugin_dir()


@pytest.fixture(autouse=True)
def mptcpd_installed():
    if os.path.exists(MPTCPD) and PLUGIN_DIR and os.path.exists(PYTHON):
        return
    message = "needs Debian's mptcpd and mptcpd-plugins (apt-get install mptcpd mptcpd-plugins)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


class Host(object):
    """A namespace plus private /etc/mptcpd and /etc/sysctl.d, and a way to
    apply the role to it."""

    def __init__(self, netns, collections_path, tmp_path):
        self.netns = netns
        self.tmp_path = tmp_path
        self.etc_mptcpd = tmp_path / "etc-mptcpd"
        self.sysctl_d = tmp_path / "sysctl.d"
        self.etc_mptcpd.mkdir()
        self.sysctl_d.mkdir()
        self.runner = Runner(PYTHON, collections_path, tmp_path)
        wrapper = tmp_path / "python-in-host"
        # Arguments go through "$@"; nothing is spliced into the script.
        wrapper.write_text(
            "#!/bin/sh\n"
            "exec unshare --mount --propagation private -- sh -c '"
            'mount --bind "$1" /etc/mptcpd && mount --bind "$2" /etc/sysctl.d && '
            'ns=$3 && shift 3 && exec ip netns exec "$ns" "$0" "$@"'
            "' %s %s %s %s \"$@\"\n" % (PYTHON, self.etc_mptcpd, self.sysctl_d, netns.name))
        wrapper.chmod(0o755)
        self.wrapper = str(wrapper)

    def apply(self, role_vars, check=False):
        """Run the role; returns each task's result, in order, and the failed one, if any."""
        play = self.tmp_path / "play.yml"
        play.write_text(yaml.safe_dump([{
            "hosts": "all", "gather_facts": False,
            "roles": [{"role": "mptcp.linux.mptcpd", "vars": dict(OFFLINE, **role_vars)}],
        }]))
        tasks, dummy = self.runner.run_playbook(play, self.wrapper, ["--diff"] + (["--check"] if check else []))
        results = [dict(t["hosts"]["target"], task=t["task"]["name"]) for t in tasks]
        failed = [r for r in results if r.get("failed")]
        return results, (failed[0] if failed else None)

    def converge(self, role_vars, check=False):
        results, failed = self.apply(role_vars, check)
        assert failed is None, failed
        return any(r.get("changed") for r in results)

    def config(self):
        path = self.etc_mptcpd / "mptcpd.conf"
        return path.read_text() if path.exists() else None

    def sysctl_file(self):
        path = self.sysctl_d / "90-mptcpd.conf"
        return path.read_text() if path.exists() else None

    def set_path_manager(self, value):
        subprocess.run(["ip", "netns", "exec", self.netns.name, "sysctl", "-qw", "net.mptcp.path_manager=" + value],
                       check=True)

    def path_manager(self):
        return self.netns.sysctl()["path_manager"].strip()

    def state(self):
        return {"config": self.config(), "sysctl.d": self.sysctl_file(), "path_manager": self.path_manager(),
                "files": sorted(os.listdir(str(self.etc_mptcpd)) + os.listdir(str(self.sysctl_d)))}


@pytest.fixture
def host(netns, collections_path, tmp_path):
    return Host(netns, collections_path, tmp_path)


def test_check_mode_then_real_then_nothing_to_do(host):
    """Check mode, real, check again, real again, the oracle read between them."""
    before = host.state()
    assert before["config"] is None and before["sysctl.d"] is None
    assert host.converge({}, check=True) is True
    assert host.state() == before, "check mode wrote something"
    assert host.converge({}) is True
    after = host.state()
    assert after["config"] == HEADER + (
        "plugin-dir=%s\n"
        "path-manager=addr_adv\n"
        "addr-flags=subflow\n"
        "notify-flags=existing,skip_link_local,skip_loopback\n" % PLUGIN_DIR)
    assert after["sysctl.d"] == SYSCTL_HEADER + "net.mptcp.path_manager = kernel\n"
    assert after["path_manager"] == "kernel"
    assert host.converge({}, check=True) is False
    assert host.converge({}) is False
    assert host.state() == after


@pytest.mark.parametrize("role_vars, lines, path_manager", [
    pytest.param(
        {"mptcpd_addr_flags": ["signal", "backup", "signal"], "mptcpd_notify_flags": ["existing", "check_route"]},
        ["path-manager=addr_adv", "addr-flags=signal,backup", "notify-flags=existing,check_route"],
        "kernel", id="server-flags-deduplicated"),
    pytest.param(
        {"mptcpd_path_manager": "sspi", "mptcpd_load_plugins": ["sspi"], "mptcpd_addr_flags": [],
         "mptcpd_notify_flags": []},
        ["path-manager=sspi", "load-plugins=sspi"],
        "userspace", id="sspi-switches-to-userspace"),
    pytest.param(
        {"mptcpd_path_manager": "addr_adv", "mptcpd_load_plugins": ["addr_adv", "sspi"],
         "mptcpd_addr_flags": ["subflow", "fullmesh"], "mptcpd_notify_flags": ["skip_loopback"]},
        ["path-manager=addr_adv", "addr-flags=subflow,fullmesh", "notify-flags=skip_loopback",
         "load-plugins=addr_adv,sspi"],
        "kernel", id="fullmesh-two-plugins"),
    pytest.param(
        {"mptcpd_path_manager": "sspi", "mptcpd_state": "stopped"},
        ["path-manager=sspi", "addr-flags=subflow", "notify-flags=existing,skip_link_local,skip_loopback"],
        "kernel", id="stopped-hands-back-to-kernel"),
    pytest.param(
        {"mptcpd_path_manager": "addr_adv", "mptcpd_kernel_path_manager": "userspace"},
        ["path-manager=addr_adv", "addr-flags=subflow", "notify-flags=existing,skip_link_local,skip_loopback"],
        "userspace", id="explicit-kernel-path-manager"),
])
def test_rendered_configuration(host, role_vars, lines, path_manager):
    other = "kernel" if path_manager == "userspace" else "userspace"
    host.set_path_manager(other)
    assert host.converge(role_vars) is True
    assert host.config() == HEADER + "plugin-dir=%s\n" % PLUGIN_DIR + "".join(line + "\n" for line in lines)
    assert host.sysctl_file() == SYSCTL_HEADER + "net.mptcp.path_manager = %s\n" % path_manager
    assert host.path_manager() == path_manager
    assert host.converge(role_vars) is False


@pytest.mark.parametrize("role_vars, message", [
    ({"mptcpd_path_manager": "addr_adv\nload-plugins=evil"},
     "mptcpd_path_manager: \"addr_adv\\nload-plugins=evil\" is not a plugin name"),
    ({"mptcpd_path_manager": "addr adv"},
     "mptcpd_path_manager: \"addr adv\" is not a plugin name"),
    ({"mptcpd_load_plugins": ["addr_adv", "sspi,evil"]},
     "mptcpd_load_plugins[1]: \"sspi,evil\" is not a plugin name"),
    ({"mptcpd_load_plugins": ["addr_adv", "x;y"]},
     "mptcpd_load_plugins[1]: \"x;y\" is not a plugin name"),
    ({"mptcpd_plugin_dir": "/usr/lib/mptcpd\nload-plugins=evil"},
     "mptcpd_plugin_dir: \"/usr/lib/mptcpd\\nload-plugins=evil\" holds '\\n', which mptcpd.conf cannot carry"),
    ({"mptcpd_addr_flags": ["signal", "fullmesh"]},
     "mptcpd_addr_flags: signal and fullmesh cannot be combined"),
    ({"mptcpd_addr_flags": ["subflow", "laminar"]},
     "value of mptcpd_addr_flags must be one or more of: subflow, signal, backup, fullmesh. Got no match for: laminar"),
    ({"mptcpd_notify_flags": ["existing", "all"]},
     "value of mptcpd_notify_flags must be one or more of"),
    ({"mptcpd_state": "restarted"},
     "value of mptcpd_state must be one of: started, stopped"),
    ({"mptcpd_load_plugins": ["sspi"]},
     "mptcpd_path_manager: \"addr_adv\" is not in mptcpd_load_plugins (sspi), so mptcpd would not load it"),
    ({"mptcpd_path_manager": "ndiffports"},
     "mptcpd_path_manager: plugin ndiffports is not installed in %s (installed: addr_adv, sspi)" % PLUGIN_DIR),
    ({"mptcpd_load_plugins": ["addr_adv", "ndiffports"]},
     "mptcpd_load_plugins: ndiffports not installed in %s" % PLUGIN_DIR),
    ({"mptcpd_plugin_dir": "lib/mptcpd"},
     "mptcpd_plugin_dir: \"lib/mptcpd\" is not an absolute path"),
], ids=lambda value: None if isinstance(value, dict) else value.split(":")[0].split(" ")[0])
def test_bad_input_is_refused_before_anything_changes(host, role_vars, message):
    # A path manager the role would change, were the input accepted.
    host.set_path_manager("userspace")
    before = host.state()
    results, failed = host.apply(role_vars)
    assert failed is not None, results
    assert message in failed["msg"], failed["msg"]
    assert not any(r.get("changed") for r in results), results
    assert host.state() == before


class Mptcpd(object):
    """Debian's mptcpd in the namespace, reading the mptcpd.conf the role wrote."""

    def __init__(self, host):
        self.log = open(str(host.tmp_path / "mptcpd.log"), "w+")
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c",
             'mount --bind "$1" /etc/mptcpd && exec ip netns exec "$2" "$3" --log=stderr --debug',
             "sh", str(host.etc_mptcpd), host.netns.name, MPTCPD],
            stdout=self.log, stderr=subprocess.STDOUT)

    def output(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self):
        stop_process(self.proc)
        self.log.close()


@pytest.fixture
def mptcpd(host):
    daemons = []

    def start():
        daemons.append(Mptcpd(host))
        return daemons[-1]
    yield start
    for daemon in daemons:
        daemon.stop()


def wait_for(netns, predicate, daemon, timeout=10.0):
    deadline = time.time() + timeout
    while True:
        endpoints = dict((e["address"], e["flags"]) for e in netns.endpoints())
        if predicate(endpoints):
            return endpoints
        assert daemon.proc.poll() is None, "mptcpd exited:\n" + daemon.output()
        assert time.time() < deadline, "endpoints now: %s\nmptcpd:\n%s" % (endpoints, daemon.output())
        time.sleep(0.2)


# The global addresses of conftest's Netns.
EXISTING = {"192.0.2.10", "198.51.100.11", "2001:db8::10", "2001:db8:1::10"}


def test_mptcpd_turns_the_addresses_into_endpoints(host, mptcpd):
    """addr_adv with the role's configuration: every global address present
    at start, and every address added later, becomes an endpoint with the
    configured flags; a removed address loses its endpoint; link-local
    addresses (the veths have them) never become endpoints."""
    host.converge({"mptcpd_addr_flags": ["subflow", "backup"]})
    daemon = mptcpd()
    endpoints = wait_for(host.netns, lambda e: EXISTING <= set(e), daemon)
    assert set(endpoints) == EXISTING, endpoints
    assert all(flags == ["backup", "subflow"] for flags in endpoints.values()), endpoints

    host.netns.ip("addr", "add", "203.0.113.7/24", "dev", "lan1")
    endpoints = wait_for(host.netns, lambda e: "203.0.113.7" in e, daemon)
    assert endpoints["203.0.113.7"] == ["backup", "subflow"]

    host.netns.ip("addr", "del", "192.0.2.10/24", "dev", "lan0")
    endpoints = wait_for(host.netns, lambda e: "192.0.2.10" not in e, daemon)
    assert set(endpoints) == (EXISTING - {"192.0.2.10"}) | {"203.0.113.7"}
    assert not any(address.startswith("fe80:") for address in endpoints)
    assert "plugins to load" not in daemon.output()  # no load-plugins: all of them


def test_without_existing_only_new_addresses_become_endpoints(host, mptcpd):
    host.converge({"mptcpd_addr_flags": ["signal"], "mptcpd_notify_flags": ["skip_link_local", "skip_loopback"],
                   "mptcpd_load_plugins": ["addr_adv"]})
    daemon = mptcpd()
    # mptcpd logs its configuration once it has read it; then it is listening.
    deadline = time.time() + 10
    while "plugins to load: addr_adv" not in daemon.output():
        assert daemon.proc.poll() is None and time.time() < deadline, daemon.output()
        time.sleep(0.2)
    wait_for(host.netns, lambda e: True, daemon)
    time.sleep(1)
    assert host.netns.endpoints() == []
    host.netns.ip("addr", "add", "2001:db8:7::1/64", "dev", "lan0", "nodad")
    endpoints = wait_for(host.netns, lambda e: len(e) > 0, daemon)
    assert endpoints == {"2001:db8:7::1": ["signal"]}
