"""All six services start as real processes, become ready, and stop on SIGTERM."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.infra import require_mongodb, require_rabbitmq

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_every_service_becomes_ready_and_stops_cleanly() -> None:
    require_rabbitmq()
    require_mongodb()
    result = subprocess.run(
        [sys.executable, "scripts/run_stack.py", "--check", "--grace", "20"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    summary = [line for line in result.stdout.splitlines() if "/readyz" in line]
    assert len(summary) == 6, result.stdout[-3000:]
    assert all(" ready " in line for line in summary), summary
    assert result.returncode == 0, result.stdout[-3000:]
    assert "stopped" in result.stdout  # workers logged their graceful stop
