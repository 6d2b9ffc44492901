"""The dependency arrows of the workspace, checked on the source:

- contracts imports nothing of ours;
- libs import contracts and other libs, never a service;
- a service imports contracts and libs, never another service.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


def members() -> dict[str, tuple[str, Path]]:
    """module name -> (kind, source folder) for every workspace member."""
    found: dict[str, tuple[str, Path]] = {}
    for kind, pattern in (
        ("contracts", "contracts/src/*"),
        ("lib", "libs/*/src/*"),
        ("service", "services/*/src/*"),
    ):
        for folder in ROOT.glob(pattern):
            if folder.is_dir() and (folder / "__init__.py").exists():
                found[folder.name] = (kind, folder)
    return found


def imported_roots(folder: Path) -> set[str]:
    roots: set[str] = set()
    for path in folder.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                roots.add(node.module.split(".")[0])
    return roots


MEMBERS = members()


def test_the_workspace_has_the_expected_members() -> None:
    kinds = [kind for kind, _ in MEMBERS.values()]
    assert kinds.count("contracts") == 1
    assert kinds.count("service") == 6
    assert {"tradebus_messaging", "tradebus_storage", "tradebus_observability"} <= set(MEMBERS)


@pytest.mark.parametrize("module", sorted(MEMBERS))
def test_imports_follow_the_arrows(module: str) -> None:
    kind, folder = MEMBERS[module]
    ours = {m for m in imported_roots(folder) if m in MEMBERS and m != module}
    kinds_used = {m: MEMBERS[m][0] for m in ours}
    if kind == "contracts":
        assert not ours, f"contracts must import nothing of ours, imports {sorted(ours)}"
    elif kind == "lib":
        services = sorted(m for m, k in kinds_used.items() if k == "service")
        assert not services, f"{module} (a lib) imports services {services}"
    else:
        services = sorted(m for m, k in kinds_used.items() if k == "service")
        assert not services, f"{module} imports other services {services}"


def test_every_member_declares_what_it_imports() -> None:
    """A member importing another must list it in its pyproject dependencies."""
    import tomllib

    problems = []
    for module, (_, folder) in MEMBERS.items():
        pyproject = tomllib.loads((folder.parents[1] / "pyproject.toml").read_text())
        declared = {
            d.split(">")[0].split("=")[0].split("[")[0].strip().replace("-", "_")
            for d in pyproject["project"].get("dependencies", [])
        }
        for used in imported_roots(folder) & set(MEMBERS) - {module}:
            if used not in declared:
                problems.append(f"{module} imports {used} without declaring it")
    assert not problems, problems
