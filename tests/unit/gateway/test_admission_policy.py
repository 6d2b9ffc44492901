"""Ingest admission arithmetic: the platform's backlog against SLO x drain, and each
tenant's share of it."""

from __future__ import annotations

from tradebus_gateway.admission_policy import AdmissionPolicy, allowed_backlog, judge

POLICY = AdmissionPolicy(slo_seconds=100, floor=10, share=0.5, retry_after_cap=300)


def test_the_allowed_backlog_is_slo_times_drain_never_below_the_floor() -> None:
    assert allowed_backlog(POLICY, None) == 10  # nothing measured yet: the floor
    assert allowed_backlog(POLICY, 0.05) == 10
    assert allowed_backlog(POLICY, 2.0) == 200


def test_a_full_platform_refuses_everyone_with_the_time_to_drain() -> None:
    verdict = judge(POLICY, "b", {"a": 150, "b": 60}, drain_rate=2.0)  # 210 >= 200
    assert verdict.scope == "platform" and verdict.retry_after == 6  # 11 excess / 2 per s
    assert judge(POLICY, None, {"a": 150, "b": 60}, 2.0).scope == "platform"


def test_a_flooding_tenant_is_refused_while_another_is_admitted() -> None:
    unfinished = {"a": 100, "b": 3}  # allowed 200, share 100
    refused = judge(POLICY, "a", unfinished, drain_rate=2.0)
    assert refused.scope == "tenant" and refused.backlog == 100 and refused.allowed == 100
    # a's tasks drain at about its part of the rate: 2 x 100/103 per second
    assert refused.retry_after == 1
    assert judge(POLICY, "b", unfinished, drain_rate=2.0).admitted
    assert judge(POLICY, "new", unfinished, drain_rate=2.0).admitted


def test_a_quota_from_settings_overrides_the_share() -> None:
    policy = AdmissionPolicy(100, 10, 0.5, 300, quotas={"big": 180, "small": 2})
    assert judge(policy, "big", {"big": 150}, drain_rate=2.0).admitted
    assert judge(policy, "small", {"small": 2}, drain_rate=2.0).scope == "tenant"


def test_no_drain_at_all_means_the_longest_retry_after() -> None:
    verdict = judge(POLICY, "a", {"a": 10}, drain_rate=None)
    assert verdict.scope == "platform" and verdict.retry_after == 300
    assert judge(AdmissionPolicy(100, 0, 0.5, 60), "a", {}, None).retry_after == 60
