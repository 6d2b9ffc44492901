import uuid
from collections.abc import Callable
from typing import Any

import pytest


@pytest.fixture
def unique() -> str:
    """A short unique suffix so tests never share queues, databases or tenants."""
    return uuid.uuid4().hex[:10]


_FIGURES = pytest.StashKey[list[tuple[str, str]]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_FIGURES] = []


@pytest.fixture
def figures(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Report a number a test measured. The run's summary lists them (a `figures` section),
    so a reader of any run, not only one with -s, sees the numbers behind a green dot."""
    lines = request.config.stash[_FIGURES]

    def report(text: str) -> None:
        print(text)
        lines.append((request.node.nodeid, text))

    return report


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    lines = config.stash.get(_FIGURES, [])
    if lines:
        terminalreporter.section("figures")
        for nodeid, text in lines:
            terminalreporter.write_line(f"{nodeid}: {text}")
