from __future__ import annotations

import re
import tomllib

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from monitor.tomlpos import KeyIndex, KeyPath, key_line

DOC = '''\
# a comment
title = "top"                      # line 2

[tiktok]                           # line 4
access_token = "x"
advertiser_ids = [                 # line 6
  "1",                             # line 7
  # a comment inside an array
  "2", "3",                        # line 9
]
"quoted key" = 1                   # line 11
'literal.key' = 2                  # line 12
"esc\\u0061ped" = 3                # line 13
a.b.c = 4                          # line 14
a . "d" = 5                        # line 15
description = """
key_in_string = 1
[not_a_table]
"""                                # line 19
raw = \'\'\'
[[also.not.a.table]]
\'\'\'
after_strings = true               # line 23
point = { x = 1, y = { z = 2 } }   # line 24
nested = [[1, 2], [3, [4]]]        # line 25
when = 1979-05-27 07:32:00Z        # line 26
hash = "a # not a comment"         # line 27
quotes = """a "" b """""           # line 28 (ends with two quotes inside)
next = 1                           # line 29

[[rule]]                           # line 31
name = "first"

[rule.match]                       # line 34
name = "Summer*"

[[rule]]                           # line 37
name = "second"
[[rule.step]]                      # line 39
n = 1
[[rule.step]]                      # line 41
n = 2

[deep.er.table]                    # line 44
k = "v"
'''


@pytest.mark.parametrize(
    ("path", "line"),
    [
        (("title",), 2),
        (("tiktok",), 4),
        (("tiktok", "access_token"), 5),
        (("tiktok", "advertiser_ids"), 6),
        (("tiktok", "advertiser_ids", 0), 7),
        (("tiktok", "advertiser_ids", 1), 9),
        (("tiktok", "advertiser_ids", 2), 9),
        (("tiktok", "quoted key"), 11),
        (("tiktok", "literal.key"), 12),
        (("tiktok", "escaped"), 13),
        (("tiktok", "a"), 14),
        (("tiktok", "a", "b"), 14),
        (("tiktok", "a", "b", "c"), 14),
        (("tiktok", "a", "d"), 15),
        (("tiktok", "description"), 16),
        (("tiktok", "raw"), 20),
        (("tiktok", "after_strings"), 23),
        (("tiktok", "point"), 24),
        (("tiktok", "point", "y", "z"), 24),
        (("tiktok", "nested", 1, 1, 0), 25),
        (("tiktok", "when"), 26),
        (("tiktok", "hash"), 27),
        (("tiktok", "quotes"), 28),
        (("tiktok", "next"), 29),
        (("rule",), 31),
        (("rule", 0), 31),
        (("rule", 0, "name"), 32),
        (("rule", 0, "match"), 34),
        (("rule", 0, "match", "name"), 35),
        (("rule", 1), 37),
        (("rule", 1, "name"), 38),
        (("rule", 1, "step", 0, "n"), 40),
        (("rule", 1, "step", 1), 41),
        (("rule", 1, "step", 1, "n"), 42),
        (("deep",), 44),
        (("deep", "er", "table", "k"), 45),
    ],
)
def test_exact_lines(path: KeyPath, line: int) -> None:
    assert KeyIndex(DOC).exact(path) == line


@pytest.mark.parametrize(
    ("path", "line"),
    [
        (("tiktok", "missing"), 4),  # not written: its table
        (("tiktok", "advertiser_ids", 7), 6),  # no such element: the array
        (("tiktok", "point", "w"), 24),  # inside an inline table: the key holding it
        (("rule", 1, "when"), 37),  # the [[rule]] it belongs to
        (("rule", 0, "match", "level"), 34),
        (("deep", "er", "table", "nope"), 44),
        (("not_a_table",), None),  # text inside a multi-line string defines nothing
        (("key_in_string",), None),
        (("also",), None),
        (("nothing", "here"), None),
        ((), None),
    ],
)
def test_falls_back_to_the_enclosing_table(path: KeyPath, line: int | None) -> None:
    assert KeyIndex(DOC).line(path) == line


def test_doc_is_valid_toml() -> None:
    doc = tomllib.loads(DOC)
    assert doc["rule"][1]["step"][1]["n"] == 2
    assert doc["tiktok"]["quotes"] == 'a "" b ""'


def test_key_line_is_the_one_shot_form() -> None:
    assert key_line(DOC, ("tiktok", "access_token")) == 5
    assert key_line("", ("a",)) is None


def test_implicit_tables_take_the_first_line_that_names_them() -> None:
    text = "[a.b.c]\nx = 1\n[a]\ny = 2\n"
    index = KeyIndex(text)
    assert index.exact(("a",)) == 1
    assert index.exact(("a", "b", "c", "x")) == 2
    assert index.exact(("a", "y")) == 4


def test_array_of_tables_inside_array_of_tables_counts_per_parent() -> None:
    text = "[[a]]\n[[a.b]]\n[[a.b]]\n[[a]]\n[[a.b]]\nk = 1\n"
    index = KeyIndex(text)
    assert index.exact(("a", 0, "b", 1)) == 3
    assert index.exact(("a", 1)) == 4
    assert index.exact(("a", 1, "b", 0)) == 5
    assert index.exact(("a", 1, "b", 0, "k")) == 6
    assert index.exact(("a", 1, "b", 1)) is None


def test_crlf_line_endings() -> None:
    text = "[t]\r\nk = 1\r\n\r\nm = [\r\n 1,\r\n 2\r\n]\r\n"
    index = KeyIndex(text)
    assert index.exact(("t", "k")) == 2
    assert index.exact(("t", "m", 1)) == 6


def test_multiline_basic_string_with_escaped_quotes() -> None:
    text = 'a = """x\\"""y"""\nb = 1\n'
    assert tomllib.loads(text)["a"] == 'x"""y'
    assert KeyIndex(text).exact(("b",)) == 2


def test_line_ending_backslash_in_multiline_string() -> None:
    text = 'a = """\\\n  continued \\\\"""\nb = 1\n'
    assert tomllib.loads(text)["a"] == "continued \\"
    assert KeyIndex(text).exact(("b",)) == 3


def test_multiline_inline_table() -> None:  # TOML 1.1; tomllib does not take it yet, the locator does
    text = "t = {\n  a = 1,\n  b = 2\n}\nc = 3\n"
    index = KeyIndex(text)
    assert index.exact(("t", "b")) == 3
    assert index.exact(("c",)) == 5


@pytest.mark.parametrize(
    "text",
    [
        "[unclosed\nk = 1\n",
        "k = \n",
        "k = [1, 2\n",
        'k = "unterminated\nj = 2\n',
        "= 1\n",
        "k = 1 2\n",
        '"\\q" = 1\n',
        "[[",
        "a = '''never closed",
        "\\",
    ],
)
def test_never_raises_on_broken_text(text: str) -> None:
    KeyIndex(text).line(("k",))


def test_recovers_on_the_next_line() -> None:
    text = "k = @@@ oops\nj = 2\n"
    assert KeyIndex(text).exact(("j",)) == 2


# --- property: generated documents -----------------------------------------------------------------------

_keys = st.one_of(
    st.from_regex(r"[A-Za-z0-9_-]{1,8}", fullmatch=True),
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), min_size=0, max_size=8),
)
_strings = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)


def _quote_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else _basic(key)


def _basic(text: str) -> str:
    def escape(char: str) -> str:
        if char in '"\\':
            return "\\" + char
        if char.isprintable():
            return char
        return f"\\u{ord(char):04x}" if ord(char) <= 0xFFFF else f"\\U{ord(char):08x}"

    return '"' + "".join(escape(char) for char in text) + '"'


@st.composite
def _documents(draw: st.DrawFn) -> tuple[str, dict[KeyPath, int]]:
    lines: list[str] = []
    expected: dict[KeyPath, int] = {}

    def emit(text: str) -> int:
        lines.extend(text.split("\n"))
        return len(lines) - text.count("\n")

    def body(table: KeyPath) -> None:
        for key in draw(st.lists(_keys, max_size=4, unique=True)):
            path = (*table, key)
            kind = draw(st.sampled_from(["int", "string", "multiline", "array", "inline"]))
            if kind == "int":
                expected[path] = emit(f"{_quote_key(key)} = {draw(st.integers())}  # note")
            elif kind == "string":
                expected[path] = emit(f"{_quote_key(key)} = {_basic(draw(_strings))}")
            elif kind == "multiline":
                content = draw(_strings).replace("\\", "").replace('"', "").replace("\r", "")
                expected[path] = emit(f'{_quote_key(key)} = """\n{content}\n[fake]\nfake = 1"""')
            elif kind == "array":
                items = draw(st.lists(_strings, max_size=3))
                expected[path] = emit(f"{_quote_key(key)} = [")
                for index, item in enumerate(items):
                    expected[(*path, index)] = emit(f"  {_basic(item)},  # item {index}")
                emit("]")
            else:
                inner = draw(_keys)
                expected[path] = expected[(*path, inner)] = emit(f"{_quote_key(key)} = {{ {_quote_key(inner)} = 1 }}")

    body(())
    for name in draw(st.lists(_keys, max_size=3, unique=True)):
        emit("")
        if draw(st.booleans()):
            expected[(name,)] = expected[(name, 0)] = emit(f"[[{_quote_key(name)}]]")
            body((name, 0))
            expected[(name, 1)] = emit(f"[[ {_quote_key(name)} ]]")
            body((name, 1))
        else:
            expected[(name,)] = emit(f"[{_quote_key(name)}]")
            body((name,))
    return "\n".join(lines) + "\n", expected


@given(_documents())
@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
def test_generated_documents(document: tuple[str, dict[KeyPath, int]]) -> None:
    text, expected = document
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        assume(False)  # e.g. a table name that repeats a top-level key
    index = KeyIndex(text)
    for path, line in expected.items():
        assert index.exact(path) == line, (path, text)
