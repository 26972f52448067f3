#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mptcp_sysctl
short_description: Set the net.mptcp.* kernel settings in one call
version_added: 1.0.0
description:
  - Sets every given C(net.mptcp.*) knob of a network namespace through
    C(/proc/sys/net/mptcp), and optionally persists them in one sysctl.d file.
  - Options left unset are not touched.
  - The request is validated against the running kernel before anything is
    written. A knob this kernel does not have is an error that names the Linux
    version that added it. A scheduler or path manager the kernel does not
    offer is an error that lists the ones it offers.
  - The knobs and the persisted file are applied as one unit (see the notes).
author:
  - mptcp.linux maintainers (@mptcp-linux)
extends_documentation_fragment:
  - mptcp.linux.netns
  - mptcp.linux.lock
  - mptcp.linux.netns.attributes
options:
  enabled:
    description:
      - C(net.mptcp.enabled). Whether applications may create MPTCP sockets.
      - Linux 5.6.
    type: bool
  path_manager:
    description:
      - The path manager that handles endpoints and subflows.
      - V(kernel) is the in-kernel path manager driven by C(ip mptcp endpoint)
        and this collection. V(userspace) hands the decisions to a daemon such as mptcpd.
      - Written to C(net.mptcp.path_manager) where it exists (Linux 6.15), to
        C(net.mptcp.pm_type) (0 or 1, Linux 5.19) before.
    type: str
    choices: [kernel, userspace]
  scheduler:
    description:
      - C(net.mptcp.scheduler). The packet scheduler for new connections.
      - Must be one of C(net.mptcp.available_schedulers). Linux 6.6.
    type: str
  add_addr_timeout:
    description:
      - C(net.mptcp.add_addr_timeout), in seconds. How long to wait before
        re-sending an unacknowledged ADD_ADDR. Linux 5.11.
    type: int
  checksum_enabled:
    description:
      - C(net.mptcp.checksum_enabled). Whether DSS checksums are used. Linux 5.14.
    type: bool
  allow_join_initial_addr_port:
    description:
      - C(net.mptcp.allow_join_initial_addr_port). Whether peers may join
        subflows to the initial address and port. Linux 5.14.
    type: bool
  stale_loss_cnt:
    description:
      - C(net.mptcp.stale_loss_cnt). Retransmission intervals without progress
        before a subflow is considered stale. Linux 5.16.
    type: int
  close_timeout:
    description:
      - C(net.mptcp.close_timeout), in seconds. How long an orphaned connection
        lingers after close. Linux 6.7.
    type: int
  blackhole_timeout:
    description:
      - C(net.mptcp.blackhole_timeout), in seconds. How long MPTCP stays
        disabled after a blackhole was detected. 0 disables the detection. Linux 6.12.
    type: int
  syn_retrans_before_tcp_fallback:
    description:
      - C(net.mptcp.syn_retrans_before_tcp_fallback). SYN retransmissions with
        MPTCP options before falling back to plain TCP. Linux 6.14.
    type: int
  persist:
    description:
      - Also write the given settings to O(persist_path), so that C(systemd-sysctl)
        applies them at boot.
      - The file is rendered deterministically and replaced atomically, only
        when its content changes. The new content is written and synced to a
        temporary file next to it (C(.mptcp-sysctl.<name>.<random>)) before any
        knob is written, and renamed into place after the knobs were written
        and read back.
      - The file holds exactly the knobs given in this call.
      - Cannot be combined with O(netns), because sysctl.d applies to the host namespace.
    type: bool
    default: false
  persist_path:
    description:
      - The sysctl.d file written when O(persist=true). Its directory must exist,
        and the path must be a regular file or not exist yet.
    type: path
    default: /etc/sysctl.d/90-mptcp.conf
notes:
  - Every C(net.mptcp.*) knob belongs to a network namespace.
  - "Failure semantics: the module applies the whole request, the knobs and
    the persisted file, or leaves both as it found them, and says which."
  - "Bad input (a knob this kernel lacks, a value out of range, a scheduler or
    path manager the kernel does not offer, a O(persist_path) in a directory
    that does not exist) fails before anything is written."
  - "Where C(/proc/sys/net/mptcp) is read-only (a read-only mount of C(/proc/sys),
    as in an unprivileged container) and a knob differs from the request, the
    module fails before anything is written, in check mode too. The message
    names the knobs and the usual remedies: run the container privileged, or
    set the knobs at container start (C(--sysctl net.mptcp.enabled=1) and the
    like). Knobs that already hold the requested values need no write."
  - "With O(persist=true), the file is staged first: written and synced under
    a temporary name next to O(persist_path). A path that cannot be written (a
    directory, a place under C(/proc), a read-only file system) fails there,
    before any knob is written; the message names the path and the cause and
    says that nothing was changed."
  - "A kernel refusal of one knob, a knob that reads back otherwise, or a
    rename of the staged file that fails puts back every knob this run wrote,
    removes the staged file, reads the knobs back and says what it found:
    nothing was changed, or which knob is not as before. The result carries
    RV(before), RV(after) (read back) and RV(commands) (every write sent, the
    putting back included)."
  - "A concurrent run on the same network namespace waits for the lock (see
    O(lock_timeout)) and then plans from what the first run left."
  - "A run killed midway can leave some knobs written and others not, and a
    staged temporary file next to O(persist_path); the previous file stays
    whole, since it is only ever replaced by a rename. The next run with the
    same request writes the knobs that differ, rewrites the file if its
    content differs, and removes the temporary files of dead runs, reporting
    them in RV(persist_leftovers) and as a change."
seealso:
  - module: mptcp.linux.mptcp_info
  - name: MPTCP sysctl documentation
    description: The kernel's description of every net.mptcp knob.
    link: https://docs.kernel.org/networking/mptcp-sysctl.html
"""

EXAMPLES = r"""
- name: Enable MPTCP with the in-kernel path manager, and keep it across reboots
  mptcp.linux.mptcp_sysctl:
    enabled: true
    path_manager: kernel
    persist: true

- name: Let mptcpd drive the path management
  mptcp.linux.mptcp_sysctl:
    path_manager: userspace

- name: Tune a network namespace
  mptcp.linux.mptcp_sysctl:
    netns: blue
    enabled: true
    checksum_enabled: false
    add_addr_timeout: 60
    stale_loss_cnt: 4
"""

RETURN = r"""
before:
  description: The requested knobs as they were.
  returned: always
  type: dict
  sample: {"enabled": false, "path_manager": "kernel"}
after:
  description: The requested knobs as they are now, read back (or as they would
    be, in check mode). After a failure, as read back then.
  returned: always
  type: dict
  sample: {"enabled": true, "path_manager": "kernel"}
commands:
  description:
    - The C(sysctl -w) commands equivalent to what was (or would be) written, in order.
    - After a failure, every write that was sent, in order, the refused one
      included, followed by those that put the previous values back.
  returned: always
  type: list
  elements: str
  sample: ["sysctl -w net.mptcp.enabled=1"]
changes:
  description:
    - Deprecated, use RV(commands). The same writes as RV(commands), without the
      C(sysctl -w) prefix. Will be removed in mptcp.linux 2.0.0.
  returned: always
  type: list
  elements: str
  sample: ["net.mptcp.enabled=1"]
persist_path:
  description: The sysctl.d file, when O(persist=true).
  returned: when persist is true
  type: str
  sample: /etc/sysctl.d/90-mptcp.conf
persist_changed:
  description: Whether the sysctl.d file was (or would be) rewritten.
  returned: when persist is true
  type: bool
  sample: true
persist_before:
  description:
    - The content of O(persist_path) before the run, null when there was no such file. A caller
      that must undo the run after a later step failed puts it back.
  returned: when persist is true
  type: str
  sample: "net.mptcp.enabled = 1\n"
persist_leftovers:
  description: Temporary files that an interrupted earlier run left next to the
    sysctl.d file, which this run removed (or would remove, in check mode).
  returned: when persist is true
  type: list
  elements: str
  sample: ["/etc/sysctl.d/.mptcp-sysctl.90-mptcp.conf.k2j4x_1q"]
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mptcp.linux.plugins.module_utils import _sysctl
from ansible_collections.mptcp.linux.plugins.module_utils._common import NETNS_ARGUMENT, enter_netns, netns_restored, lock_timeout_problem
from ansible_collections.mptcp.linux.plugins.module_utils._lock import LOCK_ARGUMENT, ModuleLock


def _read_text(path):
    try:
        with open(path) as handle:
            return handle.read()
    except (IOError, OSError):
        return None


def _cause(exc):
    return exc.strerror or str(exc)


class Run(object):
    """One run: the writes sent so far, and a failure that reports them."""

    def __init__(self, module, desired, before):
        self.module = module
        self.desired = desired
        self.before = before
        self.sent = []

    def fail(self, msg):
        commands = [_sysctl.command(change) for change in self.sent]
        self.module.fail_json(msg=msg, before=self.before, after=_sysctl.read_options(self.desired),
                              commands=commands, changes=[c[len("sysctl -w "):] for c in commands])


def _apply(module, run, changes, after, staged):
    """Runtime and file as one unit: the file is already staged (written and
    synced under a temporary name); write the knobs, read them back, then
    rename the file into place. Any failure puts back the knobs written and
    removes the staged file, and the message says what the read-back shows.
    Returns the knobs read back."""
    path = module.params["persist_path"]
    try:
        done = _sysctl.apply(changes, run.sent)
    except _sysctl.SysctlError as exc:
        if staged is not None:
            staged.discard()
        run.fail("%s%s" % (exc, " %s was not written." % path if staged is not None else ""))
    now = _sysctl.read_options(run.desired)
    failure = None
    if now != after:
        failure = "the knobs read back as %r after writing %r" % (now, after)
    elif staged is not None:
        try:
            staged.commit()
        except (IOError, OSError) as exc:
            failure = "persist_path: cannot replace %s: %s" % (path, _cause(exc))
    if failure is not None:
        failed = _sysctl.rollback(done, run.sent)
        if staged is not None:
            staged.discard()
        run.fail("%s. %s" % (failure, _sysctl.rollback_outcome(done, failed)))
    return now


@netns_restored
def main():
    # one option per knob, typed by the knob table
    argument_spec = dict((option, dict(type=kind)) for option, (dummy, kind, dummy2) in _sysctl.KNOBS.items())
    argument_spec["path_manager"]["choices"] = sorted(_sysctl.PM_TYPE)
    argument_spec.update(
        persist=dict(type="bool", default=False),
        persist_path=dict(type="path", default=_sysctl.DEFAULT_PERSIST_PATH),
    )
    argument_spec.update(NETNS_ARGUMENT)
    argument_spec.update(LOCK_ARGUMENT)
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    params = module.params
    problems = [p for p in [lock_timeout_problem(module)] if p]
    if params["persist"] and params["netns"]:
        problems.append("persist: cannot be combined with netns; sysctl.d files apply to the host namespace at boot")
    desired = dict((k, params[k]) for k in _sysctl.KNOBS if params[k] is not None)
    if not desired:
        problems.append("no knob given: set at least one of %s" % ", ".join(sorted(_sysctl.KNOBS)))
    if problems:
        module.fail_json(msg="; ".join(problems))

    enter_netns(module)
    with ModuleLock(module, "mptcp.linux.mptcp_sysctl"):
        try:
            _sysctl.validate(desired)
            before, after, changes = _sysctl.plan(desired)
        except _sysctl.SysctlError as exc:
            module.fail_json(msg=str(exc))
        # Knobs that already hold the requested values need no write: a
        # container started with --sysctl passes on a read-only /proc/sys.
        if changes and _sysctl.read_only():
            module.fail_json(msg=_sysctl.read_only_message(changes), before=before, after=before, commands=[], changes=[])

        commands = [_sysctl.command(change) for change in changes]
        result = dict(
            changed=bool(changes),
            before=before,
            after=after,
            commands=commands,
            changes=["net.mptcp.%s=%s" % change for change in changes],  # deprecated alias
        )
        diff = dict(before=before, after=after)

        content = leftovers = None
        if params["persist"]:
            path = params["persist_path"]
            if not os.path.isdir(os.path.dirname(path) or "."):
                module.fail_json(msg="persist_path: directory %s does not exist. Nothing was changed." % os.path.dirname(path))
            content = _sysctl.render_conf(desired)
            current = _read_text(path)
            leftovers = _sysctl.leftovers(path)
            result.update(persist_path=path, persist_changed=current != content, persist_leftovers=leftovers,
                          persist_before=current)
            if result["persist_changed"]:
                diff = [diff, dict(before_header=path, after_header=path, before=current or "", after=content)]
            result["changed"] = result["changed"] or result["persist_changed"] or bool(leftovers)

        if module._diff:
            result["diff"] = diff

        if not module.check_mode and result["changed"]:
            run = Run(module, desired, before)
            staged = None
            if content is not None and result["persist_changed"]:
                try:
                    staged = _sysctl.StagedFile(params["persist_path"], content)
                except (IOError, OSError) as exc:
                    module.fail_json(msg="persist_path: cannot write %s: %s. Nothing was changed."
                                     % (params["persist_path"], _cause(exc)), before=before, after=before,
                                     commands=[], changes=[])
            result["after"] = _apply(module, run, changes, after, staged)
            for leftover in leftovers or []:
                try:
                    os.unlink(leftover)
                except OSError as exc:
                    module.warn("persist_path: cannot remove %s, left by an interrupted run: %s" % (leftover, _cause(exc)))
        module.exit_json(**result)


if __name__ == "__main__":
    main()
