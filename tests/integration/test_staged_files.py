# -*- coding: utf-8 -*-
"""mptcp.linux.staged_files through ansible-playbook, as root, with real
validators: nginx -t and systemd-analyze verify see the staged files at
their real paths in a private mount namespace (a removed broken file is
gone, a new file in a new directory is there). The module is killed with
SIGKILL at every step of a transaction (its test hook), then run again: the
live files validate with nginx -t (the oracle, run outside the module),
equal the request, nothing but the journal is left, and the run says
changed exactly while nginx still has to load the files.
"""

from __future__ import absolute_import, division, print_function

import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest
import yaml

from conftest import Runner

pytestmark = pytest.mark.skipif(not shutil.which("nginx"), reason="needs nginx (apt-get install nginx)")

MODULE = "mptcp.linux.staged_files"
NAME = "it"

MAIN = """\
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{
}}
http {{
    access_log off;
{temps}    include {root}/conf.d/*.conf;
    include {root}/extra.d/*.conf;
}}
"""

SERVER = "server {\n    listen 127.0.0.1:%d;\n    return 200 \"%s\";\n}\n"


class Files(Runner):
    """Runs staged_files tasks on a configuration root of its own."""

    def __init__(self, tmp_path, collections_path):
        super(Files, self).__init__(sys.executable, collections_path, tmp_path)
        self.root = tmp_path / "nginx"
        self.journal = tmp_path / "journal"
        (self.root / "conf.d").mkdir(parents=True)
        temps = "".join("    %s_temp_path %s;\n" % (kind, self.root / kind)
                        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        self.main = self.root / "nginx.conf"
        self.main.write_text(MAIN.format(root=self.root, temps=temps))

    def path(self, relative):
        return str(self.root / relative)

    def task(self, files=None, state="present", environment=None, check=False, **extra):
        args = dict(name=NAME, journal_dir=str(self.journal), state=state, **extra)
        if files is not None:
            args["files"] = files
            args.setdefault("validate", ["nginx", "-t", "-c", str(self.main)])
        task = {"name": "staged", MODULE: args, "ignore_errors": True, "diff": True, "check_mode": check}
        if environment:
            task["environment"] = environment
        return task

    def run(self, *tasks):
        path = self.tmp_path / ("play-%s.yml" % uuid.uuid4().hex[:6])
        path.write_text(yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": list(tasks)}]))
        return self._run(path)

    def live(self):
        """The oracle: every file under the root (nginx's own aside)."""
        found = {}
        for directory, dummy, names in os.walk(str(self.root)):
            for name in names:
                path = os.path.join(directory, name)
                if name not in ("error.log", "nginx.pid"):
                    with open(path) as handle:
                        found[os.path.relpath(path, str(self.root))] = handle.read()
        return found

    def nginx_t(self):
        proc = subprocess.run(["nginx", "-t", "-c", str(self.main)], capture_output=True, text=True, check=False)
        return proc.returncode, proc.stderr

    def journal_files(self):
        return sorted(os.listdir(str(self.journal))) if self.journal.exists() else []


@pytest.fixture
def files(tmp_path, collections_path):
    return Files(tmp_path, collections_path)


def present(path, content):
    return {"path": path, "content": content, "mode": "0644"}


def test_nginx_sees_the_staged_tree_check_real_pending_loaded(files):
    # A broken file that the request removes, a new file in a directory
    # that does not exist yet: nginx -t on the live tree fails, on the
    # staged tree it passes.
    (files.root / "conf.d" / "broken.conf").write_text("bogus_directive on;\n")
    assert files.nginx_t()[0] != 0
    request = [present(files.path("conf.d/web.conf"), SERVER % (18301, "web")),
               present(files.path("extra.d/new.conf"), SERVER % (18302, "new")),
               {"path": files.path("conf.d/broken.conf"), "state": "absent"}]
    before = files.live()
    checked = files.run(files.task(request, check=True))[0]
    assert checked["changed"] is True and not checked.get("failed"), checked
    assert checked["files"] == {files.path("conf.d/web.conf"): "created", files.path("extra.d/new.conf"): "created",
                                files.path("conf.d/broken.conf"): "removed"}
    assert files.live() == before and files.journal_files() == []

    real, again, loaded, last, last_loaded = files.run(
        files.task(request), files.task(request), files.task(state="loaded"), files.task(request),
        files.task(state="loaded"))
    assert not real.get("failed"), real
    assert real["changed"] is True and real["pending"] is True and real["journal"] == "pending"
    assert "test is successful" in real["validated"]["stderr"]
    assert files.live() == {"nginx.conf": files.main.read_text(), "conf.d/web.conf": SERVER % (18301, "web"),
                            "extra.d/new.conf": SERVER % (18302, "new")}
    assert oct(os.stat(files.path("extra.d")).st_mode & 0o7777) == oct(0o755)
    assert files.nginx_t()[0] == 0
    # Not loaded yet: reported again, nothing validated or written.
    assert again["changed"] is True and again["pending"] is True and again["validated"] is None
    assert again["commands"] == []
    assert loaded["changed"] is True and loaded["journal"] == "cleared"
    assert last["changed"] is False and last["pending"] is False
    assert last.get("diff", []) == []
    assert last_loaded["changed"] is False
    assert files.journal_files() == []


def test_a_refused_change_changes_nothing_and_names_the_real_file(files):
    (files.root / "conf.d" / "web.conf").write_text(SERVER % (18301, "web"))
    before = files.live()
    result = files.run(files.task([present(files.path("conf.d/web.conf"), "bogus_directive on;\n"),
                                   present(files.path("extra.d/new.conf"), SERVER % (18302, "new"))]))[0]
    assert result["failed"] is True and result["changed"] is False
    assert 'unknown directive "bogus_directive" in %s:1' % files.path("conf.d/web.conf") in result["msg"], result["msg"]
    assert "no live file was changed" in result["msg"]
    assert files.live() == before
    assert not (files.root / "extra.d").exists(), "the directory made for the staged file stayed"
    assert files.journal_files() == []


CHECK_VIEW = r"""
import json, os, sys
seen = dict((d, sorted(os.listdir(d))) for d in json.loads(sys.argv[1]))
print(json.dumps(seen, sort_keys=True))
sys.exit(0 if seen == json.loads(sys.argv[2]) else 1)
"""


def test_the_validator_sees_exactly_the_final_directories(files):
    """Listed from inside the view: removed files gone, staging files
    hidden, new files and new directories there, the rest untouched."""
    conf = files.root / "conf.d"
    for name in ("keep.conf", "gone.conf", "web.conf"):
        (conf / name).write_text(name)
    os.symlink("keep.conf", str(conf / "alias.conf"))
    expected = {str(conf): ["alias.conf", "keep.conf", "new.conf", "web.conf"],
                str(files.root / "extra.d" / "sub"): ["x.conf"]}
    request = [present(str(conf / "web.conf"), "new web"), present(str(conf / "new.conf"), "new"),
               {"path": str(conf / "gone.conf"), "state": "absent"},
               present(files.path("extra.d/sub/x.conf"), "x")]
    validate = [sys.executable, "-c", CHECK_VIEW, json.dumps(sorted(expected)), json.dumps(expected)]
    result = files.run(files.task(request, validate=validate, pending=False))[0]
    assert not result.get("failed"), result
    assert json.loads(result["validated"]["stdout"]) == expected
    # Outside the view, the real directories hold the same now.
    assert sorted(os.listdir(str(conf))) == expected[str(conf)]


def test_systemd_analyze_verify_and_a_refused_ignored_line(files):
    units = files.tmp_path / "units"
    units.mkdir()
    name = "mptcp-staged-%s" % uuid.uuid4().hex[:6]
    socket = str(units / (name + ".socket"))
    service = str(units / (name + ".service"))
    validate = ["systemd-analyze", "verify", "--man=no", socket]
    refuse = [".*%s\\.socket:[0-9]+: .*ignoring.*" % name]
    good = [present(socket, "[Socket]\nListenStream=127.0.0.1:18311\n"),
            present(service, "[Service]\nExecStart=/bin/true\n")]
    bad = [present(socket, "[Socket]\nListenStream=127.0.0.1:18311\nBogus=1\n"), good[1]]
    refused, accepted = files.run(files.task(bad, validate=validate, refuse=refuse, pending=False),
                                  files.task(good, validate=validate, refuse=refuse, pending=False))
    assert refused["failed"] is True and refused["validated"]["rc"] == 0
    assert "Unknown key" in refused["msg"] and "Bogus" in refused["msg"] and socket in refused["msg"], refused["msg"]
    assert refused["validated"]["refused_lines"], refused
    assert not accepted.get("failed"), accepted
    assert sorted(os.listdir(str(units))) == sorted([name + ".service", name + ".socket"])


# A step of each phase (every step is killed in the unit tests, without a
# real validator): mid-write, validated, before, between and after the
# renames, committed, and in the acknowledgement.
STEPS = ["stage-2", "validated", "committing", "rename-1", "renamed", "committed", "loaded"]


@pytest.mark.parametrize("step", STEPS)
def test_killed_at_a_step_then_run_again(files, step):
    (files.root / "conf.d" / "web.conf").write_text(SERVER % (18301, "old"))
    (files.root / "conf.d" / "gone.conf").write_text(SERVER % (18303, "gone"))
    before = files.live()
    request = [present(files.path("extra.d/new.conf"), SERVER % (18302, "new")),
               {"path": files.path("conf.d/gone.conf"), "state": "absent"},
               present(files.path("conf.d/web.conf"), SERVER % (18301, "web")),
               present(files.path("conf.d/more.conf"), SERVER % (18304, "more"))]
    expected = {"nginx.conf": before["nginx.conf"], "conf.d/web.conf": SERVER % (18301, "web"),
                "conf.d/more.conf": SERVER % (18304, "more"), "extra.d/new.conf": SERVER % (18302, "new")}
    kill = {"MPTCP_STAGED_KILL_AT": step}
    tasks = [files.task(request, environment=kill)]
    if step == "loaded":
        tasks = [files.task(request), files.task(state="loaded", environment=kill)]
    killed = files.run(*tasks)[-1]
    assert killed["failed"] is True and killed.get("rc") in (-9, 137), killed
    if step in ("stage-2", "validated", "committing"):
        live = files.live()
        assert dict((k, v) for k, v in live.items() if ".staged-" not in k) == before, "changed before validation"

    again, loaded, last = files.run(files.task(request), files.task(state="loaded"), files.task(request))
    assert not again.get("failed"), again
    assert again["changed"] is True and again["pending"] is True, again
    expected_repair = {"stage-2": "discarded", "validated": "discarded", "committed": None, "loaded": None}.get(
        step, "completed")
    assert (again["repaired"] or {}).get("action") == expected_repair, again["repaired"]
    assert files.live() == expected, "not the request, or leftovers"
    assert files.nginx_t()[0] == 0
    assert loaded["journal"] == "cleared"
    assert last["changed"] is False and files.journal_files() == []
