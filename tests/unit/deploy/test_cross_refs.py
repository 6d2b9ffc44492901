"""The manifests and the code agree: every probe, scrape and compose healthcheck hits a
route the service serves, on the port its settings listen on once the ConfigMap's
environment is applied; every pod's grace period outlasts the drain its settings allow;
the module a Deployment starts exists. The numbers come from the settings classes and
the rendered objects, never from a copy kept here."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from starlette.routing import Match

from tests.unit.deploy.test_manifests import OVERLAYS, ROOT, render
from tradebus_gateway.app import create_app
from tradebus_gateway.settings import GatewaySettings
from tradebus_messaging.runner import WorkerSettings
from tradebus_messaging.settings import BusSettings
from tradebus_observability import health_app

# HealthServer.stop waits this long for the health server after the drain, and the
# connection close needs a moment: the grace period must leave at least this.
AFTER_DRAIN_SECONDS = 5


async def _no_checks() -> dict[str, bool]:
    return {}


def serves(app: Any, path: str) -> bool:
    scope = {"type": "http", "path": path, "method": "GET", "root_path": "", "path_params": {}}
    return any(route.matches(scope)[0] == Match.FULL for route in app.router.routes)


@pytest.fixture
def configmap_env(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """The process environment a pod gets from tradebus-config, and nothing else."""
    [config] = [
        d
        for d in render("production")
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "tradebus-config"
    ]
    for name in list(os.environ):
        if name.startswith(("TRADEBUS_", "RABBITMQ_", "MONGODB_", "REDIS_")):
            monkeypatch.delenv(name)
    for name, value in config["data"].items():
        monkeypatch.setenv(name, value)
    return dict(config["data"])


def module_of(container: dict[str, Any]) -> str:
    env = {e["name"]: e.get("value") for e in container.get("env", [])}
    return str(env["TRADEBUS_SERVICE_MODULE"])


def worker_settings(module: str) -> WorkerSettings:
    settings = importlib.import_module(f"{module}.settings")
    [cls] = [
        c
        for c in vars(settings).values()
        if isinstance(c, type) and issubclass(c, WorkerSettings) and c is not WorkerSettings
    ]
    return cls()


def listening_port(module: str) -> int:
    if module == "tradebus_gateway":
        return GatewaySettings().port
    return worker_settings(module).http_port


def app_of(module: str) -> Any:
    if module == "tradebus_gateway":
        return create_app(GatewaySettings())
    return health_app(_no_checks)


def deployments(overlay: str) -> list[dict[str, Any]]:
    return [d for d in render(overlay) if d["kind"] == "Deployment"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_probe_hits_a_served_route_on_the_listening_port(
    overlay: str, configmap_env: dict[str, str]
) -> None:
    for dep in deployments(overlay):
        pod = dep["spec"]["template"]["spec"]
        for container in pod["containers"]:
            module = module_of(container)
            assert importlib.util.find_spec(f"{module}.__main__"), module
            ports = {p["name"]: p["containerPort"] for p in container["ports"]}
            app = app_of(module)
            for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
                probe = container[kind]["httpGet"]
                where = f"{overlay}: {dep['metadata']['name']} {kind}"
                assert serves(app, probe["path"]), f"{where}: {probe['path']} not served"
                assert ports[probe["port"]] == listening_port(module), where
            annotations = dep["spec"]["template"]["metadata"].get("annotations", {})
            if "prometheus.io/path" in annotations:
                assert serves(app, annotations["prometheus.io/path"])
                assert int(annotations["prometheus.io/port"]) == listening_port(module)


def test_the_route_check_catches_a_wrong_path() -> None:
    assert not serves(health_app(_no_checks), "/health")
    assert not serves(create_app(GatewaySettings()), "/ready")


def drain_seconds() -> float:
    """The longest in-flight drain the bus allows: as configured, and the class default
    (in case the ConfigMap key is dropped)."""
    default = BusSettings.model_fields["shutdown_grace_seconds"].default
    return max(float(default), BusSettings().shutdown_grace_seconds)


def pre_stop_seconds(container: dict[str, Any]) -> float:
    command = container.get("lifecycle", {}).get("preStop", {}).get("exec", {}).get("command")
    if not command:
        return 0.0
    assert command[0] == "sleep", command
    return float(command[1])


def grace_shortfalls(overlay: str) -> list[str]:
    drain = drain_seconds()
    short = []
    for dep in deployments(overlay):
        pod = dep["spec"]["template"]["spec"]
        for container in pod["containers"]:
            needed = pre_stop_seconds(container) + drain + AFTER_DRAIN_SECONDS
            if pod["terminationGracePeriodSeconds"] < needed:
                short.append(
                    f"{overlay}: {dep['metadata']['name']} gets "
                    f"{pod['terminationGracePeriodSeconds']} s, its stop takes up to {needed} s"
                )
    return short


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_grace_periods_outlast_the_drain(overlay: str, configmap_env: dict[str, str]) -> None:
    assert drain_seconds() >= 1
    assert grace_shortfalls(overlay) == []


def compose_services() -> dict[str, Any]:
    services: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    return {name: svc for name, svc in services.items() if "build" in svc}


def with_env(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("TRADEBUS_"):
            monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, str(value))


def test_compose_healthchecks_and_stop_periods_match_the_services(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services = compose_services()
    assert len(services) == 6
    for name, svc in services.items():
        module = f"tradebus_{svc['build']['args']['SERVICE']}"
        with_env(svc["environment"], monkeypatch)
        [url] = re.findall(r"https?://[^'\"\s]+", " ".join(svc["healthcheck"]["test"]))
        parts = urlsplit(url)
        assert serves(app_of(module), parts.path), f"{name}: {parts.path}"
        assert parts.port == listening_port(module), name
        stop = re.fullmatch(r"(\d+)s", svc["stop_grace_period"])
        assert stop, svc["stop_grace_period"]
        assert int(stop.group(1)) >= drain_seconds() + AFTER_DRAIN_SECONDS, name


def test_the_grace_check_reads_the_settings(
    configmap_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A drain configured longer than the pods allow fails the check."""
    monkeypatch.setenv("TRADEBUS_BUS_SHUTDOWN_GRACE_SECONDS", "300")
    assert drain_seconds() == 300
    assert len(grace_shortfalls("production")) == 6
