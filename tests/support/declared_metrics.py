"""The Prometheus metrics our source declares, found by reading it (no imports)."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KINDS = {"Counter", "Gauge", "Histogram", "Summary"}
SUFFIXES = {
    "Counter": ("_total",),
    "Gauge": ("",),
    "Histogram": ("_bucket", "_count", "_sum"),
    "Summary": ("_count", "_sum", ""),
}


@dataclass(frozen=True, slots=True)
class Declared:
    variable: str
    name: str  # as declared
    kind: str
    path: Path

    def series(self) -> set[str]:
        """The names Prometheus scrapes for it."""
        base = self.name.removesuffix("_total") if self.kind == "Counter" else self.name
        return {base + s for s in SUFFIXES[self.kind]}


def source_files() -> list[Path]:
    return sorted(
        p
        for pattern in ("libs/*/src/**/*.py", "services/*/src/**/*.py")
        for p in ROOT.glob(pattern)
    )


def _prometheus_kind(call: ast.Call) -> str | None:
    func = call.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    return name if name in KINDS else None


def declared(paths: list[Path] | None = None) -> list[Declared]:
    found: list[Declared] = []
    for path in source_files() if paths is None else paths:
        tree = ast.parse(path.read_text(), filename=str(path))
        imports_prometheus = any(
            isinstance(n, ast.ImportFrom) and (n.module or "").startswith("prometheus_client")
            for n in tree.body
        )
        if not imports_prometheus:
            continue
        for node in tree.body:
            if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
                continue
            kind = _prometheus_kind(node.value)
            args = node.value.args
            if kind is None or not args or not isinstance(args[0], ast.Constant):
                continue
            for target in node.targets:
                if isinstance(target, ast.Name):
                    found.append(Declared(target.id, str(args[0].value), kind, path))
    return found


def loaded_names(paths: list[Path]) -> set[str]:
    """Every name read (bare or as an attribute) in `paths`; a declaration's target is
    a store, so a metric that is only declared is not in here."""
    names: set[str] = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                names.add(node.id)
            elif isinstance(node, ast.Attribute):
                names.add(node.attr)
    return names


def series_names() -> set[str]:
    return {s for d in declared() for s in d.series()}
