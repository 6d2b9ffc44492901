"""Deployment artefacts validate offline: the compose file against the Compose spec,
every rendered Kubernetes object against its schema (strict), plus the rules we hold
ourselves to (probes, resources, non-root, PDBs that allow a drain, one autoscaler per
worker that owns the replica count, every object in the namespace, no placeholder
Secret). That the triggers cover every work queue a service declares is checked
against the services' own topology in tests/integration/deploy."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from compose_spec import PyCompose

from tests.support.autoscaling import hpa_metric_queues, keda_trigger_queues

ROOT = Path(__file__).resolve().parents[3]
K8S = ROOT / "deploy" / "k8s"
K8S_VERSION = "1.30.0"
SERVICES = {"gateway", "dealbrain", "shadowhunter", "omnirag-ingest", "omnirag-embed", "notifier"}
WORKERS = SERVICES - {"gateway"}
NAMESPACE = "tradebus"
CLUSTER_SCOPED = {"Namespace"}
OVERLAYS = ["production", "dev", "metrics-adapter"]
# Exact releases: a floating tag (`mongo:7`) changes under a `docker compose pull`.
PINNED_IMAGES = {
    "rabbitmq": re.compile(r"^rabbitmq:\d+\.\d+\.\d+-management$"),
    "mongo": re.compile(r"^mongo:\d+\.\d+\.\d+$"),
}


def render(overlay: str) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        pytest.fail(
            "kubectl is needed to render kustomize offline "
            "(apt-get install kubectl, or any kubectl >= 1.14 on PATH)",
            pytrace=False,
        )
    out = subprocess.run(
        [kubectl, "kustomize", str(K8S / "overlays" / overlay)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


@pytest.fixture(scope="module", params=OVERLAYS)
def rendered(request: pytest.FixtureRequest) -> tuple[str, list[dict[str, Any]]]:
    return request.param, render(request.param)


def test_compose_file_follows_the_compose_spec() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    compose = PyCompose.from_yaml(text)
    assert len(compose) == 8
    with pytest.raises(ValueError, match="stop_grace_perod"):
        PyCompose.from_yaml(text.replace("stop_grace_period", "stop_grace_perod", 1))


def test_every_compose_service_builds_an_existing_package_and_has_a_healthcheck() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    assert set(services) >= SERVICES
    for name in SERVICES:
        svc = services[name]
        module = svc["build"]["args"]["SERVICE"]
        assert (ROOT / "services" / name / "src" / f"tradebus_{module}" / "__main__.py").exists()
        assert svc["healthcheck"]["test"]
        assert svc["depends_on"]["rabbitmq"]["condition"] == "service_healthy"


def test_compose_pins_the_infrastructure_and_restarts_every_service() -> None:
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name, pinned in PINNED_IMAGES.items():
        assert pinned.match(services[name]["image"]), services[name]["image"]
    assert {name for name, svc in services.items() if "image" in svc} == set(PINNED_IMAGES)
    for name, svc in services.items():
        # The broker and the database too: a crashed broker must come back by itself.
        assert svc.get("restart") in {"unless-stopped", "always"}, name


def test_the_image_pin_check_catches_a_floating_tag() -> None:
    assert not PINNED_IMAGES["mongo"].match("mongo:7")
    assert not PINNED_IMAGES["rabbitmq"].match("rabbitmq:3.13-management")


def test_objects_validate_strictly(rendered) -> None:
    _, docs = rendered
    for doc in docs:
        if doc["apiVersion"].startswith(("keda.sh/", "monitoring.coreos.com/")):
            continue  # no bundled schema: the vendored CRD schemas check them (test_crd_schemas)
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_strict_validation_catches_a_typo() -> None:
    hpa = next(
        d
        for d in render("metrics-adapter")
        if d["kind"] == "HorizontalPodAutoscaler" and d["spec"]["metrics"][0]["type"] == "External"
    )
    target = hpa["spec"]["metrics"][0]["external"]["target"]
    target["averageValu"] = target.pop("averageValue")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(hpa, K8S_VERSION, strict=True)


def test_deployments_are_hardened_and_probed(rendered) -> None:
    _, docs = rendered
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    assert {d["metadata"]["name"] for d in deployments} == SERVICES
    for dep in deployments:
        pod = dep["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault"
        assert pod["terminationGracePeriodSeconds"] >= 30
        for c in pod["containers"]:
            assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
            assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert c["resources"]["requests"] and c["resources"]["limits"]
            assert c["securityContext"]["readOnlyRootFilesystem"] is True
            assert c["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_every_deployment_has_a_disruption_budget(rendered) -> None:
    _, docs = rendered
    pdbs = {d["metadata"]["name"] for d in docs if d["kind"] == "PodDisruptionBudget"}
    assert pdbs == SERVICES


def test_one_autoscaler_per_scaled_deployment(rendered) -> None:
    overlay, docs = rendered
    deployments = {d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"}
    targets: list[str] = []
    for doc in docs:
        if doc["kind"] == "HorizontalPodAutoscaler":
            targets.append(doc["spec"]["scaleTargetRef"]["name"])
        elif doc["kind"] == "ScaledObject":
            targets.append(doc["spec"]["scaleTargetRef"]["name"])
            for trigger in doc["spec"]["triggers"]:
                assert trigger["type"] == "rabbitmq"
                assert trigger["metadata"]["mode"] == "QueueLength"
                assert int(trigger["metadata"]["value"]) > 0
                assert trigger["authenticationRef"]["name"] in {
                    d["metadata"]["name"] for d in docs if d["kind"] == "TriggerAuthentication"
                }
    assert len(targets) == len(set(targets)), f"{overlay}: two autoscalers on one Deployment"
    assert set(targets) <= deployments
    expected = SERVICES if overlay in {"production", "metrics-adapter"} else {"gateway"}
    assert set(targets) == expected


def test_every_namespaced_object_lands_in_the_namespace(rendered) -> None:
    overlay, docs = rendered
    for doc in docs:
        if doc["kind"] in CLUSTER_SCOPED:
            continue
        where = doc["metadata"].get("namespace")
        assert where == NAMESPACE, f"{overlay}: {doc['kind']}/{doc['metadata']['name']} in {where}"


def test_the_namespace_check_sees_component_objects() -> None:
    kinds = {d["kind"] for d in render("production")} | {
        d["kind"] for d in render("metrics-adapter")
    }
    assert {"ScaledObject", "TriggerAuthentication", "HorizontalPodAutoscaler"} <= kinds
    assert {"ServiceMonitor", "PrometheusRule"} <= kinds


def test_no_overlay_ships_a_secret(rendered) -> None:
    """An applied placeholder would overwrite the real Secret, managed outside git."""
    overlay, docs = rendered
    assert not [d for d in docs if d["kind"] == "Secret"], overlay
    assert "CHANGE-ME" not in yaml.safe_dump_all(docs), overlay


def test_the_secret_example_names_every_key_the_workloads_need() -> None:
    example = yaml.safe_load((K8S / "secret.example.yaml").read_text())
    assert example["metadata"]["name"] == "tradebus-secrets"
    assert example["metadata"]["namespace"] == NAMESPACE
    # REDIS_URL: without it every replica keeps its own limits (N replicas, N times the rate).
    needed = {"RABBITMQ_URL", "MONGODB_URL", "TRADEBUS_BUS_MANAGEMENT_URL", "REDIS_URL"}
    assert needed <= set(example["stringData"])


def min_replicas(docs: list[dict[str, Any]], deployment: dict[str, Any]) -> int:
    name = deployment["metadata"]["name"]
    for doc in docs:
        if (
            doc["kind"] == "HorizontalPodAutoscaler"
            and doc["spec"]["scaleTargetRef"]["name"] == name
        ):
            return int(doc["spec"].get("minReplicas", 1))
        if doc["kind"] == "ScaledObject" and doc["spec"]["scaleTargetRef"]["name"] == name:
            return int(doc["spec"].get("minReplicaCount", 0))
    return int(deployment["spec"].get("replicas", 1))


def test_disruption_budgets_allow_a_node_drain(rendered) -> None:
    """A budget a Deployment at its minimum can never satisfy blocks every drain."""
    overlay, docs = rendered
    deployments = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Deployment"}
    for pdb in (d for d in docs if d["kind"] == "PodDisruptionBudget"):
        name = pdb["metadata"]["name"]
        replicas = min_replicas(docs, deployments[name])
        spec = pdb["spec"]
        if "maxUnavailable" in spec:
            assert int(spec["maxUnavailable"]) >= 1, f"{overlay}: {name}"
        else:
            assert int(spec["minAvailable"]) < replicas, f"{overlay}: {name} at {replicas}"


def test_autoscaled_deployments_leave_the_replica_count_to_the_autoscaler(rendered) -> None:
    """`spec.replicas` beside an autoscaler resets the scale on every apply."""
    overlay, docs = rendered
    scaled = {
        d["spec"]["scaleTargetRef"]["name"]
        for d in docs
        if d["kind"] in {"HorizontalPodAutoscaler", "ScaledObject"}
    }
    for dep in (d for d in docs if d["kind"] == "Deployment"):
        if dep["metadata"]["name"] in scaled:
            assert "replicas" not in dep["spec"], f"{overlay}: {dep['metadata']['name']}"


def test_keda_and_hpa_components_scale_on_the_same_queues() -> None:
    hpa = {
        d["spec"]["scaleTargetRef"]["name"]: sorted(
            (sorted(hpa_metric_queues(m)), m["external"]["target"]["averageValue"])
            for m in d["spec"]["metrics"]
        )
        for d in render("metrics-adapter")
        if d["kind"] == "HorizontalPodAutoscaler" and d["metadata"]["name"] in WORKERS
    }
    # A regex trigger (a fair endpoint's shards) is judged by the queues it matches.
    candidates = {name: {q for qs, _ in metrics for q in qs} for name, metrics in hpa.items()}
    keda = {
        name: sorted(
            (sorted(keda_trigger_queues(t, candidates.get(name, ()))), t["metadata"]["value"])
            for t in d["spec"]["triggers"]
        )
        for d in render("production")
        if d["kind"] == "ScaledObject"
        for name in [d["spec"]["scaleTargetRef"]["name"]]
    }
    assert keda == hpa
    assert set(keda) == WORKERS
