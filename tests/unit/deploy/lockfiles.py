"""The pin files, and scripts/split_pins.py (what `make lock` runs) loaded as a module so
the tests judge the locks by the same rule that writes them."""

from __future__ import annotations

import importlib.util
from functools import cache
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path
from types import ModuleType

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[3]
REQUIREMENTS = ROOT / "requirements"


@cache
def split_pins() -> ModuleType:
    spec = importlib.util.spec_from_file_location("split_pins", ROOT / "scripts" / "split_pins.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def canonical(name: str) -> str:
    return str(split_pins().canonical(name))


def pins(lock: str) -> dict[str, str]:
    """canonical name -> version of requirements/<lock>.lock."""
    found = {}
    for line in (REQUIREMENTS / f"{lock}.lock").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"{lock}.lock: {line} is not pinned with =="
            found[canonical(name)] = version
    return found


def installed(name: str) -> bool:
    try:
        distribution(name)
    except PackageNotFoundError:
        return False
    return True


def closure_of(names: list[str]) -> set[str]:
    """The installed distributions these need, transitively (split_pins' rule)."""
    wanted: set[str] = split_pins().closure([Requirement(n) for n in names])
    return {name for name in wanted if installed(name)}
