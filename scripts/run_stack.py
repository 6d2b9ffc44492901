"""Run every service in the Procfile as a child process (the local `make run`).

Output is prefixed per service; each service's /readyz is awaited; Ctrl-C or
SIGTERM stops the children gracefully (SIGTERM, then SIGKILL after a grace period).

    python scripts/run_stack.py                          # run until interrupted
    python scripts/run_stack.py --ingest samples/documents  # and ingest a folder once ready
    python scripts/run_stack.py --check                  # start, wait until ready, stop; exit 0/1

Without TRADEBUS_BOOTSTRAP_API_KEY a key is generated for the `default` tenant and printed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shlex
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
COLORS = ["\033[36m", "\033[35m", "\033[33m", "\033[32m", "\033[34m", "\033[31m"]
RESET = "\033[0m"


@dataclass
class Service:
    name: str
    env: dict[str, str]
    argv: list[str]

    @property
    def health_url(self) -> str:
        port = self.env.get("TRADEBUS_HTTP_PORT") or self.env.get("TRADEBUS_GATEWAY_PORT")
        return f"http://127.0.0.1:{port}/readyz"


def read_procfile(path: Path) -> list[Service]:
    services = []
    for line in path.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, command = line.split(":", 1)
        words = shlex.split(command)
        env = dict(w.split("=", 1) for w in words if "=" in w and not w.startswith("-"))
        argv = [w for w in words if w not in {f"{k}={v}" for k, v in env.items()}]
        argv[0] = sys.executable if argv[0] == "python" else argv[0]
        services.append(Service(name.strip(), env, argv))
    return services


async def pump(name: str, color: str, stream: asyncio.StreamReader) -> None:
    width = 15
    while line := await stream.readline():
        tty = sys.stdout.isatty()
        prefix = f"{color}{name:<{width}}|{RESET} " if tty else f"{name:<{width}}| "
        sys.stdout.write(prefix + line.decode(errors="replace"))
        sys.stdout.flush()


async def wait_ready(service: Service, timeout: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while asyncio.get_running_loop().time() < deadline:
            try:
                if (await client.get(service.health_url)).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.3)
    return False


def print_usage(api_key: str) -> None:
    gateway = "http://127.0.0.1:8000"
    print(
        f"""
API key of tenant "default":  {api_key}

  export TRADEBUS_API_KEY={api_key}
  curl -s -H "Authorization: Bearer $TRADEBUS_API_KEY" {gateway}/v1/tasks
  curl -s -H "Authorization: Bearer $TRADEBUS_API_KEY" {gateway}/v1/tasks/<task id>
  curl -s -H "Authorization: Bearer $TRADEBUS_API_KEY" {gateway}/v1/tasks/<task id>/result
  curl -s -H "Authorization: Bearer $TRADEBUS_API_KEY" -F file=@README.md \\
       -F title=README {gateway}/v1/rag/documents
  .venv/bin/tradebus ingest <folder>                  # upload a folder and wait
  curl -s -H "Authorization: Bearer $TRADEBUS_API_KEY" -H 'content-type: application/json' \
       -d '{{"question": "Who pays import duty under DAP?"}}' {gateway}/v1/dealbrain/ask
  curl -s -H "Authorization: Bearer $TRADEBUS_API_KEY" -H 'content-type: application/json' \
       -d '{{"query": "steel coil importers", "country": "Vietnam"}}' \
       {gateway}/v1/shadowhunter/hunt
  curl -s -H "Authorization: Bearer $TRADEBUS_API_KEY" -H 'content-type: application/json' \
       -d '{{"counterparty": "Saigon Coil Trading", "country": "Vietnam"}}' \\
       {gateway}/v1/nexus/assess
  .venv/bin/tradebus parking show omnirag-ingest.ingest --local   # failed, parked messages
  API docs: {gateway}/docs      Ctrl-C stops everything
""",
        flush=True,
    )


async def ingest(folder: str, api_key: str) -> None:
    print(f"\ningesting {folder} through the gateway...", flush=True)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tradebus_cli",
        "ingest",
        folder,
        cwd=ROOT,
        env={**os.environ, "TRADEBUS_API_KEY": api_key},
    )
    # A failed document (the corrupt sample) is part of the demo, not a failure of the run.
    await proc.wait()


async def run(check: bool, grace: float, ingest_folder: str | None = None) -> int:
    services = read_procfile(ROOT / "Procfile")
    api_key = os.environ.get("TRADEBUS_BOOTSTRAP_API_KEY") or "tb_" + secrets.token_urlsafe(24)
    for service in services:
        service.env.setdefault("TRADEBUS_BOOTSTRAP_API_KEY", api_key)
    procs: dict[str, asyncio.subprocess.Process] = {}
    pumps = []
    for i, service in enumerate(services):
        proc = await asyncio.create_subprocess_exec(
            *service.argv,
            cwd=ROOT,
            env={**os.environ, **service.env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        procs[service.name] = proc
        assert proc.stdout is not None
        pumps.append(asyncio.create_task(pump(service.name, COLORS[i % len(COLORS)], proc.stdout)))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    ready = await asyncio.gather(*(wait_ready(s, 60) for s in services))
    for service, ok in zip(services, ready, strict=True):
        print(f"{service.name:<15}  {'ready' if ok else 'NOT READY'}  {service.health_url}")
    status = 0 if all(ready) else 1
    if not check and all(ready):
        print("\nall services ready. gateway: http://127.0.0.1:8000/docs", flush=True)
        if ingest_folder:
            await ingest(ingest_folder, api_key)
        print_usage(api_key)
        exited = [asyncio.create_task(p.wait()) for p in procs.values()]
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait([stopper, *exited], return_when=asyncio.FIRST_COMPLETED)
        if not stop.is_set():
            status = 1
            dead = [n for n, p in procs.items() if p.returncode is not None]
            print(f"service(s) exited: {', '.join(dead)}; stopping the rest", file=sys.stderr)

    for proc in procs.values():
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.gather(*(p.wait() for p in procs.values())), grace)
    except TimeoutError:
        for proc in procs.values():
            if proc.returncode is None:
                proc.kill()
        await asyncio.gather(*(p.wait() for p in procs.values()))
    await asyncio.gather(*pumps, return_exceptions=True)
    return status


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="start, verify readiness, stop")
    parser.add_argument("--grace", type=float, default=30.0, help="seconds to wait after SIGTERM")
    parser.add_argument("--ingest", metavar="FOLDER", help="ingest this folder once ready")
    args = parser.parse_args()
    return asyncio.run(run(args.check, args.grace, args.ingest))


if __name__ == "__main__":
    sys.exit(main())
