"""Monitoring artefacts validate offline: a ServiceMonitor per Service on a port the
Service exposes, alert rules and dashboard panels that load and only query metrics our
code declares (a renamed metric would otherwise leave an alert silently blind)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.declared_metrics import series_names
from tests.unit.deploy.test_manifests import SERVICES, render

MONITORING = Path(__file__).resolve().parents[3] / "deploy" / "k8s" / "components" / "monitoring"
METRIC = re.compile(r"\btradebus_[a-z0-9_]+\b")
REQUIRED_ALERTS = {
    "TradebusParkingLotGrowing",
    "TradebusConsumersMissing",
    "TradebusQueueAgeHigh",
    "TradebusHttp5xxRate",
    "TradebusTaskFailureRate",
}


def rules() -> list[dict[str, Any]]:
    rule = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    return [r for group in rule["spec"]["groups"] for r in group["rules"]]


def dashboard() -> dict[str, Any]:
    return json.loads((MONITORING / "dashboards" / "tradebus.json").read_text())


def unknown_metrics(expr: str, known: set[str]) -> set[str]:
    used = set(METRIC.findall(expr))
    assert used, f"no tradebus metric in {expr!r}"
    return used - known


def test_alert_rules_are_complete_and_query_declared_metrics() -> None:
    known = series_names()
    alerts = {r["alert"]: r for r in rules()}
    assert set(alerts) >= REQUIRED_ALERTS
    for name, rule in alerts.items():
        assert rule["labels"]["severity"] in {"warning", "critical"}, name
        assert rule["annotations"]["summary"], name
        assert re.fullmatch(r"\d+[smh]", rule["for"]), name
        assert not unknown_metrics(rule["expr"], known), name
        assert rule["expr"].count("(") == rule["expr"].count(")"), name


def test_dashboard_panels_query_declared_metrics() -> None:
    known = series_names()
    board = dashboard()
    assert board["uid"] == "tradebus-overview"
    panels = board["panels"]
    assert len({p["id"] for p in panels}) == len(panels)
    for panel in panels:
        for target in panel["targets"]:
            assert not unknown_metrics(target["expr"], known), panel["title"]


def test_the_check_catches_a_renamed_metric() -> None:
    assert unknown_metrics("rate(tradebus_http_requests_total[5m])", series_names()) == {
        "tradebus_http_requests_total"
    }


def test_rendered_monitoring_objects() -> None:
    docs = render("production")
    services = {d["metadata"]["name"]: d for d in docs if d["kind"] == "Service"}
    monitors = {d["metadata"]["name"]: d for d in docs if d["kind"] == "ServiceMonitor"}
    assert set(monitors) == SERVICES
    for name, monitor in monitors.items():
        assert monitor["spec"]["selector"]["matchLabels"] == services[name]["spec"]["selector"]
        ports = {p["name"] for p in services[name]["spec"]["ports"]}
        for endpoint in monitor["spec"]["endpoints"]:
            assert endpoint["port"] in ports, name
            assert endpoint["path"] == "/metrics"
    [board] = [
        d
        for d in docs
        if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "tradebus-dashboard"
    ]
    assert board["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(board["data"]["tradebus.json"]) == dashboard()
    [rule] = [d for d in docs if d["kind"] == "PrometheusRule"]
    assert rule["spec"]["groups"]


def promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.fail(
            "promtool is needed to check the alert rules offline "
            "(apt-get install prometheus ships /usr/bin/promtool)",
            pytrace=False,
        )
    return found


def test_alert_rules_pass_promtool_and_their_unit_tests(tmp_path: Path) -> None:
    """The rules as Prometheus loads them, and each alert fired (or not) on synthetic
    series by `promtool test rules` (components/monitoring/tests/alerts.test.yaml)."""
    rule = yaml.safe_load((MONITORING / "prometheusrule.yaml").read_text())
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rule["spec"]))
    shutil.copy(MONITORING / "tests" / "alerts.test.yaml", tmp_path / "alerts.test.yaml")
    for args in (["check", "rules", "rules.yaml"], ["test", "rules", "alerts.test.yaml"]):
        done = subprocess.run(
            [promtool(), *args], cwd=tmp_path, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_every_required_alert_has_a_promtool_case() -> None:
    cases = yaml.safe_load((MONITORING / "tests" / "alerts.test.yaml").read_text())
    tested = {t["alertname"] for case in cases["tests"] for t in case["alert_rule_test"]}
    assert tested >= REQUIRED_ALERTS
