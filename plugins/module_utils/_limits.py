# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The path manager limits, set and checked: what mptcp_limits does, and
what mptcp_endpoints does before its endpoints when given O(limits)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.mptcp.linux.plugins.module_utils import _netlink
from ansible_collections.mptcp.linux.plugins.module_utils._common import LIMIT_MAX

NAMES = ("subflows", "add_addr_accepted")
COMMAND = "ip mptcp limits set subflows %(subflows)d add_addr_accepted %(add_addr_accepted)d"


class LimitsError(Exception):
    """A refused or misread write; the limits were read back (AFTER) and,
    where the kernel took something else, the previous ones put back."""

    def __init__(self, msg, after, commands):
        Exception.__init__(self, msg)
        self.msg = msg
        self.after = after
        self.commands = commands


def wanted(params):
    """The limits given in PARAMS (a dict), those left out omitted."""
    return dict((k, params[k]) for k in NAMES if params.get(k) is not None)


def problems(desired, prefix=""):
    return ["%s%s: %d is out of range 0..%d" % (prefix, k, v, LIMIT_MAX)
            for k, v in sorted(desired.items()) if not 0 <= v <= LIMIT_MAX]


def words(limits):
    return "subflows %(subflows)s add_addr_accepted %(add_addr_accepted)s" % limits


def outcome(before, now):
    if now == before:
        return "Nothing was changed: the limits read back as before (%s)." % words(before)
    return "The limits now differ from before: %s instead of %s." % (words(now), words(before))


def _put_back(client, before, commands):
    """Set BEFORE again; returns the refusal (or "") and the limits read back."""
    commands.append(COMMAND % before)
    try:
        client.set_limits(before["subflows"], before["add_addr_accepted"])
        refusal = ""
    except _netlink.NetlinkError as exc:
        refusal = "putting back the previous limits was refused: %s" % _netlink.describe_error(exc)
    return refusal, client.limits()


def set_checked(client, before, after, commands):
    """Set AFTER (both limits, one request, which the kernel applies whole or
    not at all) and read them back; returns the read-back. On a refusal, or
    a read-back that is not AFTER (the previous limits are then put back),
    raises LimitsError saying what the limits are now. COMMANDS gets what
    was sent."""
    commands.append(COMMAND % after)
    try:
        client.set_limits(after["subflows"], after["add_addr_accepted"])
    except _netlink.NetlinkError as exc:
        now = client.limits()
        raise LimitsError("%s: the kernel refused it: %s. %s" % (commands[-1], _netlink.describe_error(exc), outcome(before, now)),
                          now, commands)
    now = client.limits()
    if now == after:
        return now
    failure = "%s: the kernel accepted it but the limits read back as %s" % (commands[-1], words(now))
    refusal, now = _put_back(client, before, commands)
    if refusal:
        failure += "; " + refusal
    restored = "The previous limits were restored (read back: %s)." % words(now) if now == before else outcome(before, now)
    raise LimitsError("%s. %s" % (failure, restored), now, commands)


def undo(client, before, commands):
    """Put BEFORE back once a later step of the same run failed; returns a
    sentence saying what the limits are now, and the read-back."""
    refusal, now = _put_back(client, before, commands)
    if now == before:
        return "The limits were put back (read back: %s)." % words(now), now
    return "The limits were NOT put back (%s): %s instead of %s." % (
        refusal or "read back otherwise", words(now), words(before)), now
