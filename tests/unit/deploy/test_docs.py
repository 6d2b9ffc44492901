"""The operating docs point at files and tests that exist: a claim that names the test
showing it must name a real one (a renamed test would leave the claim unbacked)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCS = [
    ROOT / "deploy" / "README.md",
    ROOT / "deploy" / "k8s" / "README.md",
    ROOT / "deploy" / "k8s" / "schemas" / "README.md",
]
# `path/to/file.ext` or `path/to/test_file.py::test_name`, as the docs write them
REFERENCE = re.compile(r"`((?:[\w.-]+/)+[\w.-]+\.(?:py|yaml|yml|json|md|lock|in))(?:::(\w+))?`")
TOP_LEVEL = ("tests/", "libs/", "services/", "contracts/", "scripts/", "requirements/")


def references(doc: Path) -> list[tuple[str, str | None]]:
    return [(m.group(1), m.group(2)) for m in REFERENCE.finditer(doc.read_text())]


def resolve(doc: Path, path: str) -> Path:
    """Repository paths from the root; others relative to the doc (or its k8s dir)."""
    if path.startswith(TOP_LEVEL):
        return ROOT / path
    for base in (doc.parent, ROOT / "deploy" / "k8s", ROOT / "deploy"):
        if (base / path).exists():
            return base / path
    return doc.parent / path


def functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


@pytest.mark.parametrize("doc", DOCS, ids=lambda d: str(d.relative_to(ROOT)))
def test_every_file_and_test_a_doc_names_exists(doc: Path) -> None:
    found = references(doc)
    assert found, f"{doc}: no references at all?"
    for path, test in found:
        target = resolve(doc, path)
        assert target.exists(), f"{doc.name}: {path} does not exist"
        if test is not None:
            assert test in functions(target), f"{doc.name}: {path}::{test} does not exist"


def test_the_check_catches_a_renamed_test(tmp_path: Path) -> None:
    doc = tmp_path / "README.md"
    doc.write_text(
        "`tests/integration/messaging/test_lifecycle.py::test_consumer_resumes_after_a_nap`"
    )
    [(path, test)] = references(doc)
    assert test not in functions(resolve(doc, path))
