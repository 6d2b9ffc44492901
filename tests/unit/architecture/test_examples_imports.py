"""The subscriber kit in examples/ is code a downstream team copies: it may import the
published contracts and third-party packages, and nothing else of ours (the Node
example reads the JSON Schema files and requires no tradebus code at all)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
OURS = re.compile(r"^(tradebus_\w+|tests|services|libs|contracts)$")


def test_python_examples_import_only_the_contracts_of_ours() -> None:
    sources = [p for p in EXAMPLES.rglob("*.py") if "node_modules" not in p.parts]
    assert sources, "no Python examples found"
    for path in sources:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                root = name.split(".")[0]
                assert not OURS.match(root) or root == "tradebus_contracts", (path, name)


def test_node_example_requires_only_its_npm_packages_and_node_builtins() -> None:
    package = (EXAMPLES / "node-subscriber" / "package.json").read_text()
    allowed = set(json.loads(package)["dependencies"])
    for path in (EXAMPLES / "node-subscriber").glob("*.mjs"):
        for spec in re.findall(r"""^import .* from ["']([^"']+)["'];$""", path.read_text(), re.M):
            if spec.startswith("node:") or spec.startswith("./"):
                continue
            assert spec.split("/")[0] in allowed, (path.name, spec)


def test_npm_packages_are_pinned_exactly_and_no_lockfile_is_kept() -> None:
    for package in [*EXAMPLES.rglob("package.json"), *(ROOT / "tests").rglob("package.json")]:
        if "node_modules" in package.parts:
            continue
        for name, version in json.loads(package.read_text())["dependencies"].items():
            assert re.fullmatch(r"\d+\.\d+\.\d+", version), (package, name, version)
        assert not (package.parent / "package-lock.json").exists(), package
        assert "package-lock=false" in (package.parent / ".npmrc").read_text()
