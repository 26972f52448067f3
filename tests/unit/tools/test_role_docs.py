# -*- coding: utf-8 -*-
# Copyright: mptcp.linux contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
import yaml

from ansible_collections.mptcp.linux.tests.unit.tools.harness import import_tool

role_docs = import_tool("role_docs")


SPECS = {
    "argument_specs": {
        "main": {
            "short_description": "Configure a thing",
            "options": {
                "thing_enabled": {"type": "bool", "default": True, "description": "Turn | it on."},
                "thing_mode": {"type": "str", "choices": ["a", "b"], "default": "a", "description": ["Two", "lines."]},
                "thing_items": {
                    "type": "list",
                    "elements": "dict",
                    "default": [],
                    "description": "Items.",
                    "options": {"name": {"type": "str", "required": True, "description": "Its name."}},
                },
            },
        },
        "extra": {"short_description": "Nothing to set"},
    }
}


def test_render_table_rows():
    text = role_docs.render(SPECS)
    assert text.index("### Entry point `main`") < text.index("### Entry point `extra`")
    assert "| `thing_enabled` | bool | `true` |  | Turn \\| it on. |" in text
    assert "| `thing_mode` | str | `a` | `a`, `b` | Two lines. |" in text
    assert "| `thing_items` | list of dict | `[]` |  | Items. |" in text
    assert "| `thing_items[].name` | str | *required* |  | Its name. |" in text
    assert "This entry point takes no variables." in text


def test_update_replaces_only_between_markers():
    readme = "# Role\n\nIntro.\n\n%s\nold\n%s\n\nTail.\n" % (role_docs.BEGIN, role_docs.END)
    updated = role_docs.update(readme, "NEW")
    assert updated == "# Role\n\nIntro.\n\n%s\n\nNEW\n%s\n\nTail.\n" % (role_docs.BEGIN, role_docs.END)
    assert role_docs.update(updated, "NEW") == updated


def test_update_without_markers_is_an_error():
    with pytest.raises(ValueError, match="markers"):
        role_docs.update("# Role\n", "NEW")


def test_check_reports_stale_then_write_fixes(tmp_path, capsys):
    role = tmp_path / "thing"
    (role / "meta").mkdir(parents=True)
    (role / "meta" / "argument_specs.yml").write_text(yaml.safe_dump(SPECS))
    (role / "README.md").write_text("# thing\n%s\n%s\n" % (role_docs.BEGIN, role_docs.END))
    assert role_docs.main(["--check", str(role)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert role_docs.main([str(role)]) == 0
    assert "`thing_mode`" in (role / "README.md").read_text()
    assert role_docs.main(["--check", str(role)]) == 0


def test_ansible_markup_becomes_markdown():
    assert role_docs._text("Set O(x_mode=a) to V(b), see C(ip mptcp), I(really) B(now) U(https://a.b) L(docs, https://c.d)") == (
        "Set `x_mode=a` to `b`, see `ip mptcp`, *really* **now** <https://a.b> [docs](https://c.d)")
