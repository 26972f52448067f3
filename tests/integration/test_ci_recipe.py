# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""docs/ci.md's CI recipe, run exactly as it is written there.

The block after the `<!-- ci-recipe -->` marker runs with bash, the way a
CI job runs it, on a "runner" made of a throw-away network namespace and a
private mount namespace: /etc behind an overlay (its upper directory
receives every file written under /etc), a private tmpfs on /run (so the
testbed's namespaces and wrappers never reach the machine's own), and no
systemd as PID 1, like most CI runners. The recipe asserts its own transfer
over both paths; this test also checks what it leaves on the runner.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import signal
import subprocess

from conftest import REPO, VENV_BIN, files_under

MARKER = "<!-- ci-recipe -->"
SKIPPED = "persistence skipped"


def recipe():
    """The shell block that follows MARKER in docs/ci.md."""
    with open(os.path.join(REPO, "docs", "ci.md")) as handle:
        text = handle.read()
    assert text.count(MARKER) == 1, "docs/ci.md must mark exactly one recipe block"
    match = re.match(r"\s*```sh\n(.*?)\n```\n", text.split(MARKER, 1)[1], re.S)
    assert match, "the recipe marker must be followed by a ```sh block"
    return match.group(1)


def test_ci_recipe_runs_as_written(tmp_path):
    dist = tmp_path / "dist"
    subprocess.run([os.path.join(VENV_BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(dist), REPO],
                   check=True, capture_output=True)
    tarball, = [str(path) for path in dist.iterdir()]
    work, upper, overlay_work = tmp_path / "work", tmp_path / "etc-upper", tmp_path / "etc-work"
    for directory in (work, upper, overlay_work):
        directory.mkdir()
    (tmp_path / "recipe.sh").write_text(recipe() + "\n")
    after = tmp_path / "after"
    # The runner: loopback up, /etc overlaid, a private /run; then the
    # recipe, then what it left behind in the runner's namespaces.
    runner = (
        'set -e; ip link set lo up; '
        'mount -t overlay overlay -o "lowerdir=/etc,upperdir=$1,workdir=$2" /etc; '
        'mount -t tmpfs tmpfs /run; '
        'bash "$3"; '
        '{ ip netns list; echo ---; ip mptcp limits show; cat /proc/sys/net/mptcp/enabled; } > "$4"'
    )
    # A runner's environment: the ansible commands of the recipe's first
    # section on the system PATH, not their Python (so interpreter discovery
    # finds /usr/bin/python3, as on a runner).
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("ansible-galaxy", "ansible-playbook"):
        os.symlink(os.path.join(VENV_BIN, name), str(tools / name))
    env = {"PATH": os.pathsep.join([str(tools), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]),
           "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8", "WORK": str(work), "TARBALL": tarball,
           "ANSIBLE_NOCOLOR": "1"}
    # Its own session: whatever the recipe left running when it failed (the
    # HTTP server) is killed with the session, and its namespaces go with it.
    proc = subprocess.Popen(["unshare", "--net", "--mount", "--propagation", "private", "--", "sh", "-c", runner,
                             "runner", str(upper), str(overlay_work), str(tmp_path / "recipe.sh"), str(after)],
                            cwd=str(work), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=600)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    output = stdout + stderr
    assert proc.returncode == 0, output
    # Both paths carried a share of the download (the recipe's own check).
    assert re.search(r"^path 1: [0-9]+ bytes", output, re.M) and re.search(r"^path 2: [0-9]+ bytes", output, re.M), output
    # The runner without systemd: green, one line says why nothing persists,
    # and nothing was written under /etc.
    assert SKIPPED in output, output
    assert files_under(upper) == []
    namespaces, runner_state = after.read_text().split("---\n")
    # The teardown left no testbed namespace; the runner keeps its MPTCP state.
    assert namespaces.strip() == ""
    assert runner_state.split("\n")[:2] == ["add_addr_accepted 2 subflows 2 ", "1"], runner_state
