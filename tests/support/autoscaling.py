"""Which queues an autoscaling trigger covers: a KEDA rabbitmq trigger names one queue
or, with `useRegex`, every queue its pattern matches (a fair endpoint's shards); an HPA
External metric selects one queue by label or several with `In` (the HPA sums them)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any


def keda_trigger_queues(trigger: dict[str, Any], candidates: Iterable[str]) -> set[str]:
    meta = trigger["metadata"]
    if str(meta.get("useRegex", "false")).lower() == "true":
        pattern = re.compile(meta["queueName"])
        return {q for q in candidates if pattern.search(q)}
    return {meta["queueName"]}


def hpa_metric_queues(metric: dict[str, Any]) -> set[str]:
    selector = metric["external"]["metric"]["selector"]
    queues = set()
    if "queue" in selector.get("matchLabels", {}):
        queues.add(selector["matchLabels"]["queue"])
    for expression in selector.get("matchExpressions", []):
        if expression["key"] == "queue" and expression["operator"] == "In":
            queues.update(expression["values"])
    return queues
