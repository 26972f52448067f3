# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_sysctl against fake /proc/sys/net/mptcp trees of several kernel versions."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import os

import pytest

from ansible_collections.mptcp.linux.plugins.module_utils import _sysctl
from ansible_collections.mptcp.linux.plugins.module_utils._sysctl import SysctlError

RELEASE = "6.1.0-test-amd64"

# What /proc/sys/net/mptcp holds on a few kernels (values as the kernel prints them)
LINUX_5_15 = {
    "enabled": "1", "add_addr_timeout": "120", "checksum_enabled": "0",
    "allow_join_initial_addr_port": "1",
}
LINUX_6_1 = dict(LINUX_5_15, stale_loss_cnt="4", pm_type="0")
LINUX_6_6 = dict(LINUX_6_1, scheduler="default")
LINUX_6_16 = dict(
    LINUX_6_6, close_timeout="60", available_schedulers="default bpf_rr", blackhole_timeout="3600",
    syn_retrans_before_tcp_fallback="2", path_manager="kernel", available_path_managers="kernel userspace",
)


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    """kernel(files) makes a fake net.mptcp directory and points _sysctl at it."""
    proc = tmp_path / "mptcp"
    monkeypatch.setattr(_sysctl, "PROC_DIR", str(proc))
    monkeypatch.setattr(_sysctl, "kernel_release", lambda: RELEASE)

    def make(files):
        proc.mkdir()
        for name, text in files.items():
            (proc / name).write_text(text + "\n")
        return proc

    return make


def content(proc, name):
    return (proc / name).read_text()


# ---------------------------------------------------------------- validate


@pytest.mark.parametrize("files, option, value, message", [
    (LINUX_6_1, "scheduler", "default", "scheduler: net.mptcp.scheduler does not exist on this kernel "
                                        "(%s); it was added in Linux 6.6" % RELEASE),
    (LINUX_6_6, "close_timeout", 30, "close_timeout: net.mptcp.close_timeout does not exist on this kernel "
                                     "(%s); it was added in Linux 6.7" % RELEASE),
    (LINUX_6_6, "blackhole_timeout", 0, "blackhole_timeout: net.mptcp.blackhole_timeout does not exist on this "
                                        "kernel (%s); it was added in Linux 6.12" % RELEASE),
    (LINUX_6_6, "syn_retrans_before_tcp_fallback", 2, "syn_retrans_before_tcp_fallback: "
     "net.mptcp.syn_retrans_before_tcp_fallback does not exist on this kernel (%s); it was added in Linux 6.14" % RELEASE),
    (LINUX_5_15, "stale_loss_cnt", 4, "stale_loss_cnt: net.mptcp.stale_loss_cnt does not exist on this kernel "
                                      "(%s); it was added in Linux 5.16" % RELEASE),
    # neither path_manager nor pm_type: the error names the file this kernel would need
    (LINUX_5_15, "path_manager", "kernel", "path_manager: net.mptcp.pm_type does not exist on this kernel "
                                           "(%s); it was added in Linux 5.19" % RELEASE),
])
def test_validate_missing_knob_names_the_version(kernel, files, option, value, message):
    kernel(files)
    with pytest.raises(SysctlError) as excinfo:
        _sysctl.validate({option: value})
    assert str(excinfo.value) == message


def test_validate_scheduler_not_available_lists_them(kernel):
    kernel(LINUX_6_16)
    with pytest.raises(SysctlError) as excinfo:
        _sysctl.validate({"scheduler": "bpf_burst"})
    assert str(excinfo.value) == ("scheduler: 'bpf_burst' is not available on this kernel; "
                                  "available schedulers: default, bpf_rr")


def test_validate_scheduler_available(kernel):
    kernel(LINUX_6_16)
    _sysctl.validate({"scheduler": "bpf_rr"})  # does not raise


def test_validate_scheduler_without_available_schedulers_is_not_checked(kernel):
    kernel(LINUX_6_6)  # 6.6 .. 6.9: scheduler, but no available_schedulers yet
    _sysctl.validate({"scheduler": "anything"})


def test_validate_path_manager_not_available(kernel):
    kernel(dict(LINUX_6_16, available_path_managers="kernel"))
    with pytest.raises(SysctlError) as excinfo:
        _sysctl.validate({"path_manager": "userspace"})
    assert str(excinfo.value) == ("path_manager: 'userspace' is not available on this kernel; "
                                  "available path managers: kernel")


@pytest.mark.parametrize("option, value, bounds", [
    ("add_addr_timeout", -1, "0..2147483"),
    ("add_addr_timeout", 2147484, "0..2147483"),
    ("stale_loss_cnt", 0, "1..2147483647"),
    ("close_timeout", 2147484, "0..2147483"),
    ("blackhole_timeout", -5, "0..2147483647"),
    ("syn_retrans_before_tcp_fallback", 256, "0..255"),
])
def test_validate_int_out_of_range(kernel, option, value, bounds):
    kernel(LINUX_6_16)
    with pytest.raises(SysctlError) as excinfo:
        _sysctl.validate({option: value})
    assert str(excinfo.value) == "%s: %s is out of range %s" % (option, value, bounds)


def test_validate_int_bounds_are_inclusive(kernel):
    kernel(LINUX_6_16)
    _sysctl.validate({"add_addr_timeout": 0, "close_timeout": 2147483, "stale_loss_cnt": 1,
                      "syn_retrans_before_tcp_fallback": 255, "blackhole_timeout": 2147483647})


def test_validate_reports_every_problem_at_once(kernel):
    kernel(LINUX_6_1)
    with pytest.raises(SysctlError) as excinfo:
        _sysctl.validate({"scheduler": "default", "stale_loss_cnt": 0, "close_timeout": 1, "enabled": True})
    text = str(excinfo.value)
    parts = ["close_timeout: net.mptcp.close_timeout does not exist", "scheduler: net.mptcp.scheduler does not exist",
             "stale_loss_cnt: 0 is out of range 1..2147483647"]
    assert [text.find(p) for p in parts] == sorted(text.find(p) for p in parts)
    assert all(p in text for p in parts)
    assert "enabled" not in text


def test_validate_without_mptcp_at_all(kernel):
    # no directory made: a kernel without CONFIG_MPTCP
    with pytest.raises(SysctlError) as excinfo:
        _sysctl.validate({"enabled": True})
    assert str(excinfo.value) == ("this kernel (%s) has no %s: MPTCP needs Linux >= 5.6 built with CONFIG_MPTCP"
                                  % (RELEASE, _sysctl.PROC_DIR))


def test_every_knob_is_documented_with_the_version_that_added_it():
    assert set(_sysctl.KNOBS) == {
        "enabled", "add_addr_timeout", "checksum_enabled", "allow_join_initial_addr_port", "stale_loss_cnt",
        "path_manager", "scheduler", "close_timeout", "blackhole_timeout", "syn_retrans_before_tcp_fallback"}
    assert _sysctl.KNOBS["scheduler"][0] == "6.6" and _sysctl.KNOBS["enabled"][0] == "5.6"


# ---------------------------------------------------------------- plan


def test_plan_only_differing_knobs_produce_writes(kernel):
    kernel(LINUX_6_16)
    before, after, changes = _sysctl.plan({
        "enabled": True, "checksum_enabled": True, "add_addr_timeout": 120, "close_timeout": 30,
        "scheduler": "default", "allow_join_initial_addr_port": False,
    })
    assert changes == [("allow_join_initial_addr_port", "0"), ("checksum_enabled", "1"), ("close_timeout", "30")]
    assert before == {"enabled": True, "checksum_enabled": False, "add_addr_timeout": 120, "close_timeout": 60,
                      "scheduler": "default", "allow_join_initial_addr_port": True}
    assert after == {"enabled": True, "checksum_enabled": True, "add_addr_timeout": 120, "close_timeout": 30,
                     "scheduler": "default", "allow_join_initial_addr_port": False}


def test_plan_converged_has_no_write(kernel):
    kernel(LINUX_6_16)
    before, after, changes = _sysctl.plan({"enabled": True, "stale_loss_cnt": 4, "path_manager": "kernel"})
    assert changes == [] and before == after


@pytest.mark.parametrize("current, wanted, changes, before", [
    ("0", "userspace", [("pm_type", "1")], "kernel"),
    ("1", "kernel", [("pm_type", "0")], "userspace"),
    ("0", "kernel", [], "kernel"),
])
def test_plan_path_manager_maps_to_pm_type_before_6_15(kernel, current, wanted, changes, before):
    kernel(dict(LINUX_6_1, pm_type=current))
    got_before, got_after, got_changes = _sysctl.plan({"path_manager": wanted})
    assert got_changes == changes
    assert got_before == {"path_manager": before} and got_after == {"path_manager": wanted}


def test_plan_path_manager_written_by_name_from_6_15(kernel):
    kernel(LINUX_6_16)
    before, after, changes = _sysctl.plan({"path_manager": "userspace"})
    assert changes == [("path_manager", "userspace")]
    assert before == {"path_manager": "kernel"}


def test_kernel_key_and_values_per_kernel(kernel):
    kernel(LINUX_6_1)
    assert _sysctl.kernel_key("path_manager") == "pm_type"
    assert _sysctl.kernel_key("enabled") == "enabled"
    assert _sysctl.to_kernel("path_manager", "userspace") == "1"
    assert _sysctl.from_kernel("path_manager", "1") == "userspace"
    assert _sysctl.to_kernel("enabled", False) == "0"
    assert _sysctl.from_kernel("enabled", "1") is True
    assert _sysctl.from_kernel("close_timeout", "60") == 60


def test_read_all_lists_every_file(kernel):
    kernel(LINUX_6_16)
    values = _sysctl.read_all()
    assert values["available_schedulers"] == "default bpf_rr"
    assert values["pm_type"] == "0"
    assert sorted(values) == sorted(LINUX_6_16)


def test_read_all_without_mptcp(kernel):
    assert _sysctl.read_all() == {}


# ---------------------------------------------------------------- apply


def test_apply_writes_each_change(kernel):
    proc = kernel(LINUX_6_16)
    sent = []
    done = _sysctl.apply([("checksum_enabled", "1"), ("scheduler", "bpf_rr")], sent)
    assert content(proc, "checksum_enabled") == "1\n"
    assert content(proc, "scheduler") == "bpf_rr\n"
    assert content(proc, "enabled") == "1\n"  # untouched
    assert done == [("checksum_enabled", "0"), ("scheduler", "default")]
    assert [_sysctl.command(c) for c in sent] == ["sysctl -w net.mptcp.checksum_enabled=1",
                                                  "sysctl -w net.mptcp.scheduler=bpf_rr"]


def refusing(monkeypatch, refuse):
    """Make _sysctl.write refuse the (name, value) pairs in REFUSE with EINVAL; returns the log of writes."""
    real_write = _sysctl.write
    written = []

    def write(name, value):
        written.append((name, value))
        if (name, value) in refuse:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        real_write(name, value)

    monkeypatch.setattr(_sysctl, "write", write)
    return written


def test_apply_rolls_back_when_the_kernel_refuses_a_write(kernel, monkeypatch):
    proc = kernel(LINUX_6_16)
    written = refusing(monkeypatch, [("close_timeout", "99")])
    sent = []
    with pytest.raises(SysctlError) as excinfo:
        _sysctl.apply([("checksum_enabled", "1"), ("scheduler", "bpf_rr"), ("close_timeout", "99"),
                       ("stale_loss_cnt", "9")], sent)
    assert str(excinfo.value) == (
        "net.mptcp.close_timeout: the kernel refused '99' (Invalid argument). Nothing was changed: the 2 knob(s) "
        "already written (net.mptcp.checksum_enabled, net.mptcp.scheduler) were put back and read back as before.")
    # rolled back newest first, and the knob after the refused one never written
    assert written == [("checksum_enabled", "1"), ("scheduler", "bpf_rr"), ("close_timeout", "99"),
                       ("scheduler", "default"), ("checksum_enabled", "0")]
    assert sent == written  # what the module reports as commands
    for name in ("checksum_enabled", "scheduler", "close_timeout", "stale_loss_cnt"):
        assert content(proc, name) == LINUX_6_16[name] + "\n"


def test_apply_first_write_refused_changes_nothing(kernel, monkeypatch):
    kernel(LINUX_6_16)
    refusing(monkeypatch, [("checksum_enabled", "1")])
    with pytest.raises(SysctlError) as excinfo:
        _sysctl.apply([("checksum_enabled", "1"), ("scheduler", "bpf_rr")], [])
    assert str(excinfo.value) == ("net.mptcp.checksum_enabled: the kernel refused '1' (Invalid argument). Nothing was "
                                  "changed: it was the first knob to write, and it reads back as before.")


def test_apply_says_which_knob_could_not_be_put_back(kernel, monkeypatch):
    """The read-back, not the attempt, decides what the message says."""
    proc = kernel(LINUX_6_16)
    refusing(monkeypatch, [("close_timeout", "99"), ("checksum_enabled", "0")])
    with pytest.raises(SysctlError) as excinfo:
        _sysctl.apply([("checksum_enabled", "1"), ("scheduler", "bpf_rr"), ("close_timeout", "99")], [])
    assert str(excinfo.value) == (
        "net.mptcp.close_timeout: the kernel refused '99' (Invalid argument). Not as before after putting back "
        "what was written: net.mptcp.checksum_enabled is '1', was '0'.")
    assert content(proc, "scheduler") == "default\n"


def test_apply_rolls_back_when_a_knob_cannot_be_used(kernel):
    """No patching: a knob that is a directory can be neither read nor written."""
    proc = kernel(LINUX_6_16)
    os.remove(str(proc / "blackhole_timeout"))
    (proc / "blackhole_timeout").mkdir()
    with pytest.raises(SysctlError) as excinfo:
        _sysctl.apply([("enabled", "0"), ("blackhole_timeout", "5")], [])
    assert str(excinfo.value) == (
        "net.mptcp.blackhole_timeout: cannot be read (Is a directory). Nothing was changed: the 1 knob(s) already "
        "written (net.mptcp.enabled) were put back and read back as before.")
    assert content(proc, "enabled") == "1\n"


def test_rollback_after_everything_was_written(kernel):
    """What the module does when the persist file cannot be renamed into place."""
    proc = kernel(LINUX_6_16)
    sent = []
    done = _sysctl.apply([("enabled", "0"), ("close_timeout", "5")], sent)
    assert content(proc, "close_timeout") == "5\n"
    assert _sysctl.rollback(done, sent) == []
    assert sent == [("enabled", "0"), ("close_timeout", "5"), ("close_timeout", "60"), ("enabled", "1")]
    assert content(proc, "enabled") == "1\n" and content(proc, "close_timeout") == "60\n"
    assert _sysctl.rollback_outcome(done, []) == (
        "Nothing was changed: the 2 knob(s) already written (net.mptcp.enabled, net.mptcp.close_timeout) "
        "were put back and read back as before.")
    assert _sysctl.rollback_outcome([], []) == "Nothing was changed: no knob had to be written."


def test_read_options_reads_values_as_option_types(kernel):
    kernel(LINUX_6_1)
    assert _sysctl.read_options(["enabled", "path_manager", "stale_loss_cnt"]) == {
        "enabled": True, "path_manager": "kernel", "stale_loss_cnt": 4}


# ---------------------------------------------------------------- the staged persist file


def test_staged_file_is_written_synced_and_renamed(tmp_path):
    target = tmp_path / "90-mptcp.conf"
    target.write_text("old\n")
    staged = _sysctl.StagedFile(str(target), "new\n")
    names = sorted(os.listdir(str(tmp_path)))
    assert names[0].startswith(".mptcp-sysctl.90-mptcp.conf.") and names[1:] == ["90-mptcp.conf"]
    assert target.read_text() == "old\n"  # nothing that a reader sees changed yet
    assert _sysctl.leftovers(str(target)) == []  # alive: its writer holds it
    staged.commit()
    assert os.listdir(str(tmp_path)) == ["90-mptcp.conf"]
    assert target.read_text() == "new\n"
    assert oct(os.stat(str(target)).st_mode & 0o777) == "0o644"


def test_staged_file_discard_leaves_nothing(tmp_path):
    target = tmp_path / "90-mptcp.conf"
    staged = _sysctl.StagedFile(str(target), "new\n")
    staged.discard()
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.parametrize("make, cause", [
    (lambda p: p.mkdir(), "it is a directory"),
    (lambda p: os.mkfifo(str(p)), "it is not a regular file"),
])
def test_staged_file_refuses_a_target_that_is_not_a_file(tmp_path, make, cause):
    target = tmp_path / "90-mptcp.conf"
    make(target)
    with pytest.raises(OSError) as excinfo:
        _sysctl.StagedFile(str(target), "new\n")
    assert excinfo.value.strerror == cause
    assert os.listdir(str(tmp_path)) == ["90-mptcp.conf"]


def test_staged_file_in_a_missing_directory(tmp_path):
    with pytest.raises(OSError, match="does not exist"):
        _sysctl.StagedFile(str(tmp_path / "nosuch" / "90-mptcp.conf"), "new\n")


def test_staged_file_follows_a_symlink_to_its_target(tmp_path):
    real = tmp_path / "real.conf"
    real.write_text("old\n")
    link = tmp_path / "90-mptcp.conf"
    link.symlink_to(real)
    _sysctl.StagedFile(str(link), "new\n").commit()
    assert os.path.islink(str(link)) and real.read_text() == "new\n"


def test_leftovers_are_the_temporary_files_of_dead_writers(tmp_path):
    target = tmp_path / "90-mptcp.conf"
    dead = tmp_path / ".mptcp-sysctl.90-mptcp.conf.abc123"
    dead.write_text("half")
    other = tmp_path / ".mptcp-sysctl.other.conf.abc123"  # another file's: not ours to judge
    other.write_text("x")
    live = _sysctl.StagedFile(str(target), "new\n")
    try:
        assert _sysctl.leftovers(str(target)) == [str(dead)]
    finally:
        live.discard()
    assert _sysctl.leftovers(str(tmp_path / "nosuch" / "x.conf")) == []


# ---------------------------------------------------------------- render_conf


def test_render_conf_on_a_recent_kernel(kernel):
    kernel(LINUX_6_16)
    text = _sysctl.render_conf({"scheduler": "bpf_rr", "enabled": True, "path_manager": "userspace",
                                "checksum_enabled": False, "close_timeout": 30})
    assert text == (
        "# Managed by Ansible (mptcp.linux.mptcp_sysctl). Local edits are overwritten.\n"
        "net.mptcp.checksum_enabled = 0\n"
        "net.mptcp.close_timeout = 30\n"
        "net.mptcp.enabled = 1\n"
        "net.mptcp.path_manager = userspace\n"
        "net.mptcp.scheduler = bpf_rr\n"
    )


def test_render_conf_maps_path_manager_to_pm_type(kernel):
    kernel(LINUX_6_1)
    assert _sysctl.render_conf({"path_manager": "userspace", "add_addr_timeout": 60}) == (
        "# Managed by Ansible (mptcp.linux.mptcp_sysctl). Local edits are overwritten.\n"
        "net.mptcp.add_addr_timeout = 60\n"
        "net.mptcp.pm_type = 1\n"
    )


def test_render_conf_is_deterministic(kernel):
    kernel(LINUX_6_16)
    one = {"enabled": True, "scheduler": "default", "stale_loss_cnt": 4}
    other = dict(reversed(list(one.items())))
    assert _sysctl.render_conf(one) == _sysctl.render_conf(other)
    assert _sysctl.render_conf(one) == _sysctl.render_conf(dict(one))
    assert _sysctl.render_conf(one) != _sysctl.render_conf(dict(one, stale_loss_cnt=5))


@pytest.mark.parametrize("path", ["/proc/sys/net/mptcp/90-mptcp.conf", "/proc/sys/net/mptcp/enabled", "/sys/kernel/x.conf"])
def test_staged_file_refuses_the_kernel_interfaces(path):
    with pytest.raises(OSError) as excinfo:
        _sysctl.StagedFile(path, "new\n")
    assert excinfo.value.strerror.startswith("it is under /%s, an interface of the kernel" % path.split("/")[1])


def test_staged_file_in_a_directory_it_cannot_create_in(tmp_path, monkeypatch):
    def refuse(**kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(_sysctl.tempfile, "mkstemp", refuse)
    with pytest.raises(OSError) as excinfo:
        _sysctl.StagedFile(str(tmp_path / "90-mptcp.conf"), "new\n")
    assert excinfo.value.strerror == "cannot create a file in %s (Read-only file system)" % tmp_path


# ---------------------------------------------------------------- read-only /proc/sys


class _Statvfs(object):
    def __init__(self, flags):
        self.f_flag = flags


@pytest.mark.parametrize("flags, expected", [(os.ST_RDONLY | os.ST_NOSUID, True), (os.ST_NOSUID, False), (0, False)])
def test_read_only_is_the_mount_flag(kernel, monkeypatch, flags, expected):
    proc = kernel(LINUX_6_16)
    asked = []
    monkeypatch.setattr(os, "statvfs", lambda path: asked.append(path) or _Statvfs(flags))
    assert _sysctl.read_only() is expected
    assert asked == [str(proc)]


def test_read_only_on_a_writable_directory(kernel):
    kernel(LINUX_6_16)
    assert _sysctl.read_only() is False


def test_read_only_without_mptcp_is_left_to_validate(kernel):
    """No directory at all is validate()'s error (no CONFIG_MPTCP), not a mount question."""
    assert _sysctl.read_only() is False


def test_read_only_message_names_the_cause_and_the_remedies():
    message = _sysctl.read_only_message([("enabled", "1"), ("add_addr_timeout", "60")])
    assert message.startswith("%s is read-only here (a read-only mount of /proc/sys, as in an unprivileged container)"
                              % _sysctl.PROC_DIR)
    assert "net.mptcp.enabled=1, net.mptcp.add_addr_timeout=60 cannot be written. Nothing was changed." in message
    assert "privileged" in message
    assert message.endswith("--sysctl net.mptcp.enabled=1 --sysctl net.mptcp.add_addr_timeout=60")


def test_apply_first_write_on_a_read_only_mount_says_why(kernel, monkeypatch):
    """EROFS on the first write (the mount turned read-only after the check):
    nothing was written, and the message gives the remedies."""
    proc = kernel(LINUX_6_16)

    def write(name, value):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(_sysctl, "write", write)
    changes = [("enabled", "0"), ("close_timeout", "5")]
    with pytest.raises(SysctlError) as excinfo:
        _sysctl.apply(changes, [])
    assert str(excinfo.value) == _sysctl.read_only_message(changes)
    assert content(proc, "enabled") == "1\n"


def test_apply_later_read_only_write_reports_the_rollback(kernel, monkeypatch):
    """EROFS after a knob was written is a refusal like any other: the
    message says what was put back, not that nothing was written."""
    kernel(LINUX_6_16)
    real_write = _sysctl.write

    def write(name, value):
        if name == "close_timeout":
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        real_write(name, value)

    monkeypatch.setattr(_sysctl, "write", write)
    with pytest.raises(SysctlError) as excinfo:
        _sysctl.apply([("enabled", "0"), ("close_timeout", "5")], [])
    assert str(excinfo.value).startswith("net.mptcp.close_timeout: the kernel refused '5' (Read-only file system). "
                                         "Nothing was changed: the 1 knob(s) already written")
