# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_netns: name checks and the error paths of enter() (no namespace is entered)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import uuid

import pytest

from ansible_collections.mptcp.linux.plugins.module_utils import _netns
from ansible_collections.mptcp.linux.plugins.module_utils._netns import NetnsError


@pytest.mark.parametrize("name", ["", ".", "..", "/x", "../x", "a/b", "with space", "tab\there", "-lead",
                                  "new\nline", "x" * 256, u"caf\u00e9"])
def test_validate_name_rejects(name):
    with pytest.raises(NetnsError) as excinfo:
        _netns.validate_name(name)
    assert str(excinfo.value).startswith("netns: %r is not a valid namespace name" % name)


@pytest.mark.parametrize("name", ["ns1", "a", "client-1", "lab_server.2", ".hidden", "_x", "x" * 255])
def test_validate_name_accepts(name):
    assert _netns.validate_name(name) is None


def test_enter_missing_namespace_names_it():
    name = "mptcp-unit-%s" % uuid.uuid4().hex
    assert not os.path.exists(os.path.join(_netns.NETNS_RUN_DIR, name))
    with pytest.raises(NetnsError) as excinfo:
        _netns.enter(name)
    assert str(excinfo.value) == "netns: network namespace %r does not exist (%s: No such file or directory)" % (
        name, os.path.join(_netns.NETNS_RUN_DIR, name))


def test_enter_checks_the_name_before_touching_the_filesystem(monkeypatch):
    def forbidden(*args):
        raise AssertionError("os.open called")

    monkeypatch.setattr(_netns.os, "open", forbidden)
    with pytest.raises(NetnsError, match="not a valid namespace name"):
        _netns.enter("../../etc/passwd")


def test_enter_refuses_a_file_that_is_not_a_namespace(tmp_path, monkeypatch):
    """setns() on a regular file fails (EINVAL) whoever runs it: nothing is entered."""
    monkeypatch.setattr(_netns, "NETNS_RUN_DIR", str(tmp_path))
    (tmp_path / "fake").write_text("not a namespace")
    before = os.readlink("/proc/self/ns/net")
    with pytest.raises(NetnsError) as excinfo:
        _netns.enter("fake")
    assert str(excinfo.value) == "netns: cannot enter 'fake': Invalid argument"
    assert os.readlink("/proc/self/ns/net") == before


@pytest.mark.parametrize("name", ["ns1\n", "ns1\r\n", "\nns1", "ns1\x00"])
def test_validate_name_is_a_full_match(name):
    """A trailing newline must not slip through a '$' anchor."""
    with pytest.raises(NetnsError, match="is not a valid namespace name"):
        _netns.validate_name(name)


class _Calls(list):
    fail_back = False


@pytest.fixture
def fake_setns(tmp_path, monkeypatch):
    """enter() and leave() with setns() recorded instead of made: the
    descriptors it is handed, by the file each one was opened from."""
    monkeypatch.setattr(_netns, "NETNS_RUN_DIR", str(tmp_path))
    monkeypatch.setattr(_netns, "THREAD_NETNS", str(tmp_path / "origin"))
    for name in ("origin", "one", "two"):
        (tmp_path / name).write_text(name)
    calls = _Calls()

    def setns(fd):
        calls.append(os.readlink("/proc/self/fd/%d" % fd).rsplit("/", 1)[-1])
        return "Operation not permitted" if calls[-1] == "origin" and calls.fail_back else None

    monkeypatch.setattr(_netns, "_setns", setns)
    monkeypatch.setattr(_netns, "_ORIGIN", [])
    return calls


@pytest.mark.parametrize("ending", [SystemExit(0), SystemExit(1), ValueError("boom"), None])
def test_returning_goes_back_however_main_ends(fake_setns, ending):
    @_netns.returning
    def main():
        _netns.enter("one")
        _netns.enter("two")
        if ending is not None:
            raise ending
        return "done"

    if ending is None:
        assert main() == "done"
    else:
        with pytest.raises(type(ending)):
            main()
    # Back to where the thread started, not to the first namespace entered.
    assert fake_setns == ["one", "two", "origin"]
    assert _netns._ORIGIN == []


def test_returning_without_enter_moves_nothing(fake_setns):
    _netns.returning(lambda: None)()
    assert fake_setns == []


def test_leave_that_fails_ends_the_interpreter(fake_setns, monkeypatch, capsys):
    exits = []
    monkeypatch.setattr(_netns.os, "_exit", exits.append)
    _netns.enter("one")
    fake_setns.fail_back = True
    _netns.leave()
    assert exits == [70]
    assert "cannot return to the original network namespace (Operation not permitted)" in capsys.readouterr().err


def test_enter_that_fails_keeps_no_way_back(fake_setns, tmp_path, monkeypatch):
    (tmp_path / "bad").write_text("x")
    monkeypatch.setattr(_netns, "_setns", lambda fd: "Invalid argument")
    with pytest.raises(NetnsError, match="cannot enter 'bad': Invalid argument"):
        _netns.enter("bad")
    assert _netns._ORIGIN == []
