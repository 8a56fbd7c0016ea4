"""The layout of the tests: no module under tests/ imports a test module or a conftest, and imports are absolute.

Fixtures reach a test through conftest.py files by name, helpers through the package
tests/support (`from tests.support.factories import make_user`). A test module that imported
another would run that module's fixtures and tests again under its own name, and tie the two
together; this test keeps it from coming back.
"""
from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def module_name(path: Path) -> str:
    """The dotted name of a file under tests/, e.g. tests.issues.test_api_issues."""
    parts = path.relative_to(TESTS.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> list[tuple[int, str, bool]]:
    """(line, dotted name, relative?) of what a file imports; `from a import b` names both a and a.b."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name, False) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            found.append((node.lineno, base, node.level > 0))
            found += [(node.lineno, f"{base}.{alias.name}", node.level > 0) for alias in node.names]
    return found


def forbidden(name: str) -> bool:
    """A test module or a conftest module of this suite."""
    parts = name.split(".")
    return parts[0] == "tests" and (parts[-1].startswith("test_") or parts[-1] == "conftest")


def test_no_module_imports_a_test_module_or_a_conftest_and_imports_are_absolute():
    paths = sorted(TESTS.rglob("*.py"))
    # The walk sees the whole suite, and the rule tells test modules from helpers.
    assert {"tests.conftest", "tests.support.factories", "tests.core.test_test_layout"} <= set(map(module_name, paths))
    assert forbidden("tests.issues.test_api_issues") and forbidden("tests.ledger.conftest")
    assert not forbidden("tests.support.factories") and not forbidden("tracker.core.workflow")

    problems = []
    for path in paths:
        where = path.relative_to(TESTS.parent)
        for line, name, relative in imports(path):
            if forbidden(name):
                problems.append(f"{where}:{line} imports {name}: put fixtures in a conftest.py and "
                                f"helpers in tests/support instead")
            elif relative:
                problems.append(f"{where}:{line} imports relatively: write `from tests.… import …`")
    assert not problems, "\n".join(sorted(set(problems)))
