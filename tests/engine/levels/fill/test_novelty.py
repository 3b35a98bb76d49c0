"""Novelty: copies of library mechanisms are caught through renaming, distinct mechanisms are not."""

from __future__ import annotations

import ast
import builtins
import io
import itertools
import json
import keyword
import tokenize

import pytest
from hypothesis import given, settings, strategies as st

from engine.levels.fill.novelty import (
    COPY_THRESHOLD,
    NEW_THRESHOLD,
    Likeness,
    body_likeness,
    library_references,
    likeness,
    method_body,
    normalised_tokens,
    similarity,
)
from interfaces import HOOKS
from mechanism_library import LibraryError, catalog

ENTRIES = catalog()
NAMES = [entry.name for entry in ENTRIES]
SOURCES = {entry.name: entry.source for entry in ENTRIES}
HOOK_BODIES = {entry.name: method_body(entry.source, HOOKS[entry.hook].method) for entry in ENTRIES}
NEW_SOURCE_BODY = (
    "name = least_tried(trace, list(config.active), self.rng)\nreturn move(trace, space, name, self.rng)\n"
)


class _Renamer(ast.NodeTransformer):
    """Renames every class, function, argument and variable the module defines; attributes stay."""

    def __init__(self, defined: set[str]) -> None:
        self.mapping = {name: f"renamed_{number}" for number, name in enumerate(sorted(defined))}

    def _new(self, name: str) -> str:
        return self.mapping.get(name, name)

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self._new(node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self._new(node.arg)
        return node

    def visit_keyword(self, node: ast.keyword) -> ast.AST:
        self.generic_visit(node)
        if node.arg is not None:
            node.arg = self._new(node.arg)
        return node

    def _definition(self, node: ast.AST) -> ast.AST:
        self.generic_visit(node)
        node.name = self._new(node.name)
        body = node.body
        if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
            body[0] = ast.Expr(ast.Constant("Rewritten documentation, nothing like the original."))
        return node

    visit_FunctionDef = visit_ClassDef = _definition


def renamed(source: str) -> str:
    """``source`` with its own names replaced, docstrings rewritten, comments dropped, re-laid-out."""
    tree = ast.parse(source)
    defined = {
        node.id for node in ast.walk(tree) if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)
    }
    defined |= {node.arg for node in ast.walk(tree) if isinstance(node, ast.arg)}
    defined |= {node.name for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.ClassDef))}
    # The entry point, the hook methods and the conventions keep their names: the engine calls them.
    defined -= {"self", "__init__", "build"} | {spec.method for spec in HOOKS.values()}
    tree = _Renamer(defined).visit(tree)
    if isinstance(tree.body[0], ast.Expr):
        tree.body[0] = ast.Expr(ast.Constant("A different module docstring."))
    return "# a new leading comment\n" + ast.unparse(tree)


# --- normalised tokens -------------------------------------------------------------------------


def test_tokens_abstract_names_strings_and_numbers_but_keep_attributes_keywords_and_builtins():
    tokens = normalised_tokens("best = trace.incumbent()\nif len(best) > 3: label = 'x'\n")
    assert tokens == (
        "ID", "=", "ID", ".", "incumbent", "(", ")",
        "if", "len", "(", "ID", ")", ">", "NUM", ":", "ID", "=", "STR",
    )  # fmt: skip


def test_docstrings_and_comments_are_dropped_but_strings_in_expressions_are_kept():
    documented = 'def f(x):\n    """Doc\n    string."""\n    # a comment\n    return x  # trailing\n'
    plain = "def f(x):\n    return x\n"
    assert normalised_tokens(documented) == normalised_tokens(plain)
    assert normalised_tokens('"a".join(x)\n') == ("STR", ".", "join", "(", "ID", ")")
    assert normalised_tokens('x = "a"\n') == ("ID", "=", "STR")


def test_indented_body_tokenizes_like_the_dedented_body():
    body = "x = 1\nif x:\n    return x\n"
    indented = "".join("        " + line + "\n" for line in body.splitlines())
    assert normalised_tokens(indented) == normalised_tokens(body)


def test_unfinished_code_falls_back_to_the_regular_expression_with_the_same_normalisation():
    # The bracket never closes: tokenize raises TokenError at the end of the text.
    tokens = normalised_tokens("value = compute(trace.incumbent(), 'tag', 2  # note\n")
    assert tokens == ("ID", "=", "ID", "(", "ID", ".", "incumbent", "(", ")", ",", "STR", ",", "NUM")


@settings(max_examples=300)
@given(st.text())
def test_normalised_tokens_never_raises_on_any_text(text):
    tokens = normalised_tokens(text)
    assert isinstance(tokens, tuple)
    assert all(isinstance(token, str) and token for token in tokens)


# --- similarity --------------------------------------------------------------------------------


@settings(max_examples=200)
@given(st.text(), st.text())
def test_similarity_is_a_ratio_and_every_text_is_identical_to_itself(first, second):
    assert 0.0 <= similarity(first, second) <= 1.0
    assert similarity(first, first) == 1.0


def test_similarity_of_empty_token_streams():
    assert similarity("", "# only a comment\n") == 1.0
    assert similarity("", "return x") == 0.0
    assert similarity("return x", '"""only a docstring"""') == 0.0


_FRESH_NAME = st.from_regex(r"[a-z][a-z0-9_]{0,7}", fullmatch=True).filter(
    lambda name: not keyword.iskeyword(name) and not keyword.issoftkeyword(name) and name not in dir(builtins)
)


def _rename_tokens(source: str, mapping: dict[str, str]) -> str:
    """Rename NAME tokens (not attribute names) in ``source``, keeping everything else."""
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    out = []
    previous = None
    for token in tokens:
        if token.type == tokenize.NAME and token.string in mapping and previous != ".":
            token = token._replace(string=mapping[token.string])
        out.append((token.type, token.string))
        if token.type not in (tokenize.NL, tokenize.COMMENT):
            previous = token.string
    return tokenize.untokenize(out)


@settings(max_examples=60)
@given(st.sampled_from(NAMES), st.data())
def test_similarity_is_invariant_under_consistent_renaming(name, data):
    body = HOOK_BODIES[name]
    tree = ast.parse(body)
    own = sorted(
        {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)} - set(dir(builtins)) - {"self"}
    )
    fresh = data.draw(st.lists(_FRESH_NAME, min_size=len(own), max_size=len(own), unique=True))
    rewritten = _rename_tokens(body, dict(zip(own, fresh, strict=True)))
    assert rewritten != body or not own
    assert similarity(body, rewritten) == 1.0
    assert similarity(rewritten, body) == 1.0


# --- method bodies -----------------------------------------------------------------------------


def test_method_body_is_the_dedented_body_without_its_docstring():
    source = (
        "class Rule:\n"
        "    def helper(self):\n"
        "        return 0\n"
        "\n"
        "    def decide(self, trial, incumbent, trace):\n"
        '        """Keep improvements."""\n'
        "        if trial.metric is None:\n"
        "            return False\n"
        "        return trace.is_better(\n"
        "            trial.metric, incumbent.metric)\n"
    )
    assert method_body(source, "decide") == (
        "if trial.metric is None:\n"
        "    return False\n"
        "return trace.is_better(\n"
        "    trial.metric, incumbent.metric)"
    )
    assert method_body("def f(x): return x\n", "f") == "return x"
    assert method_body("def f(x): y = x; return y  # note\n", "f") == "y = x; return y"
    assert method_body('def f(x):\n    """Doc."""; y = x\n    if y:\n        return y\n', "f") == (
        "y = x\nif y:\n    return y"
    )
    assert method_body('def f():\n    """Only documentation."""\n', "f") == ""


def test_method_body_takes_the_first_definition_in_source_order():
    source = "class A:\n    def run(self):\n        return 1\n\ndef run():\n    return 2\n"
    assert method_body(source, "run") == "return 1"


def test_method_body_is_none_when_absent_or_unparsable():
    assert method_body("def f():\n    return 1\n", "g") is None
    assert method_body("def f(:\n", "f") is None
    assert method_body("x = 1\x00\n", "f") is None


# --- the library against itself ----------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_a_library_mechanism_is_a_copy_of_itself_and_of_a_renamed_rewrite(name):
    source = SOURCES[name]
    assert likeness(source, library_references()).score == 1.0
    disguised = renamed(source)
    assert disguised != source
    found = likeness(disguised, library_references())
    assert found.nearest == name
    assert found.score >= COPY_THRESHOLD
    assert found.verdict == "copy"


@pytest.mark.parametrize("name", NAMES)
def test_a_renamed_hook_body_is_caught_as_a_copy_in_fill_in_mode(name):
    entry = next(e for e in ENTRIES if e.name == name)
    method = HOOKS[entry.hook].method
    disguised_body = method_body(renamed(entry.source), method)
    found = body_likeness(disguised_body, method)
    assert found.nearest == name
    assert found.verdict == "copy"


def test_distinct_library_mechanisms_are_not_copies_of_each_other():
    modules = max(similarity(SOURCES[a], SOURCES[b]) for a, b in itertools.permutations(NAMES, 2))
    bodies = max(similarity(HOOK_BODIES[a], HOOK_BODIES[b]) for a, b in itertools.permutations(NAMES, 2))
    # Measured: 0.48 for whole modules, 0.61 for hook bodies (the two acceptance rules
    # share their guard clauses), both clear of the copy threshold.
    assert modules < NEW_THRESHOLD
    assert bodies < COPY_THRESHOLD


def test_a_small_hand_written_body_is_new_against_the_library():
    found = body_likeness(NEW_SOURCE_BODY, "propose")
    assert found.verdict == "new"
    assert set(found.scores) == set(NAMES)
    assert found.score == max(found.scores.values()) < NEW_THRESHOLD


# --- references --------------------------------------------------------------------------------


def test_library_references_hold_every_source_and_every_hook_method_body():
    assert library_references() == SOURCES
    for method in {spec.method for spec in HOOKS.values()}:
        bodies = library_references(method)
        assert set(bodies) == set(NAMES)
        for entry in ENTRIES:
            own = method_body(entry.source, method) or HOOK_BODIES[entry.name]
            assert bodies[entry.name] == own


def test_library_references_are_a_fresh_dict_every_call():
    first = library_references("check")
    first.clear()
    assert set(library_references("check")) == set(NAMES)


def test_a_library_mechanism_without_its_hook_method_is_an_error(tmp_path):
    (tmp_path / "broken.json").write_text(json.dumps({"name": "broken", "hook": "filter"}), encoding="utf-8")
    (tmp_path / "broken.py").write_text("class Broken:\n    def veto(self, p, t, s):\n        return None\n")
    assert library_references(directory=tmp_path) == {"broken": (tmp_path / "broken.py").read_text()}
    with pytest.raises(LibraryError) as error:
        library_references("check", directory=tmp_path)
    assert error.value.code == "no-hook-method"


def test_earlier_and_shown_bodies_are_references_with_prefixed_names():
    earlier_body = "return trace.incumbent()\n"
    found = body_likeness(
        "return trace.incumbent()  # the same again\n",
        "propose",
        earlier={"run-3": earlier_body},
        shown={"example": NEW_SOURCE_BODY},
    )
    assert found.nearest == "earlier:run-3"
    assert found.score == 1.0
    assert {"earlier:run-3", "shown:example"} <= set(found.scores)
    shown = body_likeness(
        NEW_SOURCE_BODY.replace("name", "chosen"), "propose", shown={"example": NEW_SOURCE_BODY}
    )
    assert (shown.nearest, shown.verdict) == ("shown:example", "copy")


# --- the record --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("score", "verdict"),
    [
        (1.0, "copy"),
        (COPY_THRESHOLD, "copy"),
        (0.7999, "near"),
        (NEW_THRESHOLD, "near"),
        (0.5999, "new"),
        (0.0, "new"),
    ],
)
def test_verdict_thresholds(score, verdict):
    assert Likeness(score=score, nearest="x", scores={"x": score}).verdict == verdict


def test_likeness_is_frozen_and_serialises_to_json():
    found = likeness("return 1", {"a": "return 2", "b": "x = 1"})
    assert found.nearest == "a"
    assert found.scores == {"a": 1.0, "b": similarity("return 1", "x = 1")}
    with pytest.raises(TypeError):
        found.scores["a"] = 0.0  # type: ignore[index]
    record = json.loads(json.dumps(found.to_dict()))
    assert record == {"score": 1.0, "nearest": "a", "verdict": "copy", "scores": dict(found.scores)}
    assert hash(found) == hash(likeness("return 1", {"a": "return 2", "b": "x = 1"}))


def test_no_references_is_new_with_no_nearest():
    found = likeness("return 1", {})
    assert (found.score, found.nearest, found.verdict, dict(found.scores)) == (0.0, "", "new", {})
