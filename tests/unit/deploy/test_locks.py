"""The pin files are what `make lock` would write from this environment: runtime.lock is
exactly what the workspace members need (the image installs it alone), dev and bench
pins never overlap it, and the local model's pins agree with it. A member dependency
added without `make lock` fails here, not in a production image."""

from __future__ import annotations

import shutil
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from tests.unit.deploy.lockfiles import REQUIREMENTS, ROOT, canonical, installed, pins, split_pins

LOCKS = ("runtime", "dev", "bench")


def member_names() -> list[str]:
    """Every workspace member, from its pyproject (as the Makefile finds them)."""
    projects = [ROOT / "contracts" / "pyproject.toml"]
    projects += sorted(ROOT.glob("libs/*/pyproject.toml")) + sorted(
        ROOT.glob("services/*/pyproject.toml")
    )
    return [tomllib.loads(p.read_text())["project"]["name"] for p in projects]


def test_every_member_is_installed_so_the_closure_sees_it() -> None:
    missing = [name for name in member_names() if not installed(name)]
    assert not missing, f"install the members first (make venv): {missing}"


def test_the_locks_are_what_make_lock_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = split_pins()
    for source in ("dev.in", "bench.in"):
        shutil.copy(REQUIREMENTS / source, tmp_path / source)
    monkeypatch.setattr(module, "REQ", tmp_path)
    assert module.main() == 0
    for lock in LOCKS:
        written = (tmp_path / f"{lock}.lock").read_text()
        committed = (REQUIREMENTS / f"{lock}.lock").read_text()
        assert written == committed, f"requirements/{lock}.lock is stale: run `make lock`"


def test_runtime_pins_are_the_members_closure_at_the_installed_versions() -> None:
    needed: set[str] = split_pins().closure([Requirement(name) for name in member_names()])
    needed = {name for name in needed if installed(name)}
    runtime = pins("runtime")
    assert set(runtime) == needed
    for name, pinned in runtime.items():
        assert version(name) == pinned, name


def test_no_pin_is_in_two_locks() -> None:
    runtime, dev, bench = (set(pins(lock)) for lock in LOCKS)
    assert not runtime & dev, sorted(runtime & dev)
    assert not runtime & bench, sorted(runtime & bench)
    assert not dev & bench, sorted(dev & bench)


def test_the_local_model_pins_agree_with_the_runtime_pins() -> None:
    """It is installed on top of runtime.lock: a different version would be a conflict."""
    runtime = pins("runtime")
    for name, pinned in pins("local-model").items():
        assert runtime.get(name, pinned) == pinned, f"{name}: {pinned} vs {runtime[name]}"


def test_the_dev_tools_stay_out_of_the_runtime_pins() -> None:
    runtime = pins("runtime")
    for tool in ("pytest", "ruff", "mypy", "schemathesis", "hatchling", "celery", "dramatiq"):
        assert canonical(tool) not in runtime, tool
