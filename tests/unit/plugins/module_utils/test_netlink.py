# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_netlink without a netlink socket: flag bits, message encoding, the
order actions are sent in, and import without pyroute2."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import json
import os
import subprocess
import sys

import pytest

from ansible_collections.mptcp.linux.plugins.module_utils import _netlink

# include/uapi/linux/mptcp.h: MPTCP_PM_ADDR_FLAG_*
KERNEL_BITS = {"signal": 1, "subflow": 2, "backup": 4, "fullmesh": 8, "implicit": 16, "laminar": 32}


@pytest.mark.parametrize("name, bit", sorted(KERNEL_BITS.items()))
def test_flag_bits_match_the_kernel(name, bit):
    assert _netlink.names_to_flags([name]) == bit
    assert _netlink.flags_to_names(bit) == [name]


@pytest.mark.parametrize("names", [[], ["signal"], ["backup", "subflow"], ["fullmesh", "laminar", "subflow"],
                                   sorted(KERNEL_BITS)])
def test_flags_round_trip(names):
    assert _netlink.flags_to_names(_netlink.names_to_flags(names)) == sorted(names)


def test_every_bit_pattern_round_trips():
    for value in range(64):
        assert _netlink.names_to_flags(_netlink.flags_to_names(value)) == value


def test_unknown_bits_are_ignored_and_unknown_names_refused():
    assert _netlink.flags_to_names(0x40 | 0x02) == ["subflow"]
    with pytest.raises(KeyError):
        _netlink.names_to_flags(["bogus"])


def test_imports_and_converts_flags_without_pyroute2(monkeypatch):
    """Load a second copy of the module with pyroute2 unimportable."""
    for name in list(sys.modules):
        if name == "pyroute2" or name.startswith("pyroute2."):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "pyroute2", None)  # import pyroute2 -> ImportError
    spec = importlib.util.spec_from_file_location("_netlink_without_pyroute2", _netlink.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert "from pyroute2.netlink import" in module.PYROUTE2_IMPORT_ERROR  # the traceback the modules show
    assert module.flags_to_names(module.names_to_flags(["signal", "backup"])) == ["backup", "signal"]
    assert module.describe_error(ValueError("plain")) == "plain"


LEAN_IMPORT = """
import json, sys
from ansible_collections.mptcp.linux.plugins.module_utils import _netlink
lean = sorted(name for name in sys.modules if name.startswith("pyroute2"))
from pyroute2 import IPRoute  # other code in the same interpreter gets the whole package
import pyroute2
print(json.dumps({"error": _netlink.PYROUTE2_IMPORT_ERROR, "lean": lean,
                  "genl": _netlink.GenericNetlinkSocket.__module__, "iproute": IPRoute.__name__,
                  "version": pyroute2.__version__,
                  "after": sorted(name for name in sys.modules if name.startswith("pyroute2"))}))
"""


def test_pyroute2_is_entered_without_its_package_init():
    """The modules load pyroute2's netlink core only: not NDB, the CLI or the
    entry points that pyroute2/__init__.py loads (seconds on a small host);
    code that asks the package for anything else still gets all of it."""
    proc = subprocess.run([sys.executable, "-c", LEAN_IMPORT], capture_output=True, text=True, check=False,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert proc.returncode == 0, proc.stderr
    found = json.loads(proc.stdout)
    assert found["error"] is None
    assert found["genl"] == "pyroute2.netlink.generic"
    assert not [name for name in found["lean"] if name.startswith(("pyroute2.ndb", "pyroute2.cli", "pyroute2.ipset"))]
    assert found["iproute"] == "IPRoute" and found["version"]
    assert "pyroute2.ndb" in found["after"]


# ---------------------------------------------------------------- message encoding (no socket)


def encode_decode(attrs):
    msg = _netlink._MptcpMsg()
    msg["cmd"] = _netlink.CMD_ADD_ADDR
    msg["version"] = 1
    msg["attrs"] = attrs
    msg.encode()
    back = _netlink._MptcpMsg(msg.data)
    back.decode()
    return back.get_attr("MPTCP_PM_ATTR_ADDR")


def test_add_attributes_ipv6_with_everything():
    attrs = _netlink.MptcpClient._addr_attr({"address": "2001:db8::1", "id": 9, "port": 8080,
                                            "flags": ["signal", "backup"], "ifindex": 3})
    addr = encode_decode(attrs)
    assert addr.get_attr("MPTCP_PM_ADDR_ATTR_FAMILY") == 10
    assert addr.get_attr("MPTCP_PM_ADDR_ATTR_ADDR6") == "2001:db8::1"
    assert addr.get_attr("MPTCP_PM_ADDR_ATTR_ID") == 9
    assert addr.get_attr("MPTCP_PM_ADDR_ATTR_PORT") == 8080
    assert addr.get_attr("MPTCP_PM_ADDR_ATTR_FLAGS") == 0x05
    assert addr.get_attr("MPTCP_PM_ADDR_ATTR_IF_IDX") == 3  # an integer, not pyroute2's hex text


def test_add_attributes_ipv4_minimal():
    attrs = _netlink.MptcpClient._addr_attr({"address": "192.0.2.1", "id": None, "flags": []})
    assert attrs[0][2] == 0x8000  # NLA_F_NESTED
    names = [name for name, value in attrs[0][1]["attrs"]]
    assert names == ["MPTCP_PM_ADDR_ATTR_FAMILY", "MPTCP_PM_ADDR_ATTR_ADDR4", "MPTCP_PM_ADDR_ATTR_FLAGS"]
    addr = encode_decode(attrs)
    assert addr.get_attr("MPTCP_PM_ADDR_ATTR_ADDR4") == "192.0.2.1"
    assert addr.get_attr("MPTCP_PM_ADDR_ATTR_FAMILY") == 2


def test_delete_attributes_carry_no_flags():
    attrs = _netlink.MptcpClient._addr_attr({"id": 4, "address": "192.0.2.1"}, with_flags=False)
    names = [name for name, value in attrs[0][1]["attrs"]]
    assert "MPTCP_PM_ADDR_ATTR_FLAGS" not in names and "MPTCP_PM_ADDR_ATTR_ID" in names


# ---------------------------------------------------------------- apply_actions


class FakeClient(object):
    def __init__(self, refuse=None):
        self.calls = []
        self.refuse = refuse

    def _call(self, verb, endpoint):
        self.calls.append((verb, endpoint))
        if self.refuse == (verb, endpoint.get("address")):
            raise _netlink.NetlinkError(17, "File exists")

    def add(self, endpoint):
        self._call("add", endpoint)

    def delete(self, endpoint):
        self._call("delete", endpoint)

    def set_flags(self, endpoint):
        self._call("set_flags", endpoint)


ACTIONS = [
    ("delete", {"id": 1, "address": "192.0.2.1", "port": None, "dev": None, "flags": ["subflow"]}),
    ("set_flags", {"id": 2, "address": "192.0.2.2", "port": None, "dev": "eth0", "flags": ["backup"]}),
    ("add", {"id": None, "address": "192.0.2.3", "port": None, "dev": "eth1", "flags": ["subflow"]}),
    ("add", {"id": 5, "address": "192.0.2.4", "port": None, "dev": None, "flags": ["signal"]}),
]


def test_apply_actions_in_order_with_ifindexes():
    client = FakeClient()
    _netlink.apply_actions(client, ACTIONS, {"eth0": 2, "eth1": 3})
    assert [(verb, e["address"]) for verb, e in client.calls] == [
        ("delete", "192.0.2.1"), ("set_flags", "192.0.2.2"), ("add", "192.0.2.3"), ("add", "192.0.2.4")]
    assert client.calls[2][1]["ifindex"] == 3
    assert client.calls[3][1]["ifindex"] is None


def test_apply_actions_stops_at_the_refused_one():
    client = FakeClient(refuse=("add", "192.0.2.3"))
    with pytest.raises(_netlink.ApplyError) as excinfo:
        _netlink.apply_actions(client, ACTIONS, {})
    assert excinfo.value.action == ACTIONS[2]
    assert excinfo.value.reason == "File exists"
    assert len(client.calls) == 3


def test_describe_error_prefers_the_kernel_extended_ack():
    assert _netlink.describe_error(_netlink.NetlinkError(22, "missing family")) == "missing family (Invalid argument)"
    # pyroute2 raises the kernel's errno as a positive code, with no text when there is no extended ack
    assert _netlink.describe_error(_netlink.NetlinkError(17)) == "File exists"
    assert _netlink.describe_error(_netlink.NetlinkError(17, "File exists")) == "File exists"
    assert _netlink.describe_error(RuntimeError("other")) == "other"


def test_set_flags_names_the_endpoint_by_id_alone():
    """Given an address, the kernel looks the endpoint up by address and port,
    so a port endpoint would not be found; by id it always is (as
    `ip mptcp endpoint change id N` does)."""
    sent = []

    class Capture(_netlink.MptcpClient):
        def __init__(self):
            pass

        def _request(self, cmd, attrs, flags=None):
            sent.append((cmd, attrs))

    Capture().set_flags({"id": 5, "address": "192.0.2.10", "port": 8443, "flags": ["signal", "backup"]})
    (cmd, attrs), = sent
    assert cmd == _netlink.CMD_SET_FLAGS
    addr = encode_decode(attrs)
    assert addr.get_attr("MPTCP_PM_ADDR_ATTR_ID") == 5
    assert addr.get_attr("MPTCP_PM_ADDR_ATTR_FLAGS") == 0x05
    for absent in ("FAMILY", "ADDR4", "ADDR6", "PORT", "IF_IDX"):
        assert addr.get_attr("MPTCP_PM_ADDR_ATTR_" + absent) is None


def test_apply_actions_logs_what_it_sends_the_refused_one_included():
    client = FakeClient(refuse=("add", "192.0.2.3"))
    sent = []
    with pytest.raises(_netlink.ApplyError):
        _netlink.apply_actions(client, ACTIONS, {}, sent)
    assert sent == ACTIONS[:3]


def test_apply_each_goes_on_past_refusals():
    client = FakeClient(refuse=("set_flags", "192.0.2.2"))
    sent = []
    refused = _netlink.apply_each(client, ACTIONS, {"eth1": 3}, sent)
    assert sent == ACTIONS and len(client.calls) == 4
    assert [(exc.action, exc.reason) for exc in refused] == [(ACTIONS[1], "File exists")]
    assert client.calls[2][1]["ifindex"] == 3
