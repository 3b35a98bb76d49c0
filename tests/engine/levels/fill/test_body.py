"""Cleaning a completion into a method body: what is cut, what is fixed, and that each fix is named."""

from __future__ import annotations

import ast

from hypothesis import given, strategies as st

from engine.levels.fill.body import clean_body, is_empty


def test_a_plain_body_is_kept_as_it_is() -> None:
    text = "        name = least_tried(trace, list(config.active), self.rng)\n        return {name: 1}\n"
    body = clean_body(text)
    assert body.text == text and body.fixes == ()


def test_what_follows_the_method_is_cut() -> None:
    text = ("        return None\n\n    def other(self):\n        return 1\n\n"
            "def build(seed):\n    return X(seed)\n```\n")
    body = clean_body(text)
    assert body.text == "        return None\n" and "cut-after-method" in body.fixes


def test_a_closing_fence_ends_the_body() -> None:
    body = clean_body("        x = 1\n        return None\n```\nSome words after the code.")
    assert body.text == "        x = 1\n        return None\n" and "dropped-fence" in body.fixes


def test_module_random_becomes_the_seeded_generator_but_random_random_stays() -> None:
    body = clean_body("        v = random.choice(names)\n        r = random.Random(3)\n"
                      "        w = self.random.uniform(1, 2)\n        return {v: random.uniform(0, 1)}\n")
    lines = body.text.splitlines()
    assert lines[0].strip() == "v = self.rng.choice(names)"
    assert lines[1].strip() == "r = random.Random(3)"  # a constructor, not a module-level draw
    assert lines[2].strip() == "w = self.random.uniform(1, 2)"  # an attribute, untouched
    assert lines[3].strip() == "return {v: self.rng.uniform(0, 1)}"
    assert body.fixes == ("seeded-rng",)


def test_imports_and_prints_are_dropped_and_named() -> None:
    body = clean_body("        import random\n        from math import log\n        print(trace)\n        return None\n")
    assert body.text == "        return None\n"
    assert set(body.fixes) == {"dropped-import", "dropped-print"}


def test_a_body_at_another_indentation_is_moved_to_the_method() -> None:
    body = clean_body("    x = 1\n    if x:\n        return {'A': 1}\n    return None\n")
    assert body.text.splitlines()[0] == "        x = 1" and body.text.splitlines()[2] == "            return {'A': 1}"
    assert "re-indented" in body.fixes


def test_empty_bodies_are_recognised() -> None:
    assert is_empty("") and is_empty("        pass\n") and is_empty("        return None\n")
    assert is_empty("        # nothing to do\n        return ''\n")
    assert not is_empty("        return least_tried(trace, names, self.rng)\n")
    assert not is_empty("        if x:\n            return None\n        return None\n")


@given(st.lists(st.sampled_from(["x = 1", "return None", "if x:", "    y = 2", "", "# note",
                                 "v = random.random()", "print(x)", "import os"]), max_size=12))
def test_the_cleaned_body_is_always_inside_the_method(lines: list[str]) -> None:
    text = "\n".join(" " * 8 + line if line else "" for line in lines)
    body = clean_body(text)
    for line in body.text.splitlines():
        assert not line.strip() or line.startswith(" " * 8)
    assert "random.random()" not in body.text.replace("self.rng.random()", "")


def test_a_cleaned_valid_body_parses_inside_a_method() -> None:
    body = clean_body("        names = list(config.active)\n        if not names:\n            return None\n"
                      "        return {names[0]: random.random()}\n\n    def extra(self):\n        pass\n")
    ast.parse("class C:\n    def m(self):\n" + body.text)


def test_common_api_slips_are_fixed_and_named() -> None:
    body = clean_body("        last = trace[-1]\n        names = self.untried(trace, list(config.active))\n"
                      "        return {names[0]: 1} if names else None\n")
    assert body.text.splitlines()[0].strip() == "last = trace.trials[-1]"
    assert body.text.splitlines()[1].strip() == "names = untried(trace, list(config.active))"
    assert set(body.fixes) == {"trace-trials", "helper-not-a-method"}


def test_a_helper_shadowed_by_its_own_result_is_renamed_not_called_as_a_variable() -> None:
    body = clean_body("        stuck_parameter = stuck_parameter(trace, 8)\n        if stuck_parameter:\n"
                      "            return stuck_parameter + ' again'\n        return None\n")
    lines = [line.strip() for line in body.text.splitlines()]
    assert lines[:3] == ["stuck_parameter_found = stuck_parameter(trace, 8)", "if stuck_parameter_found:",
                         "return stuck_parameter_found + ' again'"]
    assert "unshadowed-helper" in body.fixes
    # A comparison is not an assignment; nothing is renamed.
    assert clean_body("        if stuck_parameter == 'x':\n            return None\n").fixes == ()


def test_a_body_naming_this_runs_parameters_declines_on_a_search_without_them() -> None:
    body = clean_body("        return {'ALPHA': step(space['ALPHA'], 0.1, 1), 'N': 3}\n",
                      names=("ALPHA", "N", "OTHER"), decline="None")
    assert body.fixes == ("guarded-names",)
    assert body.text.splitlines()[:2] == ["        if 'ALPHA' not in space or 'N' not in space:",
                                          "            return None"]
    advisor = clean_body("        return 'Try N'\n", names=("N",), decline='""')
    assert advisor.text == "        return 'Try N'\n"  # "Try N" is not a parameter's name, only mentions one
    untouched = clean_body("        return {'ALPHA': 1}\n", names=("ALPHA",))
    assert untouched.fixes == () and "not in space" not in untouched.text


def test_the_guard_lets_a_mechanism_for_this_search_pass_the_sandbox_on_others() -> None:
    from engine.levels.fill.skeleton import render
    from sandbox import admit

    raw = "        return {'ALPHA': clip(space['ALPHA'], current(trace, space, 'ALPHA') * 2)}\n"
    skeleton = render("source", "Double", "Double ALPHA.", "Return a dict or None.")
    assert not admit(skeleton.assemble(clean_body(raw).text), "source").admitted  # KeyError on other spaces
    guarded = clean_body(raw, names=("ALPHA",), decline="None")
    assert admit(skeleton.assemble(guarded.text), "source").admitted
