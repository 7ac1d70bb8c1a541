"""Loading tools from import specs and files."""

from __future__ import annotations

from pathlib import Path

import pytest

from langchain_ste.tools.loading import load_object, load_tools

TOOLS_FILE = '''
from langchain_core.tools import tool


@tool
def shout(text: str) -> str:
    """Upper-case a text."""
    return text.upper()


@tool
def whisper(text: str) -> str:
    """Lower-case a text."""
    return text.lower()


TOOLS = [shout, whisper]
NOT_TOOLS = [1, "two"]
EMPTY: list = []


def make():
    return [whisper]
'''


@pytest.fixture
def tools_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_tools.py"
    path.write_text(TOOLS_FILE)
    return path


def test_module_spec_with_a_factory() -> None:
    assert [t.name for t in load_tools("langchain_ste.tools.examples:example_tools")] == [
        "convert_units",
        "search_catalog",
    ]
    assert [t.name for t in load_tools("langchain_ste.tools.examples:convert_units")] == [
        "convert_units"
    ]


def test_file_spec_with_a_list_a_tool_and_a_factory(tools_file: Path) -> None:
    assert [t.name for t in load_tools(f"{tools_file}:TOOLS")] == ["shout", "whisper"]
    assert [t.name for t in load_tools(f"{tools_file}:shout")] == ["shout"]
    assert [t.name for t in load_tools(f"{tools_file}:make")] == ["whisper"]
    assert load_tools(f"{tools_file}:shout")[0].invoke({"text": "hi"}) == "HI"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("langchain_ste.tools.examples", "is not 'package.module:attr'"),
        ("no_such_module_xyz:tools", "cannot import 'no_such_module_xyz'"),
        ("langchain_ste.tools.examples:nope", "has no attribute 'nope'"),
        ("/no/such/file.py:TOOLS", "cannot import '/no/such/file.py'"),
    ],
)
def test_bad_specs_name_the_cause(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        load_object(spec)


def test_objects_that_are_not_tools_are_refused(tools_file: Path) -> None:
    with pytest.raises(ValueError, match=r"must give LangChain tools, got \['int', 'str'\]"):
        load_tools(f"{tools_file}:NOT_TOOLS")
    with pytest.raises(ValueError, match="got nothing"):
        load_tools(f"{tools_file}:EMPTY")


def test_a_failing_factory_or_a_plain_value_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "odd.py"
    path.write_text("COUNT = 3\n\ndef broken():\n    raise RuntimeError('no API key')\n")
    with pytest.raises(ValueError, match="got int"):
        load_tools(f"{path}:COUNT")
    with pytest.raises(ValueError, match="no API key"):
        load_tools(f"{path}:broken")
