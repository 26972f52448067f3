# -*- coding: utf-8 -*-
"""mptcp.linux.check_mode sees check mode however it was asked for, where
the magic variable ansible_check_mode sees only --check."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import shutil
import subprocess
import sys

import pytest

import ansible_collections.mptcp.linux as collection

# .../ansible_collections/mptcp/linux -> the directory holding ansible_collections
COLLECTIONS = os.path.dirname(os.path.dirname(os.path.dirname(list(collection.__path__)[0])))

PLAYBOOK = """
- hosts: localhost
  gather_facts: false
{play}  tasks:
    - mptcp.linux.check_mode:
      register: plain
    - mptcp.linux.check_mode:
      register: task_off
      check_mode: false
    - mptcp.linux.check_mode:
      register: task_on
      check_mode: true
    # A file, not stdout: the json callback is ansible.posix's from 2.19 on,
    # which ansible-test units does not have.
    - ansible.builtin.copy:
        content: "{{{{ {{'plain': plain.check_mode, 'task_off': task_off.check_mode,
                        'task_on': task_on.check_mode, 'magic': ansible_check_mode}} | to_json }}}}"
        dest: "{result}"
        mode: "0644"
      check_mode: false
"""


def _ansible_playbook():
    """The ansible-playbook of the ansible-core under test: beside the Python
    running the tests in a virtual environment (.venv of make unit), else on
    PATH (ansible-test units runs ansible from its source, through PATH)."""
    beside = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    found = beside if os.path.exists(beside) else shutil.which("ansible-playbook")
    assert found, "no ansible-playbook beside %s nor on PATH" % sys.executable
    return found


def _run(tmp_path, play, cli):
    path = tmp_path / "play.yml"
    result = tmp_path / "result.json"
    path.write_text(PLAYBOOK.format(play="" if play is None else "  check_mode: %s\n" % play, result=result))
    env = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_COLLECTIONS_PATH=COLLECTIONS)
    argv = [_ansible_playbook(), "-i", "localhost,", "-c", "local",
            # the copy below runs a module: on this Python, with no interpreter discovery
            "-e", "ansible_python_interpreter=" + sys.executable, str(path)]
    if cli:
        argv.append("--check")
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(result.read_text())


@pytest.mark.parametrize("play, cli, expected", [
    (None, False, {"plain": False, "task_off": False, "task_on": True, "magic": False}),
    ("true", False, {"plain": True, "task_off": False, "task_on": True, "magic": False}),
    (None, True, {"plain": True, "task_off": False, "task_on": True, "magic": True}),
    ("false", True, {"plain": False, "task_off": False, "task_on": True, "magic": True}),
])
def test_check_mode_however_asked(tmp_path, play, cli, expected):
    assert _run(tmp_path, play, cli) == expected
