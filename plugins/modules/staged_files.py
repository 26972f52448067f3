#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: staged_files
short_description: Install a set of files as one change, validated by their consumer first
version_added: 1.0.0
description:
  - Brings a set of files to the given content, mode and owner, or removes
    them, as one transaction - no file goes live before the real consumer
    (for example C(nginx -t) or C(systemd-analyze verify)) has accepted the
    whole set, seen at the files' real paths.
  - When every file is as requested and no transaction is pending, nothing
    is written, not even a temporary file, and the result is unchanged.
  - Otherwise each new content is written to a staging file next to its
    target (C(.<file>.staged-<name>), same directory, fsynced), and
    O(validate) runs in a private mount namespace in which each directory of
    a changed file shows the files as they will be after the change - staged
    files at their final names, removed files gone, the staging files
    hidden. Only then are the staging files renamed over their targets (and
    removed files deleted), in the order of O(files).
  - When the validator refuses the set, the staging files and the
    directories made for them are removed, no live file has changed, and the
    module fails with the validator's own output.
  - The transaction is recorded in a journal, C(<journal_dir>/<name>.json),
    before the first file is written; it holds each file's previous content,
    mode and owner. After the renames the journal says that the consumer has
    not loaded the files yet (RV(pending)), and stays until a call with
    O(state=loaded) - typically in the handler that reloads the consumer -
    removes it. It is the only file left behind.
  - A run that finds the journal of an interrupted transaction repairs it
    before anything else, and never reports it as unchanged. Killed before
    any rename, the staging files and new directories are removed
    (C(discarded)) and the run carries on. Killed during the renames, the
    requested files are validated over the live tree (even when all of them
    are in place already) and installed (C(completed)); if the validator
    refuses that, every file of the interrupted transaction is put back as it
    was before it (C(rolled back)) and the module fails with the validator's
    output. Killed after the renames but before the consumer loaded the
    files, the run reports a change with RV(pending) true, so that the
    caller's reload runs.
author:
  - mptcp.linux maintainers (@mptcp-linux)
options:
  name:
    description:
      - Name of the transaction, which names its journal; one per set of
        files that a consumer loads together, for example the role that
        writes them.
      - Letters, digits, C(.), C(_) and C(-), starting with a letter or digit,
        at most 64 characters.
    type: str
    required: true
  state:
    description:
      - V(present) brings the files to O(files).
      - V(loaded) says that the consumer loaded the installed files, and
        removes the journal of a completed transaction. It fails when the
        journal is that of an interrupted one, which a run with
        O(state=present) must repair first.
    type: str
    choices: [present, loaded]
    default: present
  files:
    description:
      - The whole set, in the order in which the files are put in place.
      - Required with O(state=present).
    type: list
    elements: dict
    suboptions:
      path:
        description:
          - Absolute path of the file. A symbolic link there is refused;
            symbolic links in its directories are followed.
        type: path
        required: true
      state:
        description: V(absent) removes the file.
        type: str
        choices: [present, absent]
        default: present
      content:
        description:
          - The file's text, written as UTF-8. Required when present. Render a
            template on the controller with
            C(lookup('ansible.builtin.template', ...)).
        type: str
      mode:
        description:
          - Octal mode, as a string (C("0644")). Default - the existing
            file's, or C(0644) for a new file.
        type: raw
      owner:
        description: User name or uid. Default - the existing file's, or the user the module runs as.
        type: str
      group:
        description: Group name or gid. Default - the existing file's, or the module's group.
        type: str
  validate:
    description:
      - The consumer's check, as an argument vector (no shell), for example
        C([nginx, -t, -c, /etc/nginx/nginx.conf]) or
        C([systemd-analyze, verify, /etc/systemd/system/web.socket]). It runs
        in a private mount namespace that shows the staged files at their
        real paths; a non-zero exit status refuses the change.
      - Needs root (a mount namespace of its own); without it the
        validator cannot run and the change is refused.
    type: list
    elements: str
  refuse:
    description:
      - Regular expressions; a line of the validator's output (stderr, then
        stdout) that one of them matches in full refuses the change even
        when the validator exits 0, for example C(.*ignoring.*) for the
        settings that C(systemd-analyze verify) skips with a warning.
    type: list
    elements: str
    default: []
  pending:
    description:
      - V(true) keeps the journal of a completed change until a call with
        O(state=loaded), and reports RV(pending) and a change on every run
        until then.
      - V(false) for files that no consumer needs to load - the journal
        goes as soon as the files are in place.
    type: bool
    default: true
  journal_dir:
    description: Directory of the journals, created (mode C(0700)) when a change needs it.
    type: path
    default: /var/lib/mptcp-linux/staged
  directory_mode:
    description: Mode of the directories the change creates for new files.
    type: raw
    default: "0755"
  lock_timeout:
    description: Seconds to wait for another run that holds the lock on O(journal_dir).
    type: int
    default: 60
notes:
  - "Test hook: when the environment variable C(MPTCP_STAGED_KILL_AT) names
    a step (C(journal), C(stage-N), C(staged), C(validated), C(committing),
    C(rename-N), C(renamed), C(committed), C(rollback-N), C(loaded)), the
    module kills itself with SIGKILL there, so that tests can interrupt a
    transaction at a chosen point. It has no effect when the variable is
    not set; never set it outside tests."
  - Files are compared by content, mode and owner; a file that differs only
    in mode or owner is replaced by a staged copy too (action C(attributes)).
  - The files of one transaction must not change behind its back between
    the calls - a rollback puts back what the journal recorded.
seealso:
  - name: nginx -t
    description: How nginx tests a configuration.
    link: https://nginx.org/en/docs/switches.html
  - name: systemd-analyze verify
    description: How systemd checks unit files.
    link: https://www.freedesktop.org/software/systemd/man/latest/systemd-analyze.html
attributes:
  check_mode:
    support: full
    description:
      - Reports what would change, including an interrupted transaction that
        would be discarded, completed or rolled back; writes nothing and does
        not run the validator.
  diff_mode:
    support: full
    description: One diff per changed file, its content before and after.
  idempotent:
    support: partial
    description: When run twice in a row with the same arguments, the second run reports no change and writes nothing.
    details:
      - A second run with the same files reports no change, unless the first
        left the transaction pending - then every run reports it until
        O(state=loaded) clears it.
  platform:
    support: full
    description: Linux - the validator's view is a mount namespace.
    platforms: posix
"""

EXAMPLES = r"""
- name: Install the server blocks, validated by nginx as a whole
  mptcp.linux.staged_files:
    name: web
    files:
      - path: /etc/nginx/conf.d/web.conf
        content: "{{ lookup('ansible.builtin.template', 'web.conf.j2') }}"
        mode: "0644"
      - path: /etc/nginx/conf.d/old.conf
        state: absent
    validate: [nginx, -t, -c, /etc/nginx/nginx.conf]
  notify: Reload nginx

# handlers:
- name: Reload nginx
  ansible.builtin.service:
    name: nginx
    state: reloaded
  listen: Reload nginx

- name: Record that nginx loaded them
  mptcp.linux.staged_files:
    name: web
    state: loaded
  listen: Reload nginx

- name: A socket unit, refused when systemd ignores one of its lines
  mptcp.linux.staged_files:
    name: web-socket
    files:
      - path: /etc/systemd/system/web.socket
        content: "{{ lookup('ansible.builtin.template', 'web.socket.j2') }}"
    validate: [systemd-analyze, verify, --man=no, /etc/systemd/system/web.socket]
    refuse: [".*/web\\.socket:[0-9]+: .*ignoring.*"]
"""

RETURN = r"""
files:
  description:
    - Per path, what the run did (or would do, in check mode; or would have
      done, when the validator refused) - V(created), V(updated) (content),
      V(attributes) (mode or owner only), V(removed) or V(unchanged).
  returned: with state=present
  type: dict
  sample: {"/etc/nginx/conf.d/web.conf": "updated", "/etc/nginx/conf.d/old.conf": "removed"}
commands:
  description: What was (or would be) done to each changed file, as shell commands.
  returned: always
  type: list
  elements: str
  sample: ["mv -f /etc/nginx/conf.d/.web.conf.staged-web /etc/nginx/conf.d/web.conf  # mode 0644, owner 0:0"]
pending:
  description:
    - Whether the consumer still has to load the installed files - the
      journal is kept until a call with O(state=loaded).
  returned: always
  type: bool
  sample: true
journal:
  description:
    - V(absent) - no journal (nothing pending), V(pending) - kept until
      O(state=loaded), V(cleared) - removed by O(state=loaded).
  returned: always
  type: str
  sample: pending
journal_path:
  description: The transaction's journal.
  returned: always
  type: str
  sample: /var/lib/mptcp-linux/staged/web.json
repaired:
  description:
    - The interrupted transaction the run found, if any - C(found) its
      phase (V(staged), V(committing)), C(action) what the run did -
      V(discarded), V(completed), V(rolled back) (or V(would discard), V(would
      complete or roll back) in check mode) - C(files) its files, C(removed)
      the staging files and directories removed, C(restored) the files put
      back.
  returned: always
  type: dict
  sample: {"found": "committing", "action": "completed", "files": ["/etc/nginx/nginx.conf"]}
validated:
  description:
    - The validator's run - C(argv), C(rc), C(stdout), C(stderr) and
      C(refused_lines) (the output lines matched by O(refuse)); null when it
      did not run.
  returned: always
  type: dict
  sample:
    argv: [nginx, -t]
    rc: 0
    stdout: ""
    stderr: "nginx: configuration file /etc/nginx/nginx.conf test is successful\n"
    refused_lines: []
msg:
  description: What happened, in one sentence.
  returned: always
  type: str
  sample: "files of web: 1 updated, 1 removed (were validated and installed); pending until the consumer has loaded them (state=loaded)"
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.mptcp.linux.plugins.module_utils import _staged


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            state=dict(type="str", choices=["present", "loaded"], default="present"),
            files=dict(type="list", elements="dict", options=dict(
                path=dict(type="path", required=True),
                state=dict(type="str", choices=["present", "absent"], default="present"),
                content=dict(type="str"),
                mode=dict(type="raw"),
                owner=dict(type="str"),
                group=dict(type="str"),
            )),
            validate=dict(type="list", elements="str"),
            refuse=dict(type="list", elements="str", default=[]),
            pending=dict(type="bool", default=True),
            journal_dir=dict(type="path", default=_staged.DEFAULT_JOURNAL_DIR),
            directory_mode=dict(type="raw", default="0755"),
            lock_timeout=dict(type="int", default=60),
        ),
        required_if=[("state", "present", ["files"])],
        supports_check_mode=True,
    )
    params = module.params
    try:
        directory_mode = _staged.parse_mode(params["directory_mode"])
    except ValueError:
        module.fail_json(msg="directory_mode: %r is not an octal mode such as '0755'" % (params["directory_mode"],))
    try:
        transaction = _staged.Transaction(
            params["name"], journal_dir=params["journal_dir"], files=params["files"], validate=params["validate"],
            refuse=params["refuse"], pending=params["pending"], directory_mode=directory_mode,
            check_mode=module.check_mode, lock_timeout=params["lock_timeout"],
            run_command=module.run_command)
    except _staged.StagedError as err:
        module.fail_json(msg=str(err))
    try:
        if params["state"] == "loaded":
            result = transaction.acknowledge()
        else:
            result = transaction.apply()
    except _staged.StagedError as err:
        module.fail_json(msg=str(err))
    except _staged.StagedFailure as err:
        module.fail_json(**err.result)
    except (IOError, OSError) as err:
        module.fail_json(msg="%s: %s; the journal %s records the transaction, and the next run repairs it"
                         % (err.filename or "I/O error", err.strerror or err, transaction.journal.path))
    if not module._diff:
        result.pop("diff")
    if params["state"] == "loaded":
        result.pop("files")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
