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

from conftest import Runner, playbook_killed_at

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


STATUS_CLIENT = r"""
import http.client, sys
conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
conn.request("GET", sys.argv[2], headers={"Host": "web.example"})
response = conn.getresponse()
print(response.status)
print(response.read().decode())
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
        self.journal = root.parent / "journal"
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

    def status(self, port, path="/"):
        """(status code, body) of a GET over TCP (any listener)."""
        out = self.exec(sys.executable, "-c", STATUS_CLIENT, str(port), path)
        code, body = out.split("\n", 1)
        return int(code), body.strip()

    def nginx_t(self):
        """The oracle for the files: nginx -t on the live configuration."""
        proc = subprocess.run(["nginx", "-t", "-c", str(self.conf)], capture_output=True, text=True, check=False)
        return proc.returncode, proc.stderr

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


def role_base(nginx):
    """No packages to install; NGINX's own files, reloaded by signal."""
    return {"mptcp_nginx_packages": [], "mptcp_nginx_stream_packages": [], "__mptcp_nginx_control": "signal",
            "__mptcp_nginx_main_conf": str(nginx.conf), "mptcp_nginx_conf_dir": str(nginx.conf_dir),
            "mptcp_nginx_stream_dir": str(nginx.stream_dir), "__mptcp_nginx_journal_dir": str(nginx.journal)}


class RolePlay(Runner):
    """Runs the role once per case in one playbook (each case rescued, so
    that a failure is recorded and the next case still runs) and returns
    each case's outcome: {failed, msg, changed}. A case is the role's
    variables, applied to NGINX (its files, its namespace). check=True runs
    the playbook with --check (what sets ansible_check_mode);
    play_check_mode=True sets check_mode on the play instead (which
    ansible_check_mode does not see)."""

    def run(self, cases, nginx, check=False, play_check_mode=False):
        base = role_base(nginx)
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
        if play_check_mode:
            play["check_mode"] = True
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
        return 200 ok;
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
    # block on another port. No file changes (both were only staged), nginx
    # (the same master) keeps serving the old configuration, the error is
    # nginx's and names the real file, and no journal is left.
    broken = {"mptcp_nginx_servers": [
        dict(wanted["mptcp_nginx_servers"][0], directives=["index index.html", "bogus_directive on"]),
        {"name": "added", "listen": [{"port": 18090}], "return": '200 "new"'}]}
    outcome = role.run([broken], nginx=nginx)[0]
    assert outcome["failed"] is True
    assert 'unknown directive "bogus_directive"' in outcome["msg"], outcome["msg"]
    assert "in %s:" % (nginx.conf_dir / "mptcp-web.conf") in outcome["msg"], outcome["msg"]
    assert "no live file was changed" in outcome["msg"]
    assert nginx.files() == written, "the refused change touched a file (or left a staging file behind)"
    assert not nginx.journal.exists() or os.listdir(str(nginx.journal)) == []
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


def test_a_smuggled_directive_is_refused_naming_the_field_and_a_quoted_one_is_harmless(role, nginx):
    """`#` in a directive would comment out the rest of its line, and the
    `;` the role adds with it: "deny all" would become part of "index" and
    the location would answer 200. Refused before anything is written; the
    same words quoted are rendered as one argument, and "deny all" stays a
    directive of its own: a real request gets 403."""
    before = nginx.files()
    health = {"path": "= /health", "return": '200 "ok"'}
    smuggled = {"mptcp_nginx_servers": [web(root=str(nginx.www), locations=[
        health, {"path": "/", "directives": ["index index.html #", "deny all"]}])]}
    quoted = {"mptcp_nginx_servers": [web(root=str(nginx.www), locations=[
        health, {"path": "/", "directives": ['index "index.html #"', "deny all"]}])]}
    refused, accepted = role.run([smuggled, quoted], nginx=nginx)
    assert refused["failed"] is True and refused["changed"] is False
    assert "mptcp_nginx_servers[0].locations[1].directives[0]" in refused["msg"], refused["msg"]
    assert "comment" in refused["msg"]
    assert accepted == {"failed": False, "changed": True}
    assert '        index "index.html #";\n        deny all;\n' in nginx.files()["conf.d/mptcp-web.conf"]
    assert before["nginx.conf"] == nginx.files()["nginx.conf"]
    assert nginx.status(18080)[0] == 403
    assert nginx.status(18080, "/health") == (200, "ok")


@pytest.mark.skipif(not os.path.exists(STREAM_MODULE), reason="needs libnginx-mod-stream")
def test_check_mode_on_the_play_writes_nothing_and_predicts_the_change(role, nginx):
    """check_mode: true on the play (not --check): ansible_check_mode is
    false there, so only mptcp.linux.check_mode tells the role not to wait
    for listeners that a dry run never creates."""
    wanted = {"mptcp_nginx_servers": [web(root=str(nginx.www))],
              "mptcp_nginx_streams": [{"name": "relay", "listen": [{"port": 18443}], "proxy_pass": "127.0.0.1:18080"}]}
    before = nginx.files()
    assert role.run([wanted], nginx=nginx, play_check_mode=True) == [{"failed": False, "changed": True}]
    assert nginx.files() == before
    assert not nginx.journal.exists()
    assert nginx.mptcp_ports() == [] and int((nginx.root / "nginx.pid").read_text()) == nginx.pid
    assert role.run([wanted], nginx=nginx) == [{"failed": False, "changed": True}]
    assert role.run([wanted], nginx=nginx, play_check_mode=True) == [{"failed": False, "changed": False}]


# ------------------------------------------------------------ interrupted runs

# A client in the namespace that GETs / on a port every 20 ms over MPTCP
# until it is terminated, one line per request: "ok <status> <body>" or
# "fail <error>".
POLLER = r"""
import signal, socket, sys, time
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
port = int(sys.argv[1])
while not stop:
    try:
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
        s.close()
        head, body = data.split(b"\r\n\r\n", 1)
        line = "ok %s %s" % (head.split()[1].decode(), body.decode().strip())
    except Exception as err:
        line = "fail %r" % (err,)
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
    time.sleep(0.02)
"""


class Poller(object):
    def __init__(self, nginx, port):
        self.proc = subprocess.Popen(["ip", "netns", "exec", nginx.netns.name, sys.executable, "-c", POLLER, str(port)],
                                     stdout=subprocess.PIPE, text=True)

    def stop(self):
        self.proc.terminate()
        out, dummy = self.proc.communicate(timeout=30)
        return out.splitlines()


class Interrupted(Runner):
    """Applies the role to NGINX in a playbook of its own, optionally killed:
    with the module's test hook (kill_at="hook:<step>", SIGKILL of the
    module process at that step) or when ansible-playbook announces a task
    or handler whose name contains the text (kill_at="task:<text>", SIGKILL
    of the whole process tree). Returns (killed, changed, output)."""

    def apply(self, role_vars, nginx, kill_at=None):
        play = [{"hosts": "all", "gather_facts": False, "tasks": [
            {"name": "role", "ansible.builtin.include_role": {"name": ROLE}, "vars": dict(role_base(nginx), **role_vars)}]}]
        path = self.tmp_path / ("play-%s.yml" % uuid.uuid4().hex[:6])
        path.write_text(yaml.safe_dump(play, sort_keys=False))
        inventory = self.write_inventory(nginx.netns.interpreter(self.tmp_path, sys.executable))
        extra = {}
        if kill_at and kill_at.startswith("hook:"):
            extra["MPTCP_STAGED_KILL_AT"] = kill_at[5:]
        killed, output = playbook_killed_at(
            [os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", str(inventory), str(path)],
            self.env(**extra), kill_at[5:] if kill_at and kill_at.startswith("task:") else None)
        recap = re.search(r"changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", output)
        if kill_at and kill_at.startswith("hook:"):
            killed = bool(re.search(r'"rc": (-9|137)\b', output))
        return killed, bool(recap) and recap.group(1) != "0" and recap.group(2) == "0", output


CONFIG_A = {"mptcp_nginx_servers": [{"name": "web", "listen": [{"port": 18080, "address": "127.0.0.1"}],
                                     "return": '200 "page A"'},
                                    {"name": "extra", "state": "absent"}],
            "mptcp_nginx_streams": [{"name": "relay", "state": "absent"}]}
CONFIG_B = {"mptcp_nginx_servers": [{"name": "web", "listen": [{"port": 18080, "address": "127.0.0.1"}],
                                     "return": '200 "page B"'},
                                    {"name": "extra", "listen": [{"port": 18091, "address": "127.0.0.1"}],
                                     "return": '200 "extra"'}],
            "mptcp_nginx_streams": [{"name": "relay", "listen": [{"port": 18443, "address": "127.0.0.1"}],
                                     "proxy_pass": "127.0.0.1:18080"}]}

# Where each run is cut short, alternately from A to B and back (A to B
# stages three files, B to A one): the module's own steps (mid-write of
# its second staging file, after validation, between and after the renames,
# after the journal says committed), and task boundaries of the playbook
# (the install task starting, the reload handler starting - files in place,
# never loaded -, the acknowledgement starting - loaded, not recorded -,
# and the listener check starting - everything done).
KILL_POINTS = [
    ("hook:stage-1", True),
    ("task:Install the blocks as one change", True),
    ("hook:validated", True),
    ("hook:rename-0", True),
    ("hook:rename-2", True),
    ("hook:renamed", True),
    ("hook:committed", True),
    ("task:Reload nginx by signal", True),
    ("task:Record that nginx loaded", True),
    ("task:List the MPTCP listeners", False),
]


@pytest.mark.skipif(not os.path.exists(STREAM_MODULE), reason="needs libnginx-mod-stream")
@pytest.mark.parametrize("first", [0, 5], ids=["points-1-5", "points-6-10"])
def test_interrupted_at_ten_points_then_run_again(collections_path, tmp_path, nginx, first):
    """SIGKILL at ten points of a change between two configurations, then
    the same run again: nginx -t accepts the live files, they are exactly
    those of a clean run, no staging file or journal is left, the run again
    says changed exactly when nginx still had to load something, the new
    page is served - and nginx answered every request of the whole test.
    Five points per test, each with an nginx of its own, so that the two
    halves run side by side; each point keeps its direction (A to B at the
    even points, B back to A at the odd ones)."""
    runner = Interrupted(sys.executable, collections_path, tmp_path)
    # Clean runs give the expected files of each configuration; the poller
    # starts once nginx listens on the port.
    expected = {}
    killed, changed, output = runner.apply(CONFIG_A, nginx)
    assert changed, output
    poller = Poller(nginx, 18080)
    try:
        for name, config in (("B", CONFIG_B), ("A", CONFIG_A)):
            killed, changed, output = runner.apply(config, nginx)
            assert changed, output
            expected[name] = nginx.files()
        assert sorted(expected["B"]) == ["conf.d/mptcp-extra.conf", "conf.d/mptcp-web.conf", "mptcp-streams.conf",
                                         "nginx.conf", "streams.d/mptcp-relay.conf"]
        current = "A"
        if first % 2:
            killed, changed, output = runner.apply(CONFIG_B, nginx)
            assert changed, output
            current = "B"
        for kill_at, owes_a_load in KILL_POINTS[first:first + 5]:
            target, config = ("B", CONFIG_B) if current == "A" else ("A", CONFIG_A)
            killed, changed, output = runner.apply(config, nginx, kill_at=kill_at)
            assert killed, (kill_at, output)
            killed, changed, output = runner.apply(config, nginx)
            assert not killed and re.search(r"failed=0", output), (kill_at, output)
            assert changed is owes_a_load, (kill_at, output)
            assert nginx.nginx_t()[0] == 0, (kill_at, nginx.nginx_t())
            assert nginx.files() == expected[target], kill_at
            assert not nginx.journal.exists() or os.listdir(str(nginx.journal)) == [], kill_at
            assert nginx.get(18080) == (True, "page " + target), kill_at
            current = target
    finally:
        lines = poller.stop()
    failed = [line for line in lines if not line.startswith("ok 200 page ")]
    assert len(lines) > 50 and not failed, (len(lines), failed[:5])
    assert int((nginx.root / "nginx.pid").read_text()) == nginx.pid, "nginx was restarted, not reloaded"
