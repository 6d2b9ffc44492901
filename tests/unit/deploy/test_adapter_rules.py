"""The prometheus-adapter rules shipped with components/hpa-external serve every External
metric its HPAs ask for: the adapter's name, the label the HPA's selector filters on in
the series it reads, and the selector passed through to the query."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import yaml

from tests.unit.deploy.test_manifests import render

VALUES = (
    Path(__file__).resolve().parents[3]
    / "deploy"
    / "k8s"
    / "components"
    / "hpa-external"
    / "prometheus-adapter-values.yaml"
)
SERIES_QUERY = re.compile(r"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?P<matchers>[^}]*)\})?$")


def external_rules() -> list[dict[str, Any]]:
    return list(yaml.safe_load(VALUES.read_text())["rules"]["external"])


def served_name(rule: dict[str, Any]) -> str:
    """The metric name the adapter exposes for the rule's series (its `name` block)."""
    series = series_of(rule)[0]
    naming = rule.get("name", {})
    pattern = re.compile(naming.get("matches", ".*"))
    match = pattern.search(series)
    assert match, f"{naming} does not match {series}"
    default = "$1" if pattern.groups else "$0"
    template = naming.get("as") or default
    return re.sub(r"\$(\d+)", lambda m: match.group(int(m.group(1))), template)


def series_of(rule: dict[str, Any]) -> tuple[str, set[str]]:
    """The series name and the labels its query requires."""
    found = SERIES_QUERY.match(rule["seriesQuery"].strip())
    assert found, rule["seriesQuery"]
    matchers = found.group("matchers") or ""
    labels = {m.split("!")[0].split("=")[0].strip() for m in matchers.split(",") if m.strip()}
    return found.group("name"), labels


def asked_for() -> list[tuple[str, str, set[str]]]:
    """(HPA, metric name, labels its selector filters on) for every External metric."""
    out = []
    for doc in render("metrics-adapter"):
        if doc["kind"] != "HorizontalPodAutoscaler":
            continue
        for metric in doc["spec"]["metrics"]:
            if metric["type"] == "External":
                wanted = metric["external"]["metric"]
                selector = wanted.get("selector", {})
                labels = set(selector.get("matchLabels", {})) | {
                    e["key"] for e in selector.get("matchExpressions", [])
                }
                out.append((doc["metadata"]["name"], wanted["name"], labels))
    return out


def unserved(rules: list[dict[str, Any]]) -> list[str]:
    missing = []
    for hpa, name, labels in asked_for():
        serving = [r for r in rules if served_name(r) == name]
        if not serving:
            missing.append(f"{hpa}: no rule serves {name}")
        elif not any(labels <= series_of(r)[1] for r in serving):
            missing.append(f"{hpa}: no {name} rule carries the labels {sorted(labels)}")
    return missing


def test_every_external_metric_an_hpa_asks_for_is_served() -> None:
    assert len(asked_for()) >= 5  # the check sees the workers' metrics
    assert unserved(external_rules()) == []


def test_rules_pass_the_selector_on_and_ignore_the_requesting_namespace() -> None:
    for rule in external_rules():
        assert "<<.LabelMatchers>>" in rule["metricsQuery"], rule["seriesQuery"]
        assert "<<.Series>>" in rule["metricsQuery"], rule["seriesQuery"]
        # One value per queue: an HPA whose selector names several queues (a fair
        # endpoint's shards) sums them; an aggregate over all would count once.
        assert re.search(r"\bby \(queue\)", rule["metricsQuery"]), rule["metricsQuery"]
        # RabbitMQ's series carry RabbitMQ's namespace, not the HPA's.
        assert rule["resources"]["namespaced"] is False, rule["seriesQuery"]


def test_the_check_catches_a_renamed_metric_and_a_missing_label() -> None:
    renamed = copy.deepcopy(external_rules())
    renamed[0]["name"]["as"] = "rabbitmq_ready"
    assert unserved(renamed)
    unlabelled = copy.deepcopy(external_rules())
    unlabelled[0]["seriesQuery"] = "rabbitmq_queue_messages_ready"
    assert any("labels ['queue']" in m for m in unserved(unlabelled))
