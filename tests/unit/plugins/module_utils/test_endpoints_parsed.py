# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_endpoints.parse() (state=parsed): real ``ip mptcp endpoint show``
output, its JSON form, the module's own rendered commands and ip -batch
text, read back into the structure gathered returns; lines it cannot read."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.mptcp.linux.plugins.module_utils import _endpoints as ep
from ansible_collections.mptcp.linux.plugins.module_utils import _netlink, _quote
from ansible_collections.mptcp.linux.plugins.module_utils._endpoints import EndpointError


# ---------------------------------------------------------------- real samples
#
# Recorded on Debian 12 (iproute2 6.1.0) with Linux 6.18: `ip -n NS mptcp
# endpoint add ...` in a throw-away namespace with veth links, then `ip -n
# NS mptcp endpoint show` and `ip -j -n NS mptcp endpoint show`; GATHERED
# is what the module's netlink client read from the same namespace
# (_endpoints.gathered(MptcpClient().endpoints())). Each line ends with the
# blank iproute2 prints after every field.

# Ids given; eth1/eth2/eth4 veths, 2001:db8::1 and 2001:db8:0:1::1 on eth4;
# the interface of id 255 (ifindex 11) was deleted after the add.
SHOW_IDS = (
    "10.0.0.1 id 1 signal dev eth1 \n"
    "10.0.1.1 id 2 subflow dev eth2 \n"
    "10.0.2.1 id 3 signal backup \n"
    "2001:db8::1 id 4 subflow backup fullmesh dev eth4 \n"
    "10.0.0.1 port 1000 id 5 signal dev eth1 \n"
    "192.0.2.9 id 9 \n"
    "2001:db8:0:1::1 port 65535 id 200 signal backup dev eth4 \n"
    "10.0.3.1 id 255 subflow fullmesh dev if11 \n"
)
JSON_IDS = (
    '[{"address":"10.0.0.1","id":1,"signal":true,"dev":"eth1"},{"address":"10.0.1.1","id":2,"subflow":true,'
    '"dev":"eth2"},{"address":"10.0.2.1","id":3,"signal":true,"backup":true},{"address":"2001:db8::1","id":4,'
    '"subflow":true,"backup":true,"fullmesh":true,"dev":"eth4"},{"address":"10.0.0.1","port":1000,"id":5,'
    '"signal":true,"dev":"eth1"},{"address":"192.0.2.9","id":9},{"address":"2001:db8:0:1::1","port":65535,'
    '"id":200,"signal":true,"backup":true,"dev":"eth4"},{"address":"10.0.3.1","id":255,"subflow":true,'
    '"fullmesh":true,"dev":"if11"}]\n'
)
GATHERED_IDS = [
    {"id": 1, "address": "10.0.0.1", "dev": "eth1", "flags": ["signal"]},
    {"id": 2, "address": "10.0.1.1", "dev": "eth2", "flags": ["subflow"]},
    {"id": 3, "address": "10.0.2.1", "flags": ["backup", "signal"]},
    {"id": 4, "address": "2001:db8::1", "dev": "eth4", "flags": ["backup", "fullmesh", "subflow"]},
    {"id": 5, "address": "10.0.0.1", "port": 1000, "dev": "eth1", "flags": ["signal"]},
    {"id": 9, "address": "192.0.2.9", "flags": []},
    {"id": 200, "address": "2001:db8:0:1::1", "port": 65535, "dev": "eth4", "flags": ["backup", "signal"]},
    {"id": 255, "address": "10.0.3.1", "dev": "if11", "flags": ["fullmesh", "subflow"]},
]

# Ids left to the kernel (but one), every combination of flags ip accepts.
SHOW_KERNEL_IDS = (
    "10.0.0.1 id 1 subflow \n"
    "10.0.1.1 id 2 signal \n"
    "2001:db8::1 id 3 subflow backup \n"
    "10.0.2.1 id 7 backup \n"
    "10.0.2.2 id 8 fullmesh \n"
    "10.0.2.3 id 9 subflow backup fullmesh \n"
    "10.0.2.4 id 10 signal subflow backup \n"
    "10.0.2.5 id 11 signal subflow \n"
)
JSON_KERNEL_IDS = (
    '[{"address":"10.0.0.1","id":1,"subflow":true},{"address":"10.0.1.1","id":2,"signal":true},'
    '{"address":"2001:db8::1","id":3,"subflow":true,"backup":true},{"address":"10.0.2.1","id":7,"backup":true},'
    '{"address":"10.0.2.2","id":8,"fullmesh":true},{"address":"10.0.2.3","id":9,"subflow":true,"backup":true,'
    '"fullmesh":true},{"address":"10.0.2.4","id":10,"signal":true,"subflow":true,"backup":true},'
    '{"address":"10.0.2.5","id":11,"signal":true,"subflow":true}]\n'
)
GATHERED_KERNEL_IDS = [
    {"id": 1, "address": "10.0.0.1", "flags": ["subflow"]},
    {"id": 2, "address": "10.0.1.1", "flags": ["signal"]},
    {"id": 3, "address": "2001:db8::1", "flags": ["backup", "subflow"]},
    {"id": 7, "address": "10.0.2.1", "flags": ["backup"]},
    {"id": 8, "address": "10.0.2.2", "flags": ["fullmesh"]},
    {"id": 9, "address": "10.0.2.3", "flags": ["backup", "fullmesh", "subflow"]},
    {"id": 10, "address": "10.0.2.4", "flags": ["backup", "signal", "subflow"]},
    {"id": 11, "address": "10.0.2.5", "flags": ["signal", "subflow"]},
]

# laminar (0x20), added over netlink (iproute2 6.1 has no name for it).
SHOW_LAMINAR = (
    "10.0.0.1 id 1 subflow rawflags 20 dev eth1 \n"
    "10.0.0.2 id 2 rawflags 20 \n"
    "10.0.0.3 id 3 signal backup rawflags 20 \n"
)
JSON_LAMINAR = (
    '[{"address":"10.0.0.1","id":1,"subflow":true,"rawflags":"20","dev":"eth1"},'
    '{"address":"10.0.0.2","id":2,"rawflags":"20"},'
    '{"address":"10.0.0.3","id":3,"signal":true,"backup":true,"rawflags":"20"}]\n'
)
GATHERED_LAMINAR = [
    {"id": 1, "address": "10.0.0.1", "dev": "eth1", "flags": ["laminar", "subflow"]},
    {"id": 2, "address": "10.0.0.2", "flags": ["laminar"]},
    {"id": 3, "address": "10.0.0.3", "flags": ["backup", "laminar", "signal"]},
]

# An implicit endpoint (0x10): a client, no endpoints of its own, joined the
# address a server announced from 10.1.2.1 during a live connection.
SHOW_IMPLICIT = "10.1.2.1 id 1 rawflags 10 \n"
JSON_IMPLICIT = '[{"address":"10.1.2.1","id":1,"rawflags":"10"}]\n'
GATHERED_IMPLICIT = [{"id": 1, "address": "10.1.2.1", "flags": ["implicit"]}]

REAL = [
    (SHOW_IDS, GATHERED_IDS), (JSON_IDS, GATHERED_IDS),
    (SHOW_KERNEL_IDS, GATHERED_KERNEL_IDS), (JSON_KERNEL_IDS, GATHERED_KERNEL_IDS),
    (SHOW_LAMINAR, GATHERED_LAMINAR), (JSON_LAMINAR, GATHERED_LAMINAR),
    (SHOW_IMPLICIT, GATHERED_IMPLICIT), (JSON_IMPLICIT, GATHERED_IMPLICIT),
]


@pytest.mark.parametrize("text, expected", REAL, ids=[
    "show-ids", "json-ids", "show-kernel-ids", "json-kernel-ids", "show-laminar", "json-laminar",
    "show-implicit", "json-implicit"])
def test_real_output_parses_to_what_gathered_read(text, expected):
    assert ep.parse(text) == expected


def test_no_endpoints():
    """`ip mptcp endpoint show` prints nothing, `ip -j` an empty list."""
    assert ep.parse("") == []
    assert ep.parse("\n") == []
    assert ep.parse("[]\n") == []


def test_newer_iproute2_names_implicit_and_laminar():
    """Later iproute2 releases print names for the flags that 6.1 prints as
    rawflags (its mptcp_addr_flag_names table), in text and in JSON."""
    assert ep.parse("10.1.2.1 id 1 implicit \n10.0.0.1 id 2 subflow laminar dev eth1 \n") == [
        {"id": 1, "address": "10.1.2.1", "flags": ["implicit"]},
        {"id": 2, "address": "10.0.0.1", "dev": "eth1", "flags": ["laminar", "subflow"]}]
    assert ep.parse('[{"address":"10.1.2.1","id":1,"implicit":true},'
                    '{"address":"10.0.0.1","id":2,"subflow":true,"laminar":true,"dev":"eth1"}]') == [
        {"id": 1, "address": "10.1.2.1", "flags": ["implicit"]},
        {"id": 2, "address": "10.0.0.1", "dev": "eth1", "flags": ["laminar", "subflow"]}]


def test_both_rawflags_bits_at_once():
    assert ep.parse("10.0.0.1 id 1 subflow rawflags 30 \n")[0]["flags"] == ["implicit", "laminar", "subflow"]


def test_json_with_a_flags_list():
    assert ep.parse('[{"address": "10.0.0.1", "id": 1, "flags": ["signal", "backup"]}]') == [
        {"id": 1, "address": "10.0.0.1", "flags": ["backup", "signal"]}]


def test_windows_line_ends_and_blank_lines():
    assert ep.parse("\r\n10.0.0.1 id 1 signal \r\n\r\n  10.0.0.2 id 2 subflow\r\n") == [
        {"id": 1, "address": "10.0.0.1", "flags": ["signal"]},
        {"id": 2, "address": "10.0.0.2", "flags": ["subflow"]}]


def test_addresses_come_out_as_inet_ntop_writes_them():
    """The form iproute2 and the netlink client give (inet_ntop), whatever
    the spelling of the text."""
    parsed = ep.parse("ip mptcp endpoint add 2001:DB8:0:0::0:1 id 1 subflow\n"
                      "ip mptcp endpoint add ::ffff:192.0.2.1 id 2 subflow\n")
    assert [e["address"] for e in parsed] == ["2001:db8::1", "::ffff:192.0.2.1"]


def test_sorted_by_id_those_without_last():
    parsed = ep.parse("ip mptcp endpoint add 192.0.2.9 subflow\n"
                      "ip mptcp endpoint add 192.0.2.1 subflow\n"
                      "ip mptcp endpoint add 192.0.2.5 id 9 signal\n"
                      "10.0.0.1 id 3 signal \n")
    assert parsed == [
        {"id": 3, "address": "10.0.0.1", "flags": ["signal"]},
        {"id": 9, "address": "192.0.2.5", "flags": ["signal"]},
        {"address": "192.0.2.1", "flags": ["subflow"]},
        {"address": "192.0.2.9", "flags": ["subflow"]},
    ]


def test_flag_bits_agree_with_the_netlink_client():
    assert ep.FLAG_BITS == _netlink.FLAG_BITS


# ---------------------------------------------------------------- the module's own output


def test_the_mptcp_role_restore_file():
    """What roles/mptcp/templates/mptcp.batch.j2 writes: comments, a flush,
    the limits (not endpoints: skipped) and rendered_batch."""
    text = (
        "#\n# Ansible managed\n#\n"
        "# MPTCP limits and endpoints of this host, replayed at boot by mptcp-restore.service\n"
        "# (ip -batch). Written by the mptcp.linux.mptcp role: edits are overwritten.\n"
        "mptcp endpoint flush\n"
        "mptcp limits set subflows 2 add_addr_accepted 0\n"
        "mptcp endpoint add 192.0.2.10 port 8080 dev eth0 id 1 signal\n"
        "mptcp endpoint add 2001:db8::10 id 2 backup subflow\n"
    )
    assert ep.parse(text) == [
        {"id": 1, "address": "192.0.2.10", "port": 8080, "dev": "eth0", "flags": ["signal"]},
        {"id": 2, "address": "2001:db8::10", "flags": ["backup", "subflow"]}]


def test_a_flush_forgets_the_endpoints_before_it():
    assert ep.parse("mptcp endpoint add 192.0.2.1 id 1 subflow\nmptcp endpoint flush\n"
                    "mptcp endpoint add 192.0.2.1 id 2 signal\n") == [
        {"id": 2, "address": "192.0.2.1", "flags": ["signal"]}]


def test_add_takes_its_words_in_any_order_as_ip_does():
    assert ep.parse("ip mptcp endpoint add id 4 signal dev eth0 port 99 192.0.2.1 backup\n") == [
        {"id": 4, "address": "192.0.2.1", "port": 99, "dev": "eth0", "flags": ["backup", "signal"]}]


@pytest.mark.parametrize("dev", ["v'1", 'v"1', "'lead", '"lead', "br\\", "x"])
def test_quoted_dev_names_read_back(dev):
    config = [{"address": "192.0.2.2", "dev": dev, "id": 3, "flags": ["subflow"]}]
    endpoints = ep.render(ep.validate(config, "rendered"))
    expected = [{"id": 3, "address": "192.0.2.2", "dev": dev, "flags": ["subflow"]}]
    assert ep.parse("\n".join(ep.render_commands(endpoints))) == expected
    assert ep.parse(ep.render_batch(endpoints)) == expected


# ---------------------------------------------------------------- round trips (Hypothesis)

# Interface names Linux accepts and ip -batch can carry ('#' is a comment
# there, even in quotes), quote characters included.
IFNAMES = st.text(alphabet=st.sampled_from(list(u"abcxyz019._-@+'\"\\é")), min_size=1, max_size=7).filter(
    lambda name: ep.valid_ifname(name) and _carried(name))


def _carried(word):
    try:
        _quote.ip_batch_word(word)
    except _quote.QuoteError:
        return False
    return True


# Addresses MPTCP can use (validate() refuses the others): IPv4 outside
# 0/8, 127/8, multicast and 240/4; IPv6 in global, unique local and (with a
# dev) link-local space, with runs of zero groups to compress.
IPV4 = st.tuples(st.integers(1, 223).filter(lambda first: first != 127),
                 *[st.integers(0, 255)] * 3).map(lambda octets: "%d.%d.%d.%d" % octets)
HEXTET = st.sampled_from([0, 0, 0, 1]) | st.integers(0, 0xffff)
IPV6 = st.tuples(st.sampled_from([0x2001, 0x2a00, 0x2600, 0xfd12, 0xfe80]), *[HEXTET] * 7).map(
    lambda groups: str(ipaddress.ip_address(":".join("%x" % g for g in groups))))


@st.composite
def endpoint_lists(draw, with_ids=True):
    """Endpoints as the kernel may hold them, in the structure gathered
    returns: unique (address, port), unique ids, kernel flag rules kept."""
    count = draw(st.integers(0, ep.MAX_ENDPOINTS))
    ids = draw(st.lists(st.integers(1, 255), min_size=count, max_size=count, unique=True))
    result, keys = [], set()
    for number in ids:
        dev = draw(st.none() | IFNAMES)
        address = draw(IPV4 | IPV6)
        if address.startswith("fe80:") and dev is None:
            continue  # a link-local address needs its interface
        flags = set(draw(st.sets(st.sampled_from(ep.FLAGS))))
        if "signal" in flags:
            flags.discard("fullmesh")
        port = None
        if "signal" in flags and "subflow" not in flags:
            port = draw(st.none() | st.integers(1, 65535))
        if ep.key({"address": address, "port": port}) in keys:
            continue
        keys.add(ep.key({"address": address, "port": port}))
        result.append({"id": number if with_ids or draw(st.booleans()) else None, "address": address,
                       "port": port, "dev": dev, "flags": sorted(flags)})
    return ep.gathered(ep._sorted(result))


@settings(max_examples=200, deadline=None)
@given(endpoint_lists())
def test_gathered_rendered_parsed_gives_the_same_structure(structure):
    endpoints = ep.render(ep.validate(structure, "rendered"))
    assert ep.parse("\n".join(ep.render_commands(endpoints))) == structure
    assert ep.parse(ep.render_batch(endpoints)) == structure


@settings(max_examples=100, deadline=None)
@given(endpoint_lists(with_ids=False))
def test_without_ids_the_order_is_by_id_then_address(structure):
    endpoints = ep.render(ep.validate(structure, "rendered"))
    assert ep.parse("\n".join(ep.render_commands(endpoints))) == structure


# iproute2's print_mptcp_addrinfo(): the flags in its table's order, those it
# has no name for as "rawflags %02x" after them. 6.1 names the first four.
_TABLE = ("signal", "subflow", "backup", "fullmesh", "implicit", "laminar")


def show(structure, named):
    lines = []
    for item in structure:
        words = [item["address"]]
        if item.get("port"):
            words += ["port", str(item["port"])]
        words += ["id", str(item["id"])]
        words += [f for f in _TABLE[:named] if f in item["flags"]]
        raw = sum(bit for name, bit in ep.FLAG_BITS if name in item["flags"] and name not in _TABLE[:named])
        if raw:
            words += ["rawflags", "%02x" % raw]
        if item.get("dev"):
            words += ["dev", item["dev"]]
        lines.append(" ".join(words) + " \n")
    return "".join(lines)


@settings(max_examples=200, deadline=None)
@given(endpoint_lists(), st.sampled_from([4, 5, 6]))
def test_show_output_parses_to_the_structure(structure, named):
    assert ep.parse(show(structure, named)) == structure


# ---------------------------------------------------------------- lines it cannot read


@pytest.mark.parametrize("text, message", [
    ("10.0.0.1 id 1 signal \nbogus id 2\n", "running_config line 2: 'bogus' is not an IPv4 or IPv6 address ('bogus id 2')"),
    ("10.0.0.1 id 1 signal frob\n", "running_config line 1: unknown word 'frob' ('10.0.0.1 id 1 signal frob')"),
    ("10.0.0.1 id\n", "running_config line 1: 'id' needs a value ('10.0.0.1 id')"),
    ("10.0.0.1 id 0\n", "running_config line 1: id 0 is out of range 1..255 ('10.0.0.1 id 0')"),
    ("10.0.0.1 id 256\n", "running_config line 1: id 256 is out of range 1..255 ('10.0.0.1 id 256')"),
    ("10.0.0.1 id 0x1\n", "running_config line 1: id '0x1' is not a decimal number ('10.0.0.1 id 0x1')"),
    ("10.0.0.1 port 70000 id 1 signal\n", "running_config line 1: port 70000 is out of range 1..65535"),
    ("10.0.0.1 id 1 id 2\n", "running_config line 1: 'id' is given twice"),
    ("10.0.0.1 id 1 signal signal\n", "running_config line 1: flag 'signal' is given twice"),
    ("10.0.0.1 id 1 dev a/b\n", "running_config line 1: dev 'a/b' is not a valid interface name"),
    ("10.0.0.1 id 1 rawflags 40\n", "running_config line 1: rawflags 40 has flag bits this module does not know (0x40)"),
    ("10.0.0.1 id 1 rawflags zz\n", "running_config line 1: rawflags 'zz' is not a hexadecimal number"),
    ("fe80::1%eth0 id 1\n", "running_config line 1: 'fe80::1%eth0' is a scoped address; an endpoint gives its "
                            "interface as dev"),
    ("10.0.0.1 id 1 \n10.0.0.1 id 2 \n", "running_config line 2: endpoint 10.0.0.1 is also on running_config line 1; "
                                         "the kernel holds one endpoint per address and port"),
    ("10.0.0.1 id 1 \n10.0.0.2 id 1 \n", "running_config line 2: id 1 is also used on running_config line 1"),
    ("add_addr_accepted 0 subflows 2 \n", "running_config line 1: 'add_addr_accepted' is not an IPv4 or IPv6 address"),
    ("ip mptcp endpoint delete id 1\n", "running_config line 1: only 'mptcp endpoint add', 'mptcp endpoint flush' "
                                        "and 'mptcp limits' commands are read ('ip mptcp endpoint delete id 1')"),
    ("ip mptcp endpoint add id 1 signal\n", "running_config line 1: no address"),
    ("ip mptcp endpoint add 10.0.0.1 10.0.0.2\n", "running_config line 1: unknown word '10.0.0.2'"),
    ("ip mptcp endpoint add 10.0.0.1 signal fullmesh\n", "running_config line 1: fullmesh cannot be combined with signal"),
    ("ip mptcp endpoint add 10.0.0.1 port 80 subflow\n", "running_config line 1: a port needs the signal flag"),
    ("ip mptcp endpoint add 10.0.0.1 port 80 signal subflow\n", "running_config line 1: an endpoint with a port takes "
                                                                "signal without subflow"),
    ("ip mptcp endpoint add 10.0.0.1 implicit\n", "running_config line 1: 'implicit' cannot be added"),
    ("ip mptcp endpoint add 10.0.0.1 nobackup\n", "running_config line 1: 'nobackup' only changes an endpoint"),
    ("ip mptcp endpoint add 10.0.0.1 rawflags 20\n", "running_config line 1: unknown word 'rawflags'"),
    ('ip mptcp endpoint add 10.0.0.1 dev "eth0\n', "running_config line 1: unterminated quoted string"),
    ("mptcp endpoint add 10.0.0.1 dev eth0 \\\n", "running_config line 1: ends with a backslash"),
    ("[{\"address\": \"10.0.0.1\"},", "running_config: starts with '[' but is not the JSON of ip -j"),
    ("['10.0.0.1 id 1 signal ']", "give a command's stdout, not its stdout_lines"),
    ('[{"address": "10.0.0.1", "id": 1, "frob": 1}]', "running_config[0]: unknown key(s) 'frob'"),
    ('[{"id": 1}]', "running_config[0]: no address"),
    ('[1]', "running_config[0]: is a int, not an object"),
    ('[{"address": "10.0.0.1", "signal": false}]', "running_config[0]: 'signal' is False; ip -j prints true"),
    ('[{"address": "10.0.0.1", "id": "1"}, {"address": "10.0.0.2", "id": 1}]',
     "running_config[1]: id 1 is also used on running_config[0]"),
])
def test_unreadable_lines_are_named(text, message):
    with pytest.raises(EndpointError) as excinfo:
        ep.parse(text)
    assert message in str(excinfo.value)


def test_every_unreadable_line_is_named_at_once():
    with pytest.raises(EndpointError) as excinfo:
        ep.parse("10.0.0.1 id 1 signal \nbad\n10.0.0.2 id 2 \nworse\n")
    assert excinfo.value.problems == [
        "running_config line 2: 'bad' is not an IPv4 or IPv6 address ('bad')",
        "running_config line 4: 'worse' is not an IPv4 or IPv6 address ('worse')"]


def test_running_config_must_be_text():
    with pytest.raises(EndpointError, match=r"^running_config: is a list, not text$"):
        ep.parse(["10.0.0.1 id 1"])
