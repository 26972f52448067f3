# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_host: what mptcp_info's host option reports, against fake trees. The
module runs it on real hosts in tests/integration/test_info_probe.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.mptcp.linux.plugins.module_utils import _host


def _finds(*names):
    return lambda name: "/usr/sbin/" + name if name in names else None


def test_systemd_runs_the_host_when_its_runtime_dir_is_a_directory(tmp_path):
    runtime = tmp_path / "run" / "systemd" / "system"
    assert _host.systemd_booted(str(runtime)) is False
    runtime.parent.mkdir(parents=True)
    runtime.write_text("")  # a file is not enough
    assert _host.systemd_booted(str(runtime)) is False
    runtime.unlink()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(str(tmp_path / "elsewhere"), str(runtime))  # sd_booted's trailing slash follows it
    assert _host.systemd_booted(str(runtime)) is True


def test_files_report_each_path_a_dangling_symlink_included(tmp_path):
    unit, dangling, absent = tmp_path / "a.service", tmp_path / "b.service", tmp_path / "c.service"
    unit.write_text("[Unit]\n")
    os.symlink(str(tmp_path / "gone"), str(dangling))
    assert _host.files_present([str(unit), str(dangling), str(absent)]) == {
        str(unit): True, str(dangling): True, str(absent): False}
    assert _host.files_present([]) == {}


def test_missing_names_pyroute2_first_then_the_commands():
    assert _host.missing(True, _finds("ip")) == []
    assert _host.missing(False, _finds("ip")) == ["pyroute2"]
    assert _host.missing(True, _finds()) == ["ip"]
    assert _host.missing(False, _finds()) == ["pyroute2", "ip"]


def test_report_puts_the_three_answers_together(tmp_path):
    runtime = tmp_path / "system"
    runtime.mkdir()
    unit = str(tmp_path / "mptcp-follow.service")
    assert _host.report([unit], False, _finds("ip"), runtime_dir=str(runtime)) == {
        "systemd": True, "files": {unit: False}, "missing": ["pyroute2"]}
