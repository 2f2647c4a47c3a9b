"""No change without its entry, by construction: every use case that commits writes the log."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICES = Path(__file__).parents[2] / "src" / "manafidh" / "services"
# Use cases that commit without an entry, and why.
EXEMPT = {
    ("audit", "checkpoint"): "a signed tree head is itself the record",
}


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef]:
    return {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}


def _calls(node: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(node) if isinstance(n, ast.Call)]


def _commits(fn: ast.FunctionDef) -> bool:
    return any(isinstance(c.func, ast.Attribute) and c.func.attr == "commit" for c in _calls(fn))


def _journals(name: str, functions: dict[str, ast.FunctionDef], seen: set[str]) -> bool:
    """True when the function, or a function of its module it calls, calls journal.*."""
    seen.add(name)
    for call in _calls(functions[name]):
        f = call.func
        if (
            isinstance(f, ast.Attribute)
            and isinstance(f.value, ast.Name)
            and f.value.id == "journal"
        ):
            return True
        local = isinstance(f, ast.Name) and f.id in functions and f.id not in seen
        if local and _journals(f.id, functions, seen):
            return True
    return False


CASES = [
    (path.stem, name)
    for path in sorted(SERVICES.glob("*.py"))
    for name, fn in _functions(ast.parse(path.read_text(encoding="utf-8"))).items()
    if _commits(fn)
]


def test_the_use_cases_that_commit_are_found():
    assert ("declarations", "submit_lodgement") in CASES
    assert ("payments", "confirm_bank_payment") in CASES
    assert len(CASES) >= 15


@pytest.mark.parametrize(("module", "name"), CASES, ids=[f"{m}.{n}" for m, n in CASES])
def test_a_use_case_that_commits_appends_to_the_audit_log(module, name):
    if (module, name) in EXEMPT:
        return
    functions = _functions(ast.parse((SERVICES / f"{module}.py").read_text(encoding="utf-8")))
    assert _journals(name, functions, set()), (
        f"services/{module}.py:{name} commits a change without writing an audit entry "
        "(services/journal.py)"
    )
