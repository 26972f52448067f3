# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet report (module_utils/_report.py, filter fleet_report) and the
quoting it renders with: HTML read back by the standard library's
html.parser, Markdown by markdown-it-py (CommonMark with GitHub's tables).
tests/integration/test_report.py runs playbooks/report.yml on namespaces.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from html.parser import HTMLParser

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from ansible_collections.mptcp.linux.plugins.filter.fleet_report import fleet_report
from ansible_collections.mptcp.linux.plugins.module_utils import _quote, _report
from ansible_collections.mptcp.linux.plugins.module_utils._quote import QuoteError

from ansible.errors import AnsibleFilterError

EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# What breaks HTML and Markdown: their punctuation, blanks, controls, line
# breaks, NUL, noncharacters, lone surrogates, non-ASCII.
NASTY_CHARACTERS = list("<>&\"'`*_[]()!#|\\~:.-+ \t\r\n\x00\x01\x0b\x7f\x85\u2028\ufffe\ud800\u00e9\U0001f600")
NASTY = st.text(alphabet=st.one_of(st.sampled_from(NASTY_CHARACTERS), st.characters()), max_size=30)


class Texts(HTMLParser):
    """The text of the first <p> and its title attribute; every <td>'s text."""

    def __init__(self):
        HTMLParser.__init__(self, convert_charrefs=True)
        self.title, self.text, self.cells, self._into = None, [], [], None

    def handle_starttag(self, tag, attrs):
        if tag == "p" and self.title is None:
            self.title = dict(attrs).get("title")
            self._into = self.text
        elif tag == "td":
            self.cells.append([])
            self._into = self.cells[-1]

    def handle_endtag(self, tag):
        self._into = None

    def handle_data(self, data):
        if self._into is not None:
            self._into.append(data)


def _parse(page):
    parser = Texts()
    parser.feed(page)
    parser.close()
    return parser


@EXAMPLES
@given(NASTY)
@example("<script>alert('x')</script> & \"q\"")
@example("\x00")
def test_html_text_reads_back_or_is_refused_for_a_character_the_parser_changes(value):
    try:
        rendered = _quote.html_text(value)
    except QuoteError:
        bad = [c for c in value if (ord(c) < 0x20 and c not in "\t\n") or 0x7f <= ord(c) <= 0x9f
               or 0xd800 <= ord(c) <= 0xdfff or 0xfdd0 <= ord(c) <= 0xfdef or ord(c) & 0xfffe == 0xfffe]
        assert bad
        return
    assert "<" not in rendered and '"' not in rendered and "'" not in rendered
    parsed = _parse('<p title="%s">%s</p>' % (rendered, rendered))
    assert parsed.title == value and "".join(parsed.text) == value


@EXAMPLES
@given(NASTY)
def test_visible_text_is_always_html_and_shows_what_it_replaced(value):
    shown = _quote.visible(value)
    assert "\n" not in shown and "\t" not in shown
    parsed = _parse("<p>x%sx</p>" % _quote.html_text(shown))
    assert "".join(parsed.text) == "x%sx" % shown
    if all(c.isprintable() or c == " " for c in value):
        assert shown == value


MARKDOWN = MarkdownIt("commonmark").enable("table")


@EXAMPLES
@given(NASTY)
@example("a | b")
@example("\\")
@example("<b>x</b> &amp; `code` *em* [l](http://x)")
def test_markdown_cell_reads_back_or_is_refused_for_a_line_break(value):
    try:
        cell = _quote.markdown_cell(value)
    except QuoteError:
        assert "\x00" in value or set(value) & set("\r\n\u2028\u2029") or any(0xd800 <= ord(c) <= 0xdfff for c in value)
        return
    page = MARKDOWN.render("| h |\n|---|\n| x%sx |\n" % cell)
    assert "".join(_parse(page).cells[0]) == "x%sx" % value


COUNTERS = {"MPCapableSYNTX": 8, "MPCapableSYNRX": 2, "MPCapableFallbackSYNACK": 3, "MPCapableFallbackACK": 1,
            "MPCapableSYNTXDrop": 0, "MPJoinSynRx": 4}
INFO = {"usable": True, "usable_reason": "socket(...) succeeded", "kernel": "6.18.0",
        "endpoints": [{"address": "192.0.2.1", "id": 1, "flags": ["signal"], "dev": "eth1", "port": None}],
        "limits": {"subflows": 2, "add_addr_accepted": 0}, "counters": COUNTERS,
        "sysctl": {"enabled": "1", "path_manager": "kernel"},
        "connections": [{"state": "ESTAB", "subflows": 2}, {"state": "TIME-WAIT", "subflows": 1}]}
DRIFT = {"endpoints_managed": True, "endpoint_commands": [], "endpoint_error": "",
         "limits_wanted": {"subflows": 2, "add_addr_accepted": 0},
         "sysctls_wanted": {"enabled": True, "path_manager": "kernel"}, "sysctls_pending": []}


def host(info=None, **drift):
    return {"info": dict(INFO, **(info or {})), "drift": dict(DRIFT, **drift)}


def test_fallback_ratio_is_fallbacks_over_mp_capable_attempts():
    assert _report.fallback(COUNTERS) == (10, 4, 0.4)
    assert _report.fallback({"MPCapableSYNTX": 0, "MPCapableSYNRX": 0}) == (0, 0, None)
    assert _report.fallback({}) == (0, 0, None)


def test_a_host_in_step_without_flags():
    entry = _report.build({"a": host()}, servers=["a"])["hosts"][0]
    assert entry["role"] == "server" and entry["in_step"] is True and entry["drift"] == []
    assert entry["flags"] == ["fallback ratio 0.40 above 0.20: a middlebox may strip the MPTCP option"]
    assert entry["connections"] == 1
    assert _report.build({"a": host()}, threshold=0.5)["hosts"][0]["flags"] == []
    assert _report.build({"a": host()}, min_attempts=11)["hosts"][0]["flags"] == []


def test_drift_lists_what_site_would_change():
    changed = host(endpoint_commands=["ip mptcp endpoint add 192.0.2.9 id 2 subflow"],
                   limits_wanted={"subflows": 4, "add_addr_accepted": 0},
                   sysctls_pending=["path_manager"], sysctls_wanted={"path_manager": "userspace"})
    entry = _report.build({"c": changed}, clients=["c"])["hosts"][0]
    assert entry["drift"] == ["ip mptcp endpoint add 192.0.2.9 id 2 subflow", "limits: subflows 2, site.yml sets 4",
                              "net.mptcp.path_manager: kernel, site.yml sets userspace"]
    assert entry["in_step"] is False
    assert "add_addr_accepted 0 on a client: it ignores the addresses servers announce" in entry["flags"]


def test_endpoints_owned_by_another_manager_are_not_drift():
    entry = _report.build({"a": host(endpoints_managed=False, endpoint_commands=["x"])})["hosts"][0]
    assert entry["drift"] == [] and entry["role"] == "standalone"


def test_an_unusable_host_and_a_host_without_data():
    report = _report.build({"down": host({"usable": False, "usable_reason": "ENOPROTOOPT", "counters": {}}),
                            "gone": None})
    down, gone = report["hosts"]
    assert down["flags"] == ["MPTCP not usable: ENOPROTOOPT"] and down["fallback_ratio"] is None
    assert gone["reached"] is False and gone["flags"][0].startswith("no data")
    assert report["summary"] == {"hosts": 2, "usable": 0, "drifted": 0, "flagged": 2}


def test_the_page_escapes_every_value_and_loads_nothing():
    name = "<img src=x onerror=alert(1)>\u2028"
    page = fleet_report({name: host({"usable_reason": "a & b"})}, format="html", generated="<now>")
    assert "<img" not in page and "<script" not in page and "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    parsed = _parse(page)
    assert parsed.cells[0][0] == "<img src=x onerror=alert(1)>\\u2028"
    assert 'data-ratio="0.4000"' in page


def test_markdown_and_json_twins():
    hosts = {"a|b": host(), "gone": None}
    markdown = fleet_report(hosts, format="markdown")
    rows = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert len(rows) == 3 and rows[2].startswith("| gone |") and rows[1].startswith("| a\\|b |")
    assert json.loads(fleet_report(hosts, format="json")) == json.loads(json.dumps(fleet_report(hosts)))


@pytest.mark.parametrize("kwargs, message", [
    ({"format": "pdf"}, "format must be one of data, json, markdown, html, not pdf"),
    ({"fallback_threshold": 2}, "fallback_threshold must be between 0 and 1, not 2.0"),
    ({"min_attempts": 0}, "min_attempts must be 1 or more, not 0"),
])
def test_bad_options_are_named(kwargs, message):
    with pytest.raises(AnsibleFilterError, match="fleet_report: " + message):
        fleet_report({"a": host()}, **kwargs)


def test_the_input_must_be_a_mapping():
    with pytest.raises(AnsibleFilterError, match="must map host names"):
        fleet_report(["a"])
