"""KEDA and Prometheus Operator objects validate against their CRDs' schemas, vendored
in deploy/k8s/schemas (see its README), made strict as `kubectl --validate=strict` is:
a field the schema does not name fails instead of being pruned in silence."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.unit.deploy.test_manifests import OVERLAYS, render

SCHEMAS = Path(__file__).resolve().parents[3] / "deploy" / "k8s" / "schemas"
CRD_GROUPS = ("keda.sh/", "monitoring.coreos.com/")
VENDORED = {
    ("keda.sh/v1alpha1", "ScaledObject"),
    ("keda.sh/v1alpha1", "TriggerAuthentication"),
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
}


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """Close every object schema that names its properties; translate int-or-string."""
    out = copy.deepcopy(schema)

    def close(node: dict[str, Any]) -> None:
        if node.pop("x-kubernetes-int-or-string", False):
            node.pop("anyOf", None)
            node["type"] = ["integer", "string"]
        if node.get("pattern", "").startswith("^(?i)"):
            # Go's RE2 takes a flag group anywhere; Python only at the start.
            node["pattern"] = "(?i)^" + node["pattern"][5:]
        if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
            node.setdefault("additionalProperties", False)
        for child in node.get("properties", {}).values():
            close(child)
        for key in ("items", "additionalProperties"):
            if isinstance(node.get(key), dict):
                close(node[key])

    close(out)
    return out


@cache
def validators() -> dict[tuple[str, str], jsonschema.Draft7Validator]:
    found = {}
    for path in sorted(SCHEMAS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        spec = crd["spec"]
        for version in spec["versions"]:
            key = (f"{spec['group']}/{version['name']}", spec["names"]["kind"])
            schema = strict(version["schema"]["openAPIV3Schema"])
            jsonschema.Draft7Validator.check_schema(schema)
            found[key] = jsonschema.Draft7Validator(schema)
    return found


def errors(doc: dict[str, Any]) -> list[str]:
    validator = validators()[(doc["apiVersion"], doc["kind"])]
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(doc)
    ]


def custom_resources(overlay: str) -> list[dict[str, Any]]:
    return [d for d in render(overlay) if d["apiVersion"].startswith(CRD_GROUPS)]


def first(kind: str, overlay: str = "production") -> dict[str, Any]:
    return next(d for d in custom_resources(overlay) if d["kind"] == kind)


def test_every_vendored_schema_loads() -> None:
    assert set(validators()) == VENDORED


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_custom_resource_fits_its_crd(overlay: str) -> None:
    for doc in custom_resources(overlay):
        key = (doc["apiVersion"], doc["kind"])
        assert key in validators(), f"{overlay}: no vendored schema for {key}"
        assert not errors(doc), f"{overlay}: {doc['kind']}/{doc['metadata']['name']}"


def test_a_typo_in_a_scaled_object_fails() -> None:
    scaled = first("ScaledObject")
    scaled["spec"]["minReplicaCont"] = scaled["spec"].pop("minReplicaCount")
    assert any("minReplicaCont" in e for e in errors(scaled))


def test_a_typo_inside_a_trigger_fails() -> None:
    scaled = first("ScaledObject")
    trigger = scaled["spec"]["triggers"][0]
    trigger["authenticationRf"] = trigger.pop("authenticationRef")
    assert any("authenticationRf" in e for e in errors(scaled))


def test_a_scaled_object_without_triggers_or_with_a_bad_count_fails() -> None:
    scaled = first("ScaledObject")
    scaled["spec"]["triggers"] = []
    scaled["spec"]["pollingInterval"] = "10"
    found = errors(scaled)
    assert any(e.startswith("spec/triggers") for e in found), found
    assert any(e.startswith("spec/pollingInterval") for e in found), found


def test_a_typo_in_a_trigger_authentication_fails() -> None:
    auth = first("TriggerAuthentication")
    auth["spec"]["secretTargetRef"][0]["paramter"] = auth["spec"]["secretTargetRef"][0].pop(
        "parameter"
    )
    found = errors(auth)
    assert any("paramter" in e for e in found), found
    assert any("'parameter' is a required property" in e for e in found), found


def test_a_typo_in_a_service_monitor_endpoint_fails() -> None:
    monitor = first("ServiceMonitor")
    monitor["spec"]["endpoints"][0]["intervall"] = "15s"
    assert any("intervall" in e for e in errors(monitor))


def test_a_malformed_alert_duration_fails() -> None:
    rule = first("PrometheusRule")
    rule["spec"]["groups"][0]["rules"][0]["for"] = "5 minutes"
    assert any(e.startswith("spec/groups/0/rules/0/for: '5 minutes'") for e in errors(rule))
