"""`tradebus-bus` and `tradebus-gateway`, kept for one release: a deprecation notice on
stderr, then the same operation through `tradebus`. Both worked without the gateway
(broker or database directly), so they map to the `--local` forms."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from .main import app

RENAMED_OPTIONS = {"--api-key": "--key"}


def translate_bus(argv: Sequence[str]) -> list[str]:
    """`tradebus-bus topology verify|declare`, `parking list|replay|purge QUEUE ...`."""
    args = list(argv)
    if args[:2] == ["topology", "verify"]:
        return ["topology", "verify", "--local", *args[2:]]
    if args[:1] == ["parking"] and len(args) >= 3:
        command, queue, rest = args[1], args[2], args[3:]
        if command == "list":
            return ["parking", "show", queue, "--local", *rest]
        if command == "replay":
            every = [] if "--id" in rest or "--reason" in rest else ["--all"]
            return ["parking", "replay", queue, "--local", *every, *rest]
        if command == "purge" and "--yes" in rest:
            return ["parking", "purge", queue, "--local", "--all", "--yes-i-mean", queue]
    return args


def translate_gateway(argv: Sequence[str]) -> list[str]:
    """`tradebus-gateway create-tenant|create-key|ingest|cancel|delete ...`."""
    args = [RENAMED_OPTIONS.get(a, a) for a in argv]
    key, rest = _take(args[1:], "--key")
    global_options = ["--key", key] if key else []
    url, rest = _take(rest, "--url")
    global_options += ["--url", url] if url else []
    command = args[0] if args else ""
    if command == "create-tenant" and rest:
        return ["tenants", "create", rest[0], "--local", *rest[1:]]
    if command == "create-key" and rest:
        return ["keys", "create", "--tenant", rest[0], "--local", *rest[1:]]
    if command == "ingest":
        return [*global_options, "ingest", *rest]
    if command in ("cancel", "delete"):
        return [*global_options, "tasks", command, *rest]
    return args


def _take(args: list[str], option: str) -> tuple[str | None, list[str]]:
    if option in args:
        at = args.index(option)
        if at + 1 < len(args):
            return args[at + 1], args[:at] + args[at + 2 :]
    return None, args


def _run(old: str, args: list[str]) -> None:
    print(f"{old} is deprecated: running `tradebus {' '.join(args)}`", file=sys.stderr)
    app(args=args, prog_name="tradebus")


def bus() -> None:
    _run("tradebus-bus", translate_bus(sys.argv[1:]))


def gateway() -> None:
    _run("tradebus-gateway", translate_gateway(sys.argv[1:]))
