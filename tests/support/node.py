"""Node.js for the tests that run JavaScript (the AsyncAPI parser, the Node subscriber
example): the machine's node, and each package's pinned dependencies installed once by
scripts/ensure-node-deps.sh (exact versions from package.json, no lockfile)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ASYNCAPI_CHECK = ROOT / "tests" / "support" / "asyncapi"
NODE_SUBSCRIBER = ROOT / "examples" / "node-subscriber"


def node() -> str:
    """The node binary; fails (never skips) when the machine has none."""
    path = shutil.which("node")
    if path is None:
        pytest.fail(
            "node is not installed: the AsyncAPI parser and the Node subscriber need Node.js "
            ">= 18 with npm (e.g. `apt-get install -y nodejs npm`).",
            pytrace=False,
        )
    return path


def ensure_packages(folder: Path) -> Path:
    """`folder` with its npm dependencies installed (a no-op when they already are)."""
    node()
    done = subprocess.run(
        [str(ROOT / "scripts" / "ensure-node-deps.sh"), str(folder.relative_to(ROOT))],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        pytest.fail(
            f"installing the npm packages of {folder} failed:\n{done.stderr}", pytrace=False
        )
    return folder
