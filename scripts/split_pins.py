"""Split the environment's pins into runtime, dev and bench locks (`make lock`).

A package is a runtime pin when a workspace member needs it (transitively, with the extras
asked for); a dev pin when only `requirements/dev.in` needs it; a bench pin otherwise. The
image installs runtime.lock alone, so a test tool never reaches production.
"""

from __future__ import annotations

import re
import sys
from importlib.metadata import PackageNotFoundError, distribution, distributions
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent
REQ = ROOT / "requirements"
HEADERS = {
    "runtime": "# Runtime pins: every third-party package the workspace members need (the image\n"
    "# installs only these). Regenerate with `make lock`.\n",
    "dev": "# Development and test pins, on top of runtime.lock. Regenerate with `make lock`.\n",
    "bench": "# Benchmark peers (bench-bus), on top of runtime.lock and dev.lock.\n",
}


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(roots: list[Requirement]) -> set[str]:
    """Every distribution the roots need, following only the extras that are asked for."""
    seen: dict[str, set[str]] = {}
    stack = [(r.name, set(r.extras)) for r in roots]
    while stack:
        name, extras = stack.pop()
        key = canonical(name)
        if key in seen and extras <= seen[key]:
            continue
        seen[key] = seen.get(key, set()) | extras
        try:
            requires = distribution(name).requires or []
        except PackageNotFoundError:
            continue
        for line in requires:
            req = Requirement(line)
            active = req.marker is None or any(
                req.marker.evaluate({"extra": extra}) for extra in ("", *extras)
            )
            if active:
                stack.append((req.name, set(req.extras)))
    return seen.keys() - {key for key in seen if key.startswith("tradebus-")}


def read_in(path: Path) -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return [Requirement(line) for line in lines if line]


def main() -> int:
    members = sorted(
        canonical(d.metadata["Name"])
        for d in distributions()
        if canonical(d.metadata["Name"]).startswith("tradebus-")
    )
    runtime = closure([Requirement(m) for m in members])
    dev = closure(read_in(REQ / "dev.in")) - runtime
    bench = closure(read_in(REQ / "bench.in")) - runtime - dev
    pins = {
        canonical(d.metadata["Name"]): f"{d.metadata['Name']}=={d.version}" for d in distributions()
    }
    for name, wanted in (("runtime", runtime), ("dev", dev), ("bench", bench)):
        lines = sorted((pins[key] for key in wanted if key in pins), key=str.lower)
        (REQ / f"{name}.lock").write_text(HEADERS[name] + "".join(f"{p}\n" for p in lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
