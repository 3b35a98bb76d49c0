"""The pre-scan before libcst, and the inputs that crash or stall libcst sent
through ``admit()`` by a caller that must stay alive."""

from __future__ import annotations

import json
import select
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from sandbox import DEFAULT_POLICY, parse_stage
from sandbox._prescan import DEFAULT_SCAN_LIMITS as LIMITS, prescan

ROOT = Path(__file__).resolve().parents[2]
REAL_MECHANISMS = sorted((ROOT / "mechanism_library" / "mechanisms").glob("*.py")) + \
    sorted((ROOT / "tests" / "sandbox" / "mechanisms").glob("*.py.txt"))
TROJAN = ('def build(seed):\n    access_level = "user"\n'
          '    if access_level != "user\u202e \u2066// Check if admin\u2069 \u2066":\n'
          '        return "admin"\n    return None\n')

# libcst raises CSTValidationError (not a syntax error) on a continuation line
# between CRLF line ends; found by fuzzing.
MIXED_LINE_ENDS = "\r\n\\\n\r\n\r\n"

# Each attack: source, a code that must refuse it, the line it must name.
ATTACKS = {
    "fstring-bracket-bomb": ('def build(seed):\n    return f"{' + "(" * 3000 + ")" * 3000 + '}"\n',
                             "too-deep", 2),
    "fstring-attribute-chain": ('x = f"{a' + ".b" * 5000 + '}"\n', "too-long-chain", 1),
    "not-chain": ("x = 1\ny = " + "not " * 5000 + "x\n", "too-long-chain", 2),
    "unary-minus-chain": ("x = " + "-" * 5000 + "1\n", "too-long-chain", 1),
    "subscript-chain": ("a = [0]\nx = a" + "[0]" * 5000 + "\n", "too-long-chain", 2),
    "call-chain": ("x = f" + "()" * 5000 + "\n", "too-long-chain", 1),
    "attribute-chain": ("x = a" + ".b" * 5000 + "\n", "too-long-chain", 1),
    "quadratic-binary-chain": ("x = " + " + ".join(["a"] * 12_000) + "\n", "too-long-chain", 1),
    "quadratic-nested-chain": ("x = (" + "a + (a + a) + " * 3000 + "a)\n", "too-long-chain", 1),
    "ternary-chain": ("x = " + "a if b else " * 4000 + "c\n", "too-long-chain", 1),
    "lambda-chain": ("x = " + "lambda: " * 5000 + "c\n", "too-long-chain", 1),
    "lambda-chain-with-commas": ("x = " + "lambda a,: " * 4000 + "c\n", "too-long-chain", 1),
    "dotted-import-chain": ("import " + ".".join(["a"] * 2000) + "\n", "too-long-chain", 1),
    "huge-single-line": ("x = [" + "1, " * 15_000 + "]\n", "too-long-line", 1),
    "cst-validation-error": ("1\rx\\\n\r#\r", "invisible-character", 1),
    "cst-validation-error-mixed-line-ends": (MIXED_LINE_ENDS, "parse-crashed", 1),
    "trojan-source": (TROJAN, "invisible-character", 3),
    "zero-width-space-identifier": ("def build(seed):\n    ad\u200bmin = 1\n    return None\n",
                                    "invisible-character", 2),
    "latin-1-coding-cookie": ("# -*- coding: latin-1 -*-\ndef build(seed):\n    return '\xe9'\n",
                              "coding-cookie", 1),
    "lone-surrogate": ("def build(seed):\n    return '\ud800'\n", "invisible-character", 2),
}

_RUNNER = """
import json, sys, time
from sandbox import admit
attacks = json.loads(sys.stdin.read())
for name, source in attacks:
    started = time.monotonic()
    record = admit(source, "advisor", verify=False)
    print(json.dumps({"name": name, "admitted": record.admitted, "seconds": time.monotonic() - started,
                      "violations": [[v.code, v.line] for v in record.violations]}), flush=True)
benign = admit("def build(seed):\\n    return None\\n", "advisor", verify=False)
print(json.dumps({"name": "benign-after-attacks", "admitted": benign.admitted}), flush=True)
"""


def _run_attacks(names: list[str], per_attack_s: float = 60.0) -> dict[str, dict]:
    """Admit every attack in a caller subprocess. A caller that dies or hangs on
    an attack is that attack's result; the remaining attacks run in a fresh caller."""
    results: dict[str, dict] = {}
    pending = list(names) + ["benign-after-attacks"]
    while pending:
        payload = json.dumps([[name, ATTACKS[name][0]] for name in pending if name in ATTACKS])
        caller = subprocess.Popen([sys.executable, "-c", _RUNNER], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT,
                                  env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})
        caller.stdin.write(payload.encode())
        caller.stdin.close()
        try:
            while pending:
                ready, _, _ = select.select([caller.stdout], [], [], per_attack_s)
                line = caller.stdout.readline() if ready else b""
                if not line:
                    break
                record = json.loads(line)
                results[record["name"]] = record
                pending.remove(record["name"])
        finally:
            caller.kill()
            status = caller.wait()
        if pending:
            results[pending.pop(0)] = {"caller_died": status}
    return results


@pytest.fixture(scope="module")
def attack_results() -> dict[str, dict]:
    return _run_attacks(list(ATTACKS))


@pytest.mark.parametrize("name", list(ATTACKS))
def test_parser_attacks_through_admit_leave_the_caller_alive_with_a_record(attack_results, name) -> None:
    _, code, line = ATTACKS[name]
    result = attack_results[name]
    assert "caller_died" not in result, f"the caller died with status {result.get('caller_died')}"
    assert not result["admitted"]
    assert [code, line] in result["violations"], result["violations"]
    assert result["seconds"] < 10


def test_the_caller_still_admits_benign_code_after_every_attack(attack_results) -> None:
    assert attack_results["benign-after-attacks"] == {"name": "benign-after-attacks", "admitted": True}


@pytest.mark.parametrize("path", REAL_MECHANISMS, ids=lambda p: p.name)
def test_real_mechanisms_pass_the_prescan(path: Path) -> None:
    source = path.read_text()
    assert prescan(source) == []
    assert parse_stage(source).ok


IDIOMATIC_FSTRINGS = [
    'f"{x!r}"', 'f"{x=}"', 'f"{x:>{width}}"', "f\"{d['k']}\"", 'f"{{literal}} {x}"', "f'''{f\"{x}\"}'''",
    'f"{when:%Y-%m-%d %H:%M}"', 'rf"\\d{x}"', "f\"{x:{'<'}10}\"", 'f"{(lambda: 1)()}"',
    "f\"{ {'a': 1}['a'] }\"",
    'f"{x:.3f} ({y:+.1%})"', 'f"{a[1:2]} {b!s:>8}"', 'f"""{x}\n{y}"""', "f'{x}' f'{y}' 'plain'",
]


@pytest.mark.parametrize("literal", IDIOMATIC_FSTRINGS)
def test_idiomatic_fstrings_pass(literal: str) -> None:
    source = f"def build(seed):\n    x = y = width = a = b = when = 1\n    d = {{}}\n    return {literal}\n"
    assert prescan(source) == []


def _codes_at(source: str) -> set[tuple[str, int]]:
    return {(v.code, v.line) for v in prescan(source)}


@given(st.integers(1, 300))
def test_fstring_field_nesting_counts_towards_the_depth(extra: int) -> None:
    # Depth at the brackets: the function body (1), the field's braces (1), the brackets.
    source = 'def build(seed):\n    return f"{' + "(" * extra + "1" + ")" * extra + '}"\n'
    refused = ("too-deep", 2) in _codes_at(source)
    assert refused is (extra + 2 > DEFAULT_POLICY.max_depth)


@given(st.integers(1, 120), st.sampled_from(["'", '"']))
def test_nested_fstring_and_format_spec_fields_count_too(extra: int, quote: str) -> None:
    inner = "[" * extra + "]" * extra
    other = '"' if quote == "'" else "'"
    nested = f"x = f{quote}{{f{other}{{{inner}}}{other}}}{quote}\n"  # field inside a field: 2 + extra
    spec = f"x = f{quote}{{1:{{{inner}}}}}{quote}\n"  # a format-spec field: 2 + extra
    for source in (nested, spec):
        assert (("too-deep", 1) in _codes_at(source)) is (extra + 2 > DEFAULT_POLICY.max_depth)


CHAINS = {
    "prefix": (lambda n: "not " * n + "x", LIMITS.max_unary_run),
    "minus": (lambda n: "-" * n + "x", LIMITS.max_unary_run),
    "attribute": (lambda n: "x" + ".y" * n, LIMITS.max_trailers),
    "subscript": (lambda n: "x" + "[0]" * n, LIMITS.max_trailers),
    "call": (lambda n: "x" + "()" * n, LIMITS.max_trailers),
    "mixed-trailers": (lambda n: "x" + "".join((".y", "[0]", "(1)")[i % 3] for i in range(n)),
                       LIMITS.max_trailers),
    "binary": (lambda n: " + ".join(["x"] * (n + 1)), LIMITS.max_operators),
    "ternary": (lambda n: "x if y else " * (n // 2) + "x" + " or x" * (n % 2), LIMITS.max_operators),
    "lambda": (lambda n: "lambda: " * n + "x", LIMITS.max_lambdas),
}


@given(st.sampled_from(sorted(CHAINS)), st.integers(1, 600))
def test_chains_over_their_limit_are_refused_at_their_line(kind: str, length: int) -> None:
    make, limit = CHAINS[kind]
    source = f"def build(seed):\n    x = y = 1\n    return {make(length)}\n"
    refused = ("too-long-chain", 3) in _codes_at(source)
    assert refused is (length > limit)


def test_chains_are_counted_per_part_of_a_statement() -> None:
    """A long table is not a chain: commas and separate brackets reset the counts."""
    table = "TABLE = [\n" + "".join(f"    -{i} * x + y - {i},\n" for i in range(400)) + "]\n"
    calls = "x = [\n" + ",\n".join("    f(a).b[0]" for _ in range(300)) + "]\n"
    nested = "x = " + " + ".join(f"({' + '.join(['a'] * 60)})" for _ in range(2)) + "\n"
    for source in (table, calls, nested):
        assert prescan(source) == [], source[:60]


BIDI = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A), 0x200E, 0x200F, 0x061C)]
FORMAT_CHARACTERS = [chr(c) for c in range(0x110000) if unicodedata.category(chr(c)) == "Cf"]
CONTROLS = ["\x01", "\x0b", "\x1a", "\x1b", "\x7f", "\x85", "\u2028", "\u2029", "\r"]


@given(st.sampled_from(BIDI + FORMAT_CHARACTERS + CONTROLS), st.booleans())
def test_invisible_characters_are_refused_in_code_and_in_strings(char: str, in_string: bool) -> None:
    place = "'a{}b'" if in_string else "a{}b"
    source = "def build(seed):\n    a = ab = 1\n    return " + place.format(char) + "\n"
    found = [v for v in prescan(source) if v.code == "invisible-character"]
    column = len("    return ") + (2 if in_string else 1)
    assert [(v.line, v.col) for v in found] == [(3, column)]
    escape = f"\\u{ord(char):04x}" if ord(char) > 0xFF else f"\\x{ord(char):02x}"
    if char != "\r":
        assert (escape in found[0].message) is in_string
        assert f"U+{ord(char):04X}" in found[0].message


def test_the_trojan_source_sample_is_refused_at_each_control() -> None:
    found = [(v.line, v.col) for v in prescan(TROJAN) if v.code == "invisible-character"]
    line = TROJAN.splitlines()[2]
    assert found == [(3, col) for col, char in enumerate(line) if char in BIDI] and len(found) == 4


@pytest.mark.parametrize("source", [
    "def build(seed):\n\treturn None\n",  # tab indentation
    "\x0cdef build(seed):\n    return None\n",  # a form feed (page break) before a line
    "def build(seed):\r\n    return None\r\n",  # CRLF line ends
], ids=["tab", "form-feed", "crlf"])
def test_ordinary_whitespace_passes(source: str) -> None:
    assert prescan(source) == []
    assert parse_stage(source).ok


@pytest.mark.parametrize("cookie", ["latin-1", "iso-8859-15", "ascii", "cp1252", "utf-16", "utf-8-sig",
                                    "euc_jp"])
@pytest.mark.parametrize("line", [1, 2])
def test_coding_cookies_other_than_utf8_are_refused(cookie: str, line: int) -> None:
    header = ["#!/usr/bin/env python", f"# -*- coding: {cookie} -*-"] if line == 2 else [f"# coding={cookie}"]
    source = "\n".join(header) + "\ndef build(seed):\n    return None\n"
    assert [(v.code, v.line) for v in prescan(source)] == [("coding-cookie", line)]


@pytest.mark.parametrize("cookie", ["utf-8", "UTF-8", "utf8", "utf_8", "UTF_8"])
def test_utf8_coding_cookies_pass(cookie: str) -> None:
    assert prescan(f"# -*- coding: {cookie} -*-\ndef build(seed):\n    return None\n") == []


def test_a_cookie_after_line_two_is_only_a_comment() -> None:
    assert prescan("x = 1\ny = 2\n# vim: set fileencoding=latin-1 :\n") == []


def test_long_lines_are_refused_at_their_line() -> None:
    ok = "x = '" + "a" * (LIMITS.max_line_chars - 6) + "'\n"
    long = "y = 1\nx = '" + "a" * LIMITS.max_line_chars + "'\n"
    assert prescan(ok) == [] and [(v.code, v.line) for v in prescan(long)] == [("too-long-line", 2)]


def test_too_many_tokens_is_too_large() -> None:
    source = "".join(f"x{i} = ({i}, {i})\n" for i in range(LIMITS.max_tokens // 8 + 10))
    assert "too-large" in {v.code for v in prescan(source)}


def test_a_dedent_that_stops_the_tokenizer_is_a_syntax_error_at_its_line() -> None:
    source = "if a:\n        x = 1\n    y = f" + "()" * 100 + "\n"  # the chain goes unscanned: refused anyway
    assert [(v.code, v.line) for v in prescan(source)] == [("syntax-error", 3)]


def test_libcst_failures_in_process_are_records() -> None:
    """parse_stage turns an exception libcst lets out (here CSTValidationError) into a record."""
    result = parse_stage(MIXED_LINE_ENDS)
    assert not result.ok and [v.code for v in result.violations] == ["parse-crashed"]
    assert "CSTValidationError" in result.violations[0].message


ADVERSARIAL_LINES = ["x = " + "not " * 3000 + "y\n", "x = a" + ".b" * 6000 + "\n",
                     'x = f"{' + "(" * 12_000 + '}"\n', "x = " + "a + " * 6000 + "a\n",
                     "\u202e" * 12_000 + "\n", "(" * 20_000 + "\n"]


@pytest.mark.parametrize("text", ADVERSARIAL_LINES, ids=range(len(ADVERSARIAL_LINES)))
def test_the_prescan_is_fast_on_adversarial_text(text: str) -> None:
    source = text * max(1, 60_000 // len(text.encode()))
    started = time.perf_counter()
    found = prescan(source)
    assert found and time.perf_counter() - started < 2.0
    assert len(found) <= 4 * LIMITS.max_reported
