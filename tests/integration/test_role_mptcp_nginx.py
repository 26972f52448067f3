# -*- coding: utf-8 -*-
"""The mptcp_nginx role against a real nginx (Debian 12's 1.22, which has no
`multipath`), started by hand in a throw-away network namespace with a
configuration root of its own: the probe's verdict, the rendering, the bad
input refusals, and the restore of the previous files when nginx refuses a
change. nginx runs under `mptcpize run`, as the role's fallback would run it
under systemd, so its listeners are MPTCP ones; `ss -Mln` and an MPTCP
client in the namespace are the oracle. The systemd parts (nginx.service,
the mptcpize drop-in) and nginx 1.30's `multipath` are covered by the
Molecule scenarios nginx and nginx-fallback.
"""

from __future__ import absolute_import, division, print_function

import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid

import pytest
import yaml

from conftest import Runner

ROLE = "mptcp.linux.mptcp_nginx"
STREAM_MODULE = "/usr/lib/nginx/modules/ngx_stream_module.so"

pytestmark = pytest.mark.skipif(
    not (shutil.which("nginx") and shutil.which("mptcpize")),
    reason="needs Debian's nginx and mptcpize packages (apt-get install nginx mptcpize libnginx-mod-stream)")

# A client for the oracle, run inside the namespace: GET over an MPTCP
# socket, then print whether MPTCP was negotiated (TCP_IS_MPTCP) and the body.
CLIENT = r"""
import socket, sys
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 262)
s.settimeout(5)
s.connect(("127.0.0.1", port))
s.sendall(b"GET / HTTP/1.0\r\nHost: web.example\r\n\r\n")
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
mptcp = s.getsockopt(socket.IPPROTO_TCP, 43, 4)
print(int.from_bytes(mptcp, "little"))
print(data.split(b"\r\n\r\n", 1)[-1].decode())
"""


class Nginx(object):
    """nginx under `mptcpize run` in the namespace NETNS, with its own prefix."""

    def __init__(self, root, netns):
        self.root = root
        self.netns = netns
        self.conf = root / "nginx.conf"
        self.conf_dir = root / "conf.d"
        self.stream_dir = root / "streams.d"
        self.www = root / "www"
        for path in (self.conf_dir, self.www):
            path.mkdir(parents=True)
        (self.www / "index.html").write_text("old page\n")
        load = "load_module %s;\n" % STREAM_MODULE if os.path.exists(STREAM_MODULE) else ""
        temp = "".join("    %s_temp_path %s;\n" % (kind, root / kind)
                       for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        self.conf.write_text(
            "%suser root;\npid %s;\nerror_log %s;\nevents {\n}\nhttp {\n    access_log off;\n%s"
            "    include %s/*.conf;\n}\n" % (load, root / "nginx.pid", root / "error.log", temp, self.conf_dir))
        self.exec("mptcpize", "run", "nginx", "-c", str(self.conf))
        self.pid = int((root / "nginx.pid").read_text())

    def exec(self, *argv):
        return subprocess.run(["ip", "netns", "exec", self.netns.name] + list(argv),
                              check=True, capture_output=True, text=True).stdout

    def mptcp_ports(self):
        """The oracle for listeners: ports of MPTCP listening sockets."""
        out = self.exec("ss", "-H", "-M", "-l", "-n")
        return sorted(set(int(m) for m in re.findall(r":(\d+)\s+\S*:\*", out)))

    def get(self, port):
        """(negotiated MPTCP, body) of a GET over an MPTCP socket."""
        out = self.exec(sys.executable, "-c", CLIENT, str(port))
        negotiated, body = out.split("\n", 1)
        return negotiated == "1", body.strip()

    def wait_ports(self, predicate):
        for attempt in range(50):
            if predicate(self.mptcp_ports()):
                return True
            time.sleep(0.1)
        return False

    def files(self):
        """Every file under the configuration root except nginx's own, with content."""
        found = {}
        for path in sorted(self.root.rglob("*")):
            if path.is_file() and path.name not in ("nginx.pid", "error.log") and "www" not in path.parts:
                found[str(path.relative_to(self.root))] = path.read_text()
        return found

    def running(self):
        """The master is alive (a zombie left for init to reap is not)."""
        try:
            with open("/proc/%d/stat" % self.pid) as handle:
                return handle.read().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    def stop(self):
        # A signal to the master, not `nginx -s stop`, which needs a
        # configuration it can parse.
        try:
            os.kill(self.pid, signal.SIGTERM)
        except OSError:
            pass
        for attempt in range(50):
            if not self.running():
                break
            time.sleep(0.1)


@pytest.fixture
def nginx(tmp_path, netns):
    server = Nginx(tmp_path / "nginx", netns)
    yield server
    server.stop()


class RolePlay(Runner):
    """Runs the role once per case in one playbook (each case rescued, so
    that a failure is recorded and the next case still runs) and returns
    each case's outcome: {failed, msg, changed}. A case is the role's
    variables, applied to NGINX (its files, its namespace). check=True runs
    the playbook with --check (what sets ansible_check_mode)."""

    def run(self, cases, nginx, check=False):
        # No packages to install; NGINX's own files, reloaded by signal.
        base = {"mptcp_nginx_packages": [], "mptcp_nginx_stream_packages": [], "__mptcp_nginx_control": "signal",
                "__mptcp_nginx_main_conf": str(nginx.conf), "mptcp_nginx_conf_dir": str(nginx.conf_dir),
                "mptcp_nginx_stream_dir": str(nginx.stream_dir)}
        tasks = []
        for index, role_vars in enumerate(cases):
            tasks.append({"name": "case %d" % index, "block": [
                {"name": "role %d" % index, "ansible.builtin.include_role": {"name": ROLE},
                 "vars": dict(base, **role_vars)},
                {"name": "ok %d" % index, "ansible.builtin.set_fact": {"outcome%d" % index: {"failed": False}}},
            ], "rescue": [
                {"name": "failed %d" % index, "ansible.builtin.set_fact": {"outcome%d" % index: {
                    "failed": True, "msg": "{{ ansible_failed_result.msg }}"}}},
            ]})
        tasks.append({"name": "report", "ansible.builtin.debug": {
            "msg": "{{ [%s] }}" % ", ".join("outcome%d" % i for i in range(len(cases)))}})
        play = {"hosts": "all", "gather_facts": False, "tasks": tasks}
        path = self.tmp_path / ("play-%s.yml" % uuid.uuid4().hex[:6])
        path.write_text(yaml.safe_dump([play], sort_keys=False))
        wrap = nginx.netns.interpreter(self.tmp_path, sys.executable)
        tasks, stderr = self.run_playbook(path, wrap, ["--diff"] + (["--check"] if check else []))
        results = [t["hosts"].get("target", {}) for t in tasks]
        names = [t["task"]["name"] for t in tasks]
        assert "report" in names and names.count("report") == 1, (names, stderr)
        outcomes = results[names.index("report")]["msg"]
        assert not names[names.index("report") + 1:], "handlers ran after the role: %s" % names
        # A case changed something when any of its tasks (the included
        # role's, handlers included) did, up to the next case's include.
        case = -1
        changed = [False] * len(cases)
        for name, result in zip(names, results[:-1]):
            match = re.match(r"role (\d+)$", name)
            if match:
                case = int(match.group(1))
            elif case >= 0 and not name.startswith(("ok ", "failed ")) and result.get("changed"):
                changed[case] = True
        for outcome, did_change in zip(outcomes, changed):
            outcome["changed"] = did_change
        return outcomes


@pytest.fixture
def role(collections_path, tmp_path):
    return RolePlay(sys.executable, collections_path, tmp_path)


def web(**extra):
    server = {"name": "web", "listen": [{"port": 18080, "address": "127.0.0.1", "default_server": True}],
              "server_name": ["web.example"], "directives": ["index index.html"],
              "locations": [{"path": "= /health", "return": '200 "ok"'}]}
    server.update(extra)
    return server


def test_bad_input_is_refused_before_anything_is_written(role, nginx):
    before = nginx.files()
    listen = {"port": 18080}
    cases = [
        ({"mptcp_nginx_servers": [web(listen=[dict(listen, quic=True)])]}, ["mptcp_nginx_servers[0].listen[0].quic", "QUIC"]),
        ({"mptcp_nginx_streams": [{"name": "s", "listen": [dict(listen, udp=True)], "proxy_pass": "127.0.0.1:22"}]},
         ["mptcp_nginx_streams[0].listen[0].udp", "UDP"]),
        ({"mptcp_nginx_servers": [web(listen=[dict(listen, options=["quic"])])]},
         ["mptcp_nginx_servers[0].listen[0].options[0]", "QUIC"]),
        ({"mptcp_nginx_servers": [web(listen=[dict(listen, options=["multipath"])])]},
         ["listen[0].options[0]", "adds the MPTCP keyword itself"]),
        ({"mptcp_nginx_servers": [web(listen=[{"port": 0}])]}, ["mptcp_nginx_servers[0].listen[0].port", "1 to 65535"]),
        ({"mptcp_nginx_servers": [web(listen=[{"port": 65536}])]}, ["listen[0].port", "65536", "1 to 65535"]),
        ({"mptcp_nginx_servers": [web(name="../etc/x")]}, ["mptcp_nginx_servers[0].name", "not a valid name"]),
        ({"mptcp_nginx_servers": [web(), web()]}, ["mptcp_nginx_servers[1].name", "given twice"]),
        ({"mptcp_nginx_servers": [web(listen=[])]}, ["mptcp_nginx_servers[0].listen", "at least one"]),
        ({"mptcp_nginx_servers": [web(directives=["index x; include /etc/passwd"])]},
         ["mptcp_nginx_servers[0].directives[0]", "';'"]),
        ({"mptcp_nginx_servers": [web(server_name=["a }\nserver {"])]}, ["mptcp_nginx_servers[0].server_name[0]", "newline"]),
        ({"mptcp_nginx_servers": [web(root="/var/www my")]}, ["mptcp_nginx_servers[0].root", "not one word"]),
        ({"mptcp_nginx_servers": [web(listen=[dict(listen, address="unix:/run/x.sock")])]},
         ["listen[0].address", "not an IP address"]),
        ({"mptcp_nginx_streams": [{"name": "s", "listen": [listen]}]}, ["mptcp_nginx_streams[0].proxy_pass", "required"]),
        ({"mptcp_nginx_servers": [web(listen=[{"port": "http"}])]}, ["listen", "port"]),
        ({"mptcp_nginx_fallback": "ignore", "mptcp_nginx_servers": [web()]}, ["mptcp_nginx_fallback", "ignore"]),
    ]
    outcomes = role.run([case for case, words in cases], nginx=nginx)
    for (case, words), outcome in zip(cases, outcomes):
        assert outcome["failed"] is True, (case, outcome)
        assert outcome["changed"] is False, (case, outcome)
        for word in words:
            assert word in outcome["msg"], (word, outcome["msg"])
    assert nginx.files() == before


def test_fallback_fail_names_the_version_and_writes_nothing(role, nginx):
    version = subprocess.run(["nginx", "-v"], capture_output=True, text=True, check=True).stderr.split("/")[-1].strip()
    before = nginx.files()
    scratch_before = set(glob.glob(os.path.join(tempfile.gettempdir(), "mptcp-nginx-probe.*")))
    outcome = role.run([{"mptcp_nginx_fallback": "fail", "mptcp_nginx_servers": [web()]}], nginx=nginx)[0]
    assert outcome["failed"] is True
    for word in ("nginx/%s" % version, "multipath", 'invalid parameter "multipath"', 'invalid parameter "mptcp"',
                 "mptcp_nginx_fallback"):
        assert word in outcome["msg"], (word, outcome["msg"])
    assert nginx.files() == before
    assert set(glob.glob(os.path.join(tempfile.gettempdir(), "mptcp-nginx-probe.*"))) == scratch_before, \
        "the probe left its scratch directory behind"


EXPECTED_WEB = """\
# Managed by the mptcp.linux.mptcp_nginx role: local changes are overwritten.
server {
    listen 127.0.0.1:18080 default_server;
    listen [::1]:18081 reuseport;
    server_name web.example;
    root %(www)s;
    index index.html;

    location = /health {
        return 200 "ok";
    }
}
"""


def test_serves_over_mptcp_is_idempotent_and_restores_a_refused_change(role, nginx):
    wanted = {"mptcp_nginx_servers": [web(
        listen=[{"port": 18080, "address": "127.0.0.1", "default_server": True},
                {"port": 18081, "address": "::1", "options": ["reuseport"]}],
        root=str(nginx.www))]}
    assert nginx.mptcp_ports() == []
    before = nginx.files()

    # check mode, real, real again, check again
    assert role.run([wanted], nginx=nginx, check=True) == [{"failed": False, "changed": True}]
    assert nginx.files() == before
    assert role.run([wanted, wanted], nginx=nginx) == [{"failed": False, "changed": True},
                                                       {"failed": False, "changed": False}]
    written = nginx.files()
    assert sorted(written) == ["conf.d/mptcp-web.conf", "nginx.conf"]
    assert written["conf.d/mptcp-web.conf"] == EXPECTED_WEB % {"www": nginx.www}
    assert nginx.mptcp_ports() == [18080, 18081]
    assert nginx.get(18080) == (True, "old page")
    assert role.run([wanted], nginx=nginx, check=True) == [{"failed": False, "changed": False}]

    # A refused change: a broken directive in the existing block and a new
    # block on another port. Both files go back as they were, nginx (the same
    # master) keeps serving the old configuration, and the error is nginx's.
    broken = {"mptcp_nginx_servers": [
        dict(wanted["mptcp_nginx_servers"][0], directives=["index index.html", "bogus_directive on"]),
        {"name": "added", "listen": [{"port": 18090}], "return": '200 "new"'}]}
    outcome = role.run([broken], nginx=nginx)[0]
    assert outcome["failed"] is True
    assert 'unknown directive "bogus_directive"' in outcome["msg"], outcome["msg"]
    assert "put back" in outcome["msg"]
    assert nginx.files() == written, "the refused change was not undone exactly (or left backups behind)"
    assert nginx.mptcp_ports() == [18080, 18081]
    assert nginx.get(18080) == (True, "old page")
    assert int((nginx.root / "nginx.pid").read_text()) == nginx.pid

    # state: absent removes the block and nginx stops listening there.
    absent = {"mptcp_nginx_servers": [{"name": "web", "state": "absent"}]}
    assert role.run([absent, absent], nginx=nginx) == [{"failed": False, "changed": True},
                                                       {"failed": False, "changed": False}]
    assert sorted(nginx.files()) == ["nginx.conf"]
    assert nginx.wait_ports(lambda ports: ports == []), nginx.mptcp_ports()


@pytest.mark.skipif(not os.path.exists(STREAM_MODULE), reason="needs libnginx-mod-stream")
def test_stream_block_proxies_over_mptcp(role, nginx):
    wanted = {
        "mptcp_nginx_servers": [web(root=str(nginx.www))],
        "mptcp_nginx_streams": [{"name": "relay", "listen": [{"port": 18443, "address": "127.0.0.1"}],
                                 "proxy_pass": "127.0.0.1:18080", "directives": ["proxy_timeout 5s"]}]}
    # Refused first: the include line added to nginx.conf and the new files
    # are undone too.
    before = nginx.files()
    broken = dict(wanted, mptcp_nginx_streams=[dict(wanted["mptcp_nginx_streams"][0], directives=["bogus_directive 1"])])
    outcome = role.run([broken], nginx=nginx)[0]
    assert outcome["failed"] is True and 'unknown directive "bogus_directive"' in outcome["msg"], outcome
    assert nginx.files() == before
    assert role.run([wanted], nginx=nginx)[0] == {"failed": False, "changed": True}
    files = nginx.files()
    assert files["nginx.conf"].endswith("include %s;\n" % (nginx.root / "mptcp-streams.conf"))
    assert files["mptcp-streams.conf"].endswith("stream {\n    include %s/*.conf;\n}\n" % nginx.stream_dir)
    assert "    listen 127.0.0.1:18443;\n    proxy_pass 127.0.0.1:18080;\n    proxy_timeout 5s;\n" \
        in files["streams.d/mptcp-relay.conf"]
    assert nginx.mptcp_ports() == [18080, 18443]
    assert nginx.get(18443) == (True, "old page")
    assert role.run([wanted], nginx=nginx)[0] == {"failed": False, "changed": False}
