# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_staged without root: the request's checks, the plan, the journal's
phases, the repair of a transaction killed at every step (in a child
process that SIGKILLs itself through the test hook), and the validator's
view computed on real directories. The validator here is a function that
reads the view the way the mount namespace would show it; the real one
(nginx -t, systemd-analyze verify in a mount namespace, as root) is in
tests/integration/test_staged_files.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import signal
import subprocess
import sys

import pytest

from ansible_collections.mptcp.linux.plugins.module_utils import _staged
from ansible_collections.mptcp.linux.plugins.module_utils._staged import StagedError, StagedFailure, Transaction

NAME = "unit"


def tree(root):
    """Every file and directory under ROOT: {relative path: content or '/'}"""
    found = {}
    for directory, dirs, files in os.walk(str(root)):
        for name in dirs:
            found[os.path.relpath(os.path.join(directory, name), str(root)) + "/"] = "/"
        for name in files:
            path = os.path.join(directory, name)
            with open(path, "rb") as handle:
                found[os.path.relpath(path, str(root))] = handle.read().decode()
    return found


def visible(operations):
    """What the validator sees in each shadowed directory, interpreting the
    helper's operations as the kernel would: {path: file shown there}."""
    shadows = {}
    covers = {}
    binds = {}
    for op in operations:
        if op[0] == "bind" and op[2] in shadows:
            binds[op[2]] = op[1]
        elif op[0] == "bind":
            covers[op[2]] = op[1]
        elif op[0] in ("mkdir", "file"):
            shadows[op[1]] = op[0]
        elif op[0] == "symlink":
            shadows[op[2]] = "symlink"
            binds[op[2]] = "-> " + op[1]
    seen = {}
    for directory, shadow in covers.items():
        for target, source in binds.items():
            if os.path.dirname(target) == shadow:
                seen[os.path.join(directory, os.path.basename(target))] = source
    return seen


class Validator(object):
    """Accepts the view unless a file shown to it contains REFUSE; records
    each view it got."""

    def __init__(self, refuse="bogus"):
        self.refuse = refuse
        self.views = []

    def __call__(self, argv, operations, refuse=()):
        view = visible(operations)
        self.views.append(view)
        bad = []
        for path, source in sorted(view.items()):
            if os.path.isfile(source):
                with open(source) as handle:
                    if self.refuse in handle.read():
                        bad.append(path)
        if bad:
            return _staged.Validation(list(argv), 1, "", "[emerg] bogus in %s\n" % bad[0], [])
        return _staged.Validation(list(argv), 0, "", "syntax is ok\n", [])


@pytest.fixture
def env(tmp_path):
    root = tmp_path / "etc"
    root.mkdir()
    journal = tmp_path / "journal"

    class Env(object):
        def path(self, name):
            return str(root / name)

        def transaction(self, files, **options):
            options.setdefault("journal_dir", str(journal))
            return Transaction(NAME, files=files, **options)

        def run(self, files, **options):
            return self.transaction(files, **options).apply()

        def loaded(self, **options):
            options.setdefault("journal_dir", str(journal))
            return Transaction(NAME, **options).acknowledge()

        def files(self):
            return tree(root)

        def journal(self):
            path = journal / (NAME + ".json")
            return json.loads(path.read_text()) if path.exists() else None

    e = Env()
    e.root = root
    e.journal_dir = journal
    return e


def present(path, content, **extra):
    return dict(path=path, content=content, **extra)


# ------------------------------------------------------------ the request


@pytest.mark.parametrize("files,message", [
    ([{"path": "etc/x", "content": ""}], "files[0].path: 'etc/x' is not a normalized absolute path"),
    ([{"path": "/etc/../x/y", "content": ""}], "files[0].path: '/etc/../x/y' is not a normalized"),
    ([{"path": "/x", "content": ""}], "files[0].path: '/x' is directly in /"),
    ([{"content": ""}], "files[0].path: is required"),
    ([{"path": "/etc/a/x"}], "files[0].content: is required"),
    ([{"path": "/etc/a/x", "state": "absent", "content": "x"}], "files[0].content: a file with state absent"),
    ([{"path": "/etc/a/x", "state": "gone"}], "files[0].state: 'gone' is not present or absent"),
    ([{"path": "/etc/a/x", "content": "", "mode": "0o644"}], "files[0].mode: '0o644' is not an octal mode"),
    ([{"path": "/etc/a/x", "content": "", "mode": "999"}], "files[0].mode: '999'"),
    ([{"path": "/etc/a/x", "content": "", "owner": "no-such-user-here"}], "files[0].owner: no user 'no-such-user-here'"),
    ([{"path": "/etc/a/x", "content": "", "group": "no-such-group-here"}], "files[0].group: no group"),
    ([{"path": "/etc/a/x", "content": ""}, {"path": "/etc/a/x", "state": "absent"}],
     "files[1].path: '/etc/a/x' is the same file as files[0].path"),
    ([{"path": "/var/lib/j/x.json", "content": ""}], "files[0].path: '/var/lib/j/x.json' is in the journal directory"),
])
def test_the_request_is_checked_field_by_field(files, message):
    with pytest.raises(StagedError) as caught:
        _staged.desired_files(files, "/var/lib/j")
    assert message in str(caught.value)


def test_every_problem_is_named_at_once():
    with pytest.raises(StagedError) as caught:
        _staged.desired_files([{"path": "x", "content": ""}, {"path": "/etc/a", "mode": "rw"}], "/var/lib/j")
    text = str(caught.value)
    assert "files[0].path" in text and "files[1].content" in text and "files[1].mode" in text


@pytest.mark.parametrize("name", ["", "-x", "a/b", "a b", "x" * 65, None, "../x"])
def test_transaction_names(name):
    with pytest.raises(StagedError):
        _staged.check_name(name)


@pytest.mark.parametrize("value,mode", [("0644", 0o644), ("644", 0o644), (420, 0o644), ("4755", 0o4755)])
def test_modes(value, mode):
    assert _staged.parse_mode(value) == mode


@pytest.mark.parametrize("value", ["u=rw", "0o644", "08", True, -1, 0o10000, "0644 "])
def test_bad_modes(value):
    with pytest.raises(ValueError):
        _staged.parse_mode(value)


def test_a_symbolic_link_is_refused(env):
    os.symlink("elsewhere", env.path("link.conf"))
    with pytest.raises(StagedError) as caught:
        env.run([present(env.path("link.conf"), "x")])
    assert "is a symbolic link" in str(caught.value)


def test_links_in_directories_are_followed(env, tmp_path):
    os.symlink(str(env.root), str(tmp_path / "alias"))
    result = env.run([present(str(tmp_path / "alias" / "a.conf"), "a\n")])
    assert result["files"] == {str(tmp_path / "alias" / "a.conf"): "created"}
    assert env.files()["a.conf"] == "a\n"


# ------------------------------------------------------------ the plan


def test_plan_actions(env):
    (env.root / "same").write_text("same\n")
    (env.root / "old").write_text("old\n")
    (env.root / "gone").write_text("gone\n")
    (env.root / "mode").write_text("mode\n")
    os.chmod(env.path("same"), 0o644)
    os.chmod(env.path("mode"), 0o644)
    desired = _staged.desired_files([
        present(env.path("same"), "same\n", mode="0644"), present(env.path("old"), "new\n"),
        present(env.path("new"), "new\n"), {"path": env.path("gone"), "state": "absent"},
        {"path": env.path("never"), "state": "absent"}, present(env.path("mode"), "mode\n", mode="0600"),
    ], str(env.journal_dir))
    actions = [change.action for change in _staged.plan(desired)]
    assert actions == ["unchanged", "updated", "created", "removed", "unchanged", "attributes"]


def test_a_new_file_gets_0644_and_the_callers_owner(env):
    change = _staged.plan(_staged.desired_files([present(env.path("n"), "")], "/j"))[0]
    assert (change.mode, change.uid, change.gid) == (0o644, os.geteuid(), os.getegid())


def test_an_existing_file_keeps_its_mode_unless_told(env):
    (env.root / "f").write_text("x")
    os.chmod(env.path("f"), 0o640)
    change = _staged.plan(_staged.desired_files([present(env.path("f"), "y")], "/j"))[0]
    assert change.mode == 0o640


def test_missing_directories_parents_first(tmp_path):
    found = _staged.missing_directories([str(tmp_path / "a" / "b" / "c.conf"), str(tmp_path / "a" / "d.conf")])
    assert found == [str(tmp_path / "a"), str(tmp_path / "a" / "b")]


def test_staging_files_are_hidden_next_to_their_target():
    assert _staged.staging_path("/etc/nginx/conf.d/web.conf", "mptcp_nginx") == \
        "/etc/nginx/conf.d/.web.conf.staged-mptcp_nginx"


# ------------------------------------------------------------ the flow


def test_nothing_to_do_writes_nothing(env, tmp_path):
    (env.root / "a.conf").write_text("a\n")
    before = tree(tmp_path)
    result = env.run([present(env.path("a.conf"), "a\n"), {"path": env.path("b.conf"), "state": "absent"}],
                     validate=["false"], runner=Validator())
    assert result["changed"] is False
    assert result["files"] == {env.path("a.conf"): "unchanged", env.path("b.conf"): "unchanged"}
    assert result["validated"] is None and result["journal"] == "absent"
    assert tree(tmp_path) == before, "an unchanged run wrote something"


def test_change_then_pending_then_loaded(env):
    (env.root / "old.conf").write_text("old\n")
    files = [present(env.path("d/new.conf"), "new\n"), {"path": env.path("old.conf"), "state": "absent"}]
    validator = Validator()
    first = env.run(files, validate=["nginx", "-t"], runner=validator)
    assert first["changed"] is True and first["pending"] is True and first["journal"] == "pending"
    assert first["files"] == {env.path("d/new.conf"): "created", env.path("old.conf"): "removed"}
    assert env.files() == {"d/": "/", "d/new.conf": "new\n"}
    # The validator saw the new file at its final name, not the removed one,
    # not the staging file.
    view = validator.views[0]
    assert view[env.path("d/new.conf")] == _staged.staging_path(env.path("d/new.conf"), NAME)
    assert env.path("old.conf") not in view
    assert not any(".staged-" in path for path in view)
    assert env.journal()["phase"] == "committed"
    # Not loaded yet: a run with the same files says so, and writes nothing.
    again = env.run(files, validate=["nginx", "-t"], runner=validator)
    assert again["changed"] is True and again["pending"] is True
    assert set(again["files"].values()) == {"unchanged"} and again["commands"] == []
    assert len(validator.views) == 1, "files in place were validated again"
    assert env.loaded()["journal"] == "cleared"
    assert env.journal() is None and not os.listdir(str(env.journal_dir))
    last = env.run(files, validate=["nginx", "-t"], runner=validator)
    assert last["changed"] is False and last["pending"] is False
    assert env.loaded()["changed"] is False


def test_without_pending_the_journal_goes_at_once(env):
    result = env.run([present(env.path("a"), "a")], pending=False)
    assert result["changed"] is True and result["pending"] is False and result["journal"] == "absent"
    assert os.listdir(str(env.journal_dir)) == []
    assert env.run([present(env.path("a"), "a")], pending=False)["changed"] is False


def test_mode_and_owner_change_through_a_staged_copy(env):
    (env.root / "a").write_text("a")
    os.chmod(env.path("a"), 0o600)
    inode = os.stat(env.path("a")).st_ino
    result = env.run([present(env.path("a"), "a", mode="0644")], pending=False)
    assert result["files"] == {env.path("a"): "attributes"}
    assert oct(os.stat(env.path("a")).st_mode & 0o7777) == oct(0o644)
    assert os.stat(env.path("a")).st_ino != inode


def test_refused_change_leaves_everything_as_it_was(env, tmp_path):
    (env.root / "a.conf").write_text("a\n")
    before = tree(tmp_path)
    with pytest.raises(StagedFailure) as caught:
        env.run([present(env.path("a.conf"), "bogus\n"), present(env.path("new/b.conf"), "b\n")],
                validate=["nginx", "-t"], runner=Validator())
    result = caught.value.result
    assert "nginx -t refused the staged files of unit, so no live file was changed" in str(caught.value)
    assert "[emerg] bogus in %s" % env.path("a.conf") in str(caught.value), "not the validator's own words"
    assert result["changed"] is False and result["validated"]["rc"] == 1
    assert result["files"] == {env.path("a.conf"): "updated", env.path("new/b.conf"): "created"}
    after = tree(tmp_path)
    assert after == dict(before, **{"journal/": "/"}), "the refused change left something behind"


def test_check_mode_predicts_and_writes_nothing(env, tmp_path):
    (env.root / "a.conf").write_text("a\n")
    before = tree(tmp_path)
    result = env.run([present(env.path("a.conf"), "b\n"), present(env.path("c.conf"), "c\n")],
                     check_mode=True, validate=["false"], runner=Validator())
    assert result["changed"] is True and result["validated"] is None
    assert result["files"] == {env.path("a.conf"): "updated", env.path("c.conf"): "created"}
    assert result["diff"][0] == {"before_header": env.path("a.conf"), "after_header": env.path("a.conf"),
                                 "before": "a\n", "after": "b\n"}
    assert tree(tmp_path) == before


def test_a_stale_journal_tmp_goes(env):
    env.run([present(env.path("a"), "a")], pending=False)
    stale = env.journal_dir / (".%s.json.tmp" % NAME)
    stale.write_text("{")
    env.run([present(env.path("a"), "b")], pending=False)
    assert not stale.exists()


def test_a_corrupt_journal_is_refused_not_ignored(env):
    env.journal_dir.mkdir()
    (env.journal_dir / (NAME + ".json")).write_text("{")
    with pytest.raises(StagedError) as caught:
        env.run([present(env.path("a"), "a")])
    assert "is not valid JSON" in str(caught.value)


def test_loaded_refuses_an_interrupted_transaction(env):
    env.journal_dir.mkdir()
    (env.journal_dir / (NAME + ".json")).write_text(json.dumps(
        {"version": 1, "phase": "committing", "files": [], "created_dirs": [], "load_owed": True}))
    with pytest.raises(StagedError) as caught:
        env.loaded()
    assert "was interrupted while committing" in str(caught.value)


# ------------------------------------------------------------ the view


def test_view_of_a_changed_directory(tmp_path):
    conf = tmp_path / "conf.d"
    conf.mkdir()
    (conf / "keep.conf").write_text("keep")
    (conf / "old.conf").write_text("old")
    (conf / "web.conf").write_text("web")
    (conf / "sub").mkdir()
    os.symlink("keep.conf", str(conf / "alias.conf"))
    staged_web = _staged.staging_path(str(conf / "web.conf"), NAME)
    staged_new = _staged.staging_path(str(conf / "new.conf"), NAME)
    for path in (staged_web, staged_new):
        with open(path, "w") as handle:
            handle.write("staged")
    final = {str(conf / "web.conf"): staged_web, str(conf / "new.conf"): staged_new, str(conf / "old.conf"): None}
    operations = _staged.view_operations(final, str(tmp_path / "scratch"), [staged_web, staged_new])
    assert operations[0] == ["tmpfs", str(tmp_path / "scratch")]
    assert operations[-1] == ["bind", str(tmp_path / "scratch" / "0"), str(conf)]
    assert visible(operations) == {
        str(conf / "alias.conf"): "-> keep.conf",
        str(conf / "keep.conf"): str(conf / "keep.conf"),
        str(conf / "new.conf"): staged_new,
        str(conf / "sub"): str(conf / "sub"),
        str(conf / "web.conf"): staged_web,
    }
    assert ["mkdir", str(tmp_path / "scratch" / "0" / "sub"), 0o755 & os.stat(str(conf / "sub")).st_mode,
            os.getuid(), os.getgid()] in operations


def test_view_mounts_parents_first(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    final = {str(tmp_path / "a" / "b" / "x"): None, str(tmp_path / "a" / "y"): None}
    covers = [op[2] for op in _staged.view_operations(final, "/scratch") if op[0] == "bind" and op[1].count("/") == 2]
    assert covers == [str(tmp_path / "a"), str(tmp_path / "a" / "b")]


# ------------------------------------------------------------ run_validator


class RunCommand(object):
    """AnsibleModule.run_command as run_validator() calls it; records the
    calls, returns RESULT or raises it."""

    def __init__(self, result):
        self.result = result
        self.calls = []

    def __call__(self, argv, **options):
        self.calls.append((argv, options))
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def test_a_validator_runs_as_given_and_its_output_is_decoded():
    run = RunCommand((1, b"out\n", b"nginx: [emerg] bad \xff word\n"))
    validation = _staged.run_validator(run, ["nginx", "-t", "~/$HOME"], [], refuse=[r".*\[emerg\].*"])
    options = {"cwd": "/", "encoding": None, "expand_user_and_vars": False, "handle_exceptions": False}
    assert run.calls == [(["nginx", "-t", "~/$HOME"], options)]
    assert (validation.rc, validation.stdout, validation.view_error) == (1, "out\n", None)
    assert validation.refused_lines == ["nginx: [emerg] bad \ufffd word"] and not validation.ok


def test_a_validator_that_cannot_run_is_reported():
    validation = _staged.run_validator(RunCommand(OSError(2, "No such file or directory")), ["nginx", "-t"], [])
    assert validation.rc is None and validation.view_error == "cannot run nginx: No such file or directory"
    assert "could not run nginx on the staged files" in validation.reason()


def test_the_view_helper_gets_the_status_pipe():
    run = RunCommand((0, b"", b""))
    validation = _staged.run_validator(run, ["nginx", "-t"], [["tmpfs", "/scratch"]])
    argv, options = run.calls[0]
    assert argv[:3] == [sys.executable, "-I", "-c"] and argv[-2:] == ["nginx", "-t"]
    assert options["pass_fds"] == (int(argv[4]),) and json.loads(argv[5]) == [["tmpfs", "/scratch"]]
    assert validation.ok


# ------------------------------------------------------------ killed, then run again

# The child: the same transaction, validated by a function that refuses a
# staged file holding "bogus" (the files bind-mounted into the view).
CHILD = r"""
import json, os, sys
sys.path.insert(0, sys.argv[1])
from ansible_collections.mptcp.linux.plugins.module_utils import _staged
def runner(argv, operations, refuse=()):
    for op in operations:
        if op[0] == "bind" and os.path.isfile(op[1]) and "bogus" in open(op[1]).read():
            return _staged.Validation(argv, 1, "", "bogus", [])
    return _staged.Validation(argv, 0, "", "", [])
_staged.Transaction("unit", runner=runner, **json.loads(sys.argv[2])).apply()
"""

STEPS = ["journal", "stage-0", "stage-1", "staged", "validated", "committing", "rename-0", "rename-1", "rename-2",
         "renamed", "committed"]


def kill_at(step, request):
    collections = [p for p in sys.path if os.path.isdir(os.path.join(p, "ansible_collections", "mptcp", "linux"))][0]
    proc = subprocess.run([sys.executable, "-c", CHILD, collections, json.dumps(request)], env=dict(os.environ, MPTCP_STAGED_KILL_AT=step),
                          capture_output=True, text=True, check=False)
    assert proc.returncode == -signal.SIGKILL, (step, proc.returncode, proc.stderr)


def leftovers(env):
    return [path for path in env.files() if ".staged-" in path]


@pytest.fixture
def killed(env):
    """Live files A, a request B of three changes, killed at a step."""
    (env.root / "main.conf").write_text("include *.conf;\n")
    (env.root / "gone.conf").write_text("gone\n")
    old = env.files()
    files = [present(env.path("streams/relay.conf"), "relay\n"), {"path": env.path("gone.conf"), "state": "absent"},
             present(env.path("main.conf"), "include *.conf;\ninclude streams/*.conf;\n")]
    request = {"files": files, "journal_dir": str(env.journal_dir), "validate": ["check"]}
    new = {"main.conf": files[2]["content"], "streams/": "/", "streams/relay.conf": "relay\n"}
    return env, request, old, new


@pytest.mark.parametrize("step", STEPS)
def test_killed_then_run_again_converges_and_says_changed(killed, step):
    env, request, old, new = killed
    kill_at(step, request)
    if step in ("journal", "stage-0", "stage-1", "staged", "validated"):
        assert {k: v for k, v in env.files().items() if ".staged-" not in k and k != "streams/"} == old, \
            "a live file changed before validation"
    result = env.run(request["files"], validate=["check"], runner=Validator())
    assert result["changed"] is True and result["pending"] is True
    assert env.files() == new and leftovers(env) == []
    if step in ("journal", "stage-0", "stage-1", "staged", "validated"):
        assert result["repaired"]["action"] == "discarded"
    elif step in ("committing", "rename-0", "rename-1", "rename-2", "renamed"):
        assert result["repaired"]["action"] == "completed"
    else:
        assert result["repaired"] is None
    env.loaded()
    assert env.run(request["files"], validate=["check"], runner=Validator())["changed"] is False
    assert os.listdir(str(env.journal_dir)) == []


@pytest.mark.parametrize("step", ["rename-0", "rename-1", "renamed"])
def test_killed_mid_commit_then_refused_rolls_back(killed, step):
    """The run after the kill asks for something the validator refuses: the
    half-done change is undone, back to the files before it."""
    env, request, old, new = killed
    kill_at(step, request)
    refused = [present(env.path("main.conf"), "bogus\n")]
    with pytest.raises(StagedFailure) as caught:
        env.run(refused, validate=["check"], runner=Validator())
    assert caught.value.result["repaired"]["action"] == "rolled back"
    assert "an interrupted earlier change was rolled back" in str(caught.value)
    assert env.files() == old and leftovers(env) == []
    # The files went back and forth behind the consumer's back: a reload is still owed.
    assert env.journal()["phase"] == "committed"
    again = env.run([present(env.path("main.conf"), old["main.conf"])], validate=["check"], runner=Validator())
    assert again["changed"] is True and again["pending"] is True


def test_killed_mid_commit_then_a_different_request_is_validated_over_the_mix(killed):
    """Killed after the first rename (the new stream file is live, the rest
    old); the next request leaves the stream file out: the live mix plus the
    request is what gets validated, and installed."""
    env, request, old, new = killed
    kill_at("rename-0", request)
    validator = Validator()
    result = env.run([present(env.path("main.conf"), "include *.conf;\n# touched\n")], validate=["check"],
                     runner=validator)
    assert result["repaired"]["action"] == "completed"
    assert sorted(validator.views[0]) == [env.path("gone.conf"), env.path("main.conf"), env.path("streams")]
    assert env.files()["main.conf"] == "include *.conf;\n# touched\n"
    assert env.files()["streams/relay.conf"] == "relay\n"


def test_killed_in_a_rollback_then_run_again(killed):
    env, request, old, new = killed
    kill_at("rename-2", request)
    env.journal_dir.joinpath("x").write_text("")  # not ours: stays
    refused = dict(request, files=[present(env.path("main.conf"), "bogus\n")])
    kill_at("rollback-0", refused)
    result = env.run(request["files"], validate=["check"], runner=Validator())
    assert result["changed"] is True and env.files() == new and leftovers(env) == []


def test_killed_then_checked(killed):
    env, request, old, new = killed
    kill_at("rename-1", request)
    before = tree(env.root)
    result = env.run(request["files"], check_mode=True, validate=["check"], runner=Validator())
    assert result["changed"] is True
    assert result["repaired"]["action"] == "would complete or roll back"
    assert tree(env.root) == before
