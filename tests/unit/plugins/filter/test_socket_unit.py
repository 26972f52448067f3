# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The mptcp_socket role's rules, without a host: what it refuses (each
message naming the variable path), the units it writes (exact text, and
every value read back by the ports of systemd's own readers in
tests/quote_consumers.py), and what it stops, reloads and restarts for each
state systemd and the kernel can report, interrupted runs included."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

from ansible.errors import AnsibleFilterError

from ansible_collections.mptcp.linux.plugins.filter import (socket_listener_problems, socket_unit_actions,
                                                            socket_unit_plan, socket_unit_problems)
from ansible_collections.mptcp.linux.tests import quote_consumers as consumer

problems = socket_unit_problems.socket_unit_problems
plan = socket_unit_plan.socket_unit_plan
actions = socket_unit_actions.socket_unit_actions
listener_problems = socket_listener_problems.socket_listener_problems

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir, os.pardir, os.pardir, os.pardir))
with open(os.path.join(REPO, "molecule", "socket", "vars", "quote_samples.yml")) as _handle:
    SAMPLES = yaml.safe_load(_handle)["quote_samples"]

ECHO = {"name": "echo", "listen": ["7000"], "accept": True, "exec_start": ["/usr/bin/cat"]}
HEADER = "# Managed by the mptcp.linux.mptcp_socket role: local changes are overwritten.\n"


def test_registered_names():
    for module, name in ((socket_unit_problems, "socket_unit_problems"), (socket_unit_plan, "socket_unit_plan"),
                         (socket_unit_actions, "socket_unit_actions"),
                         (socket_listener_problems, "socket_listener_problems")):
        assert name in module.FilterModule().filters()


# ---------------------------------------------------------------- input


@pytest.mark.parametrize("units, dropins, expected", [
    pytest.param([dict(ECHO, exec_start="/usr/bin/cat\nExecStartPre=/bin/rm -rf /")], [],
                 ["mptcp_socket_units[0].exec_start: contains a line break ('\\n'), which would end the line"], id="newline"),
    pytest.param([dict(ECHO, exec_start="/usr/bin/cat \\")], [],
                 ["mptcp_socket_units[0].exec_start: ends with a backslash, which would join the next line"],
                 id="trailing-backslash"),
    pytest.param([dict(ECHO, exec_start="/usr/bin/cat ; /bin/rm -rf /")], [],
                 ["mptcp_socket_units[0].exec_start: holds a lone ';'"], id="second-command"),
    pytest.param([dict(ECHO, exec_start="bin/cat")], [],
                 ["mptcp_socket_units[0].exec_start: the program 'bin/cat' is a relative path"], id="relative"),
    pytest.param([dict(ECHO, exec_start=["-/usr/bin/cat"])], [],
                 ["mptcp_socket_units[0].exec_start: the program '-/usr/bin/cat' starts with '-'"], id="prefix"),
    pytest.param([dict(ECHO, exec_start=["/usr/bin/cat", None, {"a": 1}])], [],
                 ["mptcp_socket_units[0].exec_start[1]: None is not a string"], id="list-element"),
    pytest.param([dict(ECHO, exec_start={"cmd": "/usr/bin/cat"})], [],
                 ["mptcp_socket_units[0].exec_start: must be a string or a list of arguments"], id="mapping"),
    pytest.param([{"name": "web", "listen": ["80"]}], [],
                 ["mptcp_socket_units[0].exec_start: required"], id="no-exec"),
    pytest.param([dict(ECHO, listen=[])], [], ["mptcp_socket_units[0].listen: required"], id="no-listen"),
    pytest.param([dict(ECHO, listen=["70000", "10.0.0.256:80", "::1:80", "localhost:80", "[::1]:7001}",
                                     "7000\n", "[192.0.2.1]:80"])], [],
                 ["mptcp_socket_units[0].listen[0]: '70000' is not PORT", "listen[1]: '10.0.0.256:80' is not",
                  "listen[2]: '::1:80' is not", "listen[3]: 'localhost:80' is not", "listen[4]: '[::1]:7001}' is not",
                  "listen[5]: '7000\\n' is not", "listen[6]: '[192.0.2.1]:80' is not"], id="listen-syntax"),
    pytest.param([ECHO, dict(ECHO, name="echo2")], [],
                 ["mptcp_socket_units[1].listen[0]: '7000' is listened on twice"], id="listen-twice"),
    pytest.param([dict(ECHO, name="../../etc/evil")], [],
                 ["mptcp_socket_units[0].name: '../../etc/evil' is not a unit name"], id="name"),
    pytest.param([dict(ECHO, name="echo\n")], [], ["mptcp_socket_units[0].name: 'echo\\n' is not a unit name"],
                 id="name-newline"),
    pytest.param([dict(ECHO, name="x" * 250)], [], ["is longer than systemd allows"], id="name-length"),
    pytest.param([ECHO, dict(ECHO, listen=["7001"])], [], ["mptcp_socket_units[1].name: 'echo' is listed twice"],
                 id="duplicate"),
    pytest.param([dict(ECHO, user="root\nUser=nobody")], [], ["mptcp_socket_units[0].user: 'root\\nUser=nobody'"],
                 id="user"),
    pytest.param([dict(ECHO, user="nobody\n")], [], ["mptcp_socket_units[0].user"], id="user-trailing-newline"),
    pytest.param([dict(ECHO, description="echo\nExecStartPre=/bin/rm")], [],
                 ["mptcp_socket_units[0].description: contains a line break ('\\n'), which would end the line"], id="description"),
    pytest.param([dict(ECHO, description="echo \\")], [],
                 ["mptcp_socket_units[0].description: ends with a backslash"], id="description-backslash"),
    pytest.param([dict(ECHO, environment={"1X": "a", "OK": ["list"], "B": True})], [],
                 ["mptcp_socket_units[0].environment.1X: '1X' is not an environment variable name",
                  "mptcp_socket_units[0].environment.OK: ['list'] is not a string",
                  "mptcp_socket_units[0].environment.B: True is not a string"], id="environment"),
    pytest.param([dict(ECHO, environment=["A=1"])], [],
                 ["mptcp_socket_units[0].environment: must be a dictionary"], id="environment-list"),
    pytest.param([], [{"name": "ssh socket"}], ["mptcp_socket_dropins[0].name: 'ssh socket' is not a socket unit name"],
                 id="dropin-name"),
    pytest.param([], [{"name": "ssh"}, {"name": "ssh.socket", "state": "absent"}],
                 ["mptcp_socket_dropins[1].name: 'ssh' is listed twice"], id="dropin-duplicate"),
    pytest.param([ECHO], [{"name": "echo"}],
                 ["mptcp_socket_dropins[0].name: 'echo' is also in mptcp_socket_units"], id="dropin-is-a-unit"),
])
def test_bad_input_names_the_field(units, dropins, expected):
    found = problems(units, dropins)
    for text in expected:
        assert any(text in problem for problem in found), (text, found)
    assert len(found) == len(expected), found


@pytest.mark.parametrize("units, dropins", [
    ([ECHO], [{"name": "ssh"}, {"name": "getty@tty1.socket"}]),
    ([dict(ECHO, name="echo.socket", description="echo; rm {x} 100%", user="65534",
           environment={"A": "x\\", "B": 7, "C": ""}, exec_start="/usr/bin/cat $HOME %n")], []),
    ([dict(ECHO, exec_start=["/usr/bin/printf"] + SAMPLES)], []),
    ([dict(ECHO, exec_start=["cat"])], []),  # a bare command name: systemd searches its path
    ([{"name": "gone", "state": "absent"}], [{"name": "ssh", "state": "absent"}]),
    ([dict(ECHO, listen=["22", "0.0.0.0:8080", "[::]:8080", "[2001:db8::1]:443", "[::ffff:192.0.2.1]:80",
                         "255.255.255.255:65535"])], []),
])
def test_good_input_passes(units, dropins):
    assert problems(units, dropins) == []


@pytest.mark.parametrize("address, valid", [
    ("22", True), ("65535", True), ("1", True), ("0.0.0.0:8080", True), ("192.0.2.1:80", True),
    ("255.255.255.255:1", True), ("[::]:8080", True), ("[2001:db8::1]:443", True), ("[::ffff:192.0.2.1]:80", True),
    ("0", False), ("65536", False), ("08080", False), ("256.0.0.1:80", False), ("192.0.2.1", False),
    ("::1:80", False), ("[::1]", False), ("[zz::1]:80", False), ("localhost:80", False), ("*:80", False),
    ("80 ", False), ("80\n", False), ("/run/x.sock", False), ("", False), ("010.0.0.1:80", False),
])
def test_listen_addresses(address, valid):
    assert (problems([dict(ECHO, listen=[address])], []) == []) is valid


@pytest.mark.parametrize("name, valid", [
    ("echo", True), ("my-service_2.x", True), ("a:b", True),
    ("a@b", False), ("a b", False), ("../x", False), ("-x", False), ("", False), (".x", False), ("a\\x2d", False),
])
def test_unit_names(name, valid):
    assert (problems([dict(ECHO, name=name)], []) == []) is valid


def test_host_refuses_foreign_units_and_missing_sockets():
    state = {
        "echo.socket": {"LoadState": "loaded", "FragmentPath": "/usr/lib/systemd/system/echo.socket"},
        "web.socket": {"LoadState": "loaded", "FragmentPath": "/etc/systemd/system/web.socket"},
        "web.service": {"LoadState": "loaded", "FragmentPath": "/etc/systemd/system/web.service"},
        "ssh.socket": {"LoadState": "not-found"},
        "old.socket": {"LoadState": "not-found"},
    }
    units = [ECHO, {"name": "web", "listen": ["80"], "exec_start": ["/usr/bin/true"]}]
    dropins = [{"name": "ssh"}, {"name": "old", "state": "absent"}]
    assert problems(units, dropins, state=state) == [
        "mptcp_socket_units: echo.socket exists already as /usr/lib/systemd/system/echo.socket, which this role "
        "did not write (switch an existing socket with mptcp_socket_dropins)",
        "mptcp_socket_dropins[0].name: ssh.socket is not a unit on this host (LoadState=not-found)"]
    # Written elsewhere than the role's directory is foreign too.
    assert problems(units, [], state=state, unit_dir="/run/systemd/system")[1].startswith(
        "mptcp_socket_units: web.socket exists already as /etc/systemd/system/web.socket")


def test_host_checks_wait_for_valid_input():
    assert problems([dict(ECHO, name="a b")], [], state={}) == [
        "mptcp_socket_units[0].name: 'a b' is not a unit name (letters, digits, ':', '_', '.', '-')"]


# ---------------------------------------------------------------- rendering

UNIT = {"name": "echo", "listen": ["7000", "0.0.0.0:7001", "[::1]:7002"], "accept": True,
        "exec_start": ["/usr/bin/cat"]}
ARGS = {"name": "say", "listen": ["7100"], "accept": False, "user": "nobody", "description": "Say 100% hello",
        "exec_start": ["/usr/bin/printf", "%s $HOME", 'a "quoted" \\ word', ""],
        "environment": {"LANG": "C.UTF-8", "GREETING": "hello world"}}


def files(units, dropins=(), unit_dir="/etc/systemd/system"):
    return dict((f["file"], f["content"]) for f in plan(units, list(dropins), unit_dir)["write"])


def test_units_render_the_expected_text():
    rendered = files([UNIT, ARGS], [{"name": "ssh"}])
    assert sorted(rendered) == ["echo.socket", "echo@.service", "say.service", "say.socket", "ssh.socket.d/50-mptcp.conf"]
    assert rendered["echo.socket"] == HEADER + (
        "[Unit]\nDescription=echo over MPTCP\n\n"
        "[Socket]\nListenStream=7000\nListenStream=0.0.0.0:7001\nListenStream=[::1]:7002\n"
        "SocketProtocol=mptcp\nAccept=yes\n\n"
        "[Install]\nWantedBy=sockets.target\n")
    assert rendered["echo@.service"] == HEADER + (
        "[Unit]\nDescription=echo over MPTCP\nRequires=echo.socket\nAfter=echo.socket\n\n"
        "[Service]\nExecStart=/usr/bin/cat\nStandardInput=socket\nStandardOutput=socket\n")
    assert "Accept" not in rendered["say.socket"]
    assert "Description=Say 100%% hello\n" in rendered["say.socket"]
    assert rendered["say.service"] == HEADER + (
        "[Unit]\nDescription=Say 100%% hello\nRequires=say.socket\nAfter=say.socket\n\n"
        "[Service]\nExecStart=/usr/bin/printf \"%%s $$HOME\" \"a \\\"quoted\\\" \\\\ word\" \"\"\n"
        "Environment=\"GREETING=hello world\"\nEnvironment=\"LANG=C.UTF-8\"\nUser=nobody\n")
    assert rendered["ssh.socket.d/50-mptcp.conf"] == HEADER + (
        "# Switches this socket to MPTCP (mptcp.linux.mptcp_socket; systemd 257 and later).\n"
        "[Socket]\nSocketProtocol=mptcp\n")


def test_a_string_exec_start_is_written_as_systemd_syntax():
    rendered = files([dict(ARGS, exec_start="  /usr/bin/python3 -m http.server ${PORT} %i  ")])
    assert "\nExecStart=/usr/bin/python3 -m http.server ${PORT} %i\n" in rendered["say.service"]


def read_unit(text):
    """[(section, key, value)] as systemd's config parser reads a unit
    (config_parse(), ported in tests/quote_consumers.py), the values as
    bytes; a warning fails the test."""
    entries, warnings = consumer.parse_unit(text.encode("utf-8"))
    assert warnings == []
    return entries


def exec_argv(value, env=()):
    """The argv systemd runs for ExecStart=VALUE in the environment ENV
    (b"NAME=value" assignments): config_parse_exec() then
    replace_env_argv(); one command, no warning."""
    warnings = []
    [(dummy, path, argv)] = consumer.config_parse_exec(value, warnings)
    assert warnings == [] and path == argv[0]
    return [word.decode("utf-8") for word in consumer.replace_env_argv(argv, list(env))]


def test_every_sample_reads_back_exactly():
    environment = dict(("SAMPLE_%02d" % index, value) for index, value in enumerate(SAMPLES))
    unit = dict(ARGS, exec_start=["/usr/local/bin/argv-dump"] + SAMPLES, environment=environment,
                description="round trip of %d values; 100%% \\ quoted" % len(SAMPLES))
    text = files([unit])["say.service"]
    entries = read_unit(text)
    keys = [(section, key) for section, key, value in entries]
    # Nothing joined a line or started a new one: exactly these settings.
    assert keys == ([("Unit", "Description"), ("Unit", "Requires"), ("Unit", "After"), ("Service", "ExecStart")]
                    + [("Service", "Environment")] * len(SAMPLES) + [("Service", "User")])
    values = dict(((section, key), value) for section, key, value in entries if key != "Environment")
    env, warnings = consumer.unit_environment(text.encode("utf-8"))
    assert warnings == []
    assert dict(assignment.decode("utf-8").split("=", 1) for assignment in env) == environment
    assert exec_argv(values[("Service", "ExecStart")], env) == ["/usr/local/bin/argv-dump"] + SAMPLES
    assert consumer.specifier_printf(values[("Unit", "Description")]) == unit["description"].encode("utf-8")
    assert values[("Service", "User")] == b"nobody"


def test_the_smuggling_string_is_refused_and_the_list_form_is_safe():
    smuggled = dict(ECHO, exec_start="/usr/bin/cat \\", user="nobody")
    assert problems([smuggled], []) != []
    with pytest.raises(AnsibleFilterError, match="socket_unit_plan: input that socket_unit_problems refuses"):
        plan([smuggled], [], "/etc/systemd/system")
    safe = read_unit(files([dict(smuggled, exec_start=["/usr/bin/cat", "\\"])])["echo@.service"])
    assert ("Service", "User", b"nobody") in safe
    assert exec_argv(dict(((s, k), v) for s, k, v in safe)[("Service", "ExecStart")]) == ["/usr/bin/cat", "\\"]


def test_plan_lists_what_is_removed_stopped_and_read():
    result = plan([dict(ECHO, name="echo.service"), {"name": "gone", "state": "absent"},
                   {"name": "old", "state": "absent", "accept": True}],
                  [{"name": "ssh"}, {"name": "getty@tty1", "state": "absent"}], "/u")
    assert [f["path"] for f in result["write"]] == ["/u/echo.socket", "/u/echo@.service", "/u/ssh.socket.d/50-mptcp.conf"]
    assert [f["name"] for f in result["write"]] == ["echo", "echo", "ssh"]
    assert result["remove"] == [
        {"name": "gone", "path": "/u/gone.socket"}, {"name": "gone", "path": "/u/gone.service"},
        {"name": "gone", "path": "/u/gone@.service"}, {"name": "old", "path": "/u/old.socket"},
        {"name": "old", "path": "/u/old.service"}, {"name": "old", "path": "/u/old@.service"},
        {"name": "getty@tty1", "path": "/u/getty@tty1.socket.d/50-mptcp.conf"}]
    assert result["dirs"] == ["/u/ssh.socket.d"] and result["emptied"] == ["/u/getty@tty1.socket.d"]
    assert result["retire"] == [{"unit": "gone.socket", "disable": True}, {"unit": "gone.service", "disable": False},
                                {"unit": "old.socket", "disable": True}]
    assert result["sockets"] == ["echo.socket"]
    assert result["queried"] == ["echo.socket", "gone.socket", "old.socket", "gone.service", "ssh.socket",
                                 "getty@tty1.socket"]


# ---------------------------------------------------------------- what restarts

PAIR = {"name": "files", "listen": ["8000"], "exec_start": ["/usr/bin/true"]}  # Accept=no
PLAN = plan([ECHO, PAIR], [{"name": "ssh"}], "/etc/systemd/system")


def running(protocol="262", listen="[::]:%d (Stream)", port=7000, **extra):
    properties = {"LoadState": "loaded", "ActiveState": "active", "SocketProtocol": protocol,
                  "Listen": [listen % port], "NeedDaemonReload": "no", "Accept": "no", "Triggers": ""}
    properties.update(extra)
    return properties


def converged():
    """Every unit written, loaded and running over MPTCP."""
    return {
        "echo.socket": running(port=7000, Accept="yes"),
        "files.socket": running(port=8000, Triggers="files.service"),
        "files.service": {"LoadState": "loaded", "ActiveState": "active", "NeedDaemonReload": "no"},
        "ssh.socket": running(port=22, Triggers="ssh.service"),
    }


def listening(*entries):
    return [{"protocol": protocol, "port": port, "pids": [1]} for protocol, port in entries]


MPTCP_ALL = listening(("mptcp", 7000), ("mptcp", 8000), ("mptcp", 22))
NOTHING = {"stop": [], "reload": False, "restart": [], "stop_services": []}


def test_a_converged_host_needs_nothing():
    assert actions(PLAN, converged(), MPTCP_ALL, []) == NOTHING


def test_changed_files_stop_reload_and_start_again():
    assert actions(PLAN, converged(), MPTCP_ALL, ["echo", "files", "ssh"]) == {
        "stop": ["echo.socket", "files.service", "files.socket"], "reload": True,
        "restart": ["ssh.socket"], "stop_services": ["ssh.service"]}


def test_a_first_run_reloads_and_leaves_new_units_to_start():
    state = {"echo.socket": {"LoadState": "not-found", "ActiveState": "inactive"},
             "files.socket": {"LoadState": "not-found"}, "files.service": {"LoadState": "not-found"},
             "ssh.socket": running(protocol="0", port=22, Triggers="ssh.service")}
    assert actions(PLAN, state, listening(("tcp", 22)), ["echo", "files", "ssh"]) == {
        "stop": [], "reload": True, "restart": ["ssh.socket"], "stop_services": ["ssh.service"]}


def test_run_killed_after_writing_a_new_unit():
    """The files are there, systemd does not know them: a reload, then the
    socket starts (the start task); nothing to stop."""
    state = dict(converged(), **{"echo.socket": {"LoadState": "not-found", "ActiveState": "inactive",
                                                 "NeedDaemonReload": "no"}})
    assert actions(PLAN, state, MPTCP_ALL, []) == dict(NOTHING, reload=True)


def test_run_killed_after_writing_changed_units():
    """Files equal to the desired ones, so nothing is written again, but
    systemd has not loaded them: stop, reload, start; restart the drop-in."""
    state = converged()
    state["files.service"]["NeedDaemonReload"] = "yes"
    state["ssh.socket"]["NeedDaemonReload"] = "yes"
    state["ssh.socket"]["SocketProtocol"] = "0"
    assert actions(PLAN, state, listening(("mptcp", 7000), ("mptcp", 8000), ("tcp", 22)), []) == {
        "stop": ["files.service", "files.socket"], "reload": True, "restart": ["ssh.socket"],
        "stop_services": ["ssh.service"]}


def test_run_killed_after_the_reload():
    """systemd has loaded SocketProtocol=mptcp, the sockets still listen on
    plain TCP: stop and start again (units), restart (drop-in); no reload."""
    state = converged()
    listeners = listening(("tcp", 7000), ("mptcp", 8000), ("tcp", 22))
    assert actions(PLAN, state, listeners, []) == {
        "stop": ["echo.socket"], "reload": False, "restart": ["ssh.socket"], "stop_services": ["ssh.service"]}


def test_run_killed_after_stopping_the_units():
    """Stopped before the reload: the start task starts them; a reload is
    still due when systemd reports it."""
    state = converged()
    state["files.socket"].update(ActiveState="inactive", NeedDaemonReload="yes")
    assert actions(PLAN, state, listening(("mptcp", 7000), ("mptcp", 22)), []) == {
        "stop": ["files.service", "files.socket"], "reload": True, "restart": [], "stop_services": []}


def test_a_drop_in_removed_but_its_socket_still_mptcp():
    """state absent, interrupted after the reload: systemd has loaded plain
    TCP, the socket still listens over MPTCP: restart it."""
    the_plan = plan([], [{"name": "ssh", "state": "absent"}], "/etc/systemd/system")
    state = {"ssh.socket": running(protocol="0", port=22, Triggers="ssh.service")}
    assert actions(the_plan, state, listening(("mptcp", 22)), []) == dict(
        NOTHING, restart=["ssh.socket"], stop_services=["ssh.service"])
    assert actions(the_plan, state, listening(("tcp", 22)), []) == NOTHING


def test_a_stopped_switched_socket_stays_stopped():
    state = converged()
    state["ssh.socket"]["ActiveState"] = "inactive"
    assert actions(PLAN, state, listening(("mptcp", 7000), ("mptcp", 8000)), ["ssh"]) == dict(NOTHING, reload=True)


def test_listeners_of_other_processes_do_not_count():
    """A plain TCP listener on port 7000 held by another process than
    systemd says nothing about echo.socket."""
    listeners = MPTCP_ALL + [{"protocol": "tcp", "port": 7000, "pids": [4242]}]
    assert actions(PLAN, converged(), listeners, []) == NOTHING


def test_accept_yes_socket_stops_no_service():
    state = converged()
    state["echo.socket"]["NeedDaemonReload"] = "yes"
    assert actions(PLAN, state, MPTCP_ALL, [])["stop"] == ["echo.socket"]


# ---------------------------------------------------------------- the final check


def test_listener_problems_name_socket_and_port():
    state = converged()
    assert listener_problems(PLAN, state, MPTCP_ALL) == []
    assert listener_problems(PLAN, state, listening(("tcp", 7000), ("mptcp", 8000))) == [
        "echo.socket: no MPTCP listener on port 7000", "ssh.socket: no MPTCP listener on port 22"]
    assert listener_problems(PLAN, state, listening(("mptcp", 8000)), skip=["echo", "ssh"]) == []
    # A switched socket that does not run is not checked.
    state["ssh.socket"]["ActiveState"] = "inactive"
    assert listener_problems(PLAN, state, listening(("mptcp", 7000), ("mptcp", 8000))) == []


def test_listener_ports_come_from_the_listen_values():
    the_plan = plan([dict(ECHO, listen=["0.0.0.0:7000", "[::]:7000", "7001"])], [{"name": "multi"}], "/u")
    state = {"multi.socket": running(listen="%s", port=0, Listen=[
        "0.0.0.0:25 (Stream)", "/run/multi.sock (Stream)", "@abstract (Stream)", "[::]:26 (Datagram)"])}
    assert listener_problems(the_plan, state, []) == [
        "echo.socket: no MPTCP listener on port 7000", "echo.socket: no MPTCP listener on port 7001",
        "multi.socket: no MPTCP listener on port 25"]
