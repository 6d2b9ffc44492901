"""Which embed batches the consistency check sends again: never one whose index holds
other chunks' vectors (writing a batch replaces what its id held)."""

from __future__ import annotations

from datetime import UTC, datetime

from tradebus_omnirag_ingest.domain.consistency import KbReport, plan_batches, repair_task_id

IDS = [f"d:{i}" for i in range(10)]  # batches of 4: [0-3] [4-7] [8-9]


def test_lost_batches_are_sent_again_with_their_own_index() -> None:
    existing = {1: IDS[4:8]}
    missing = set(IDS[:4]) | set(IDS[8:])
    assert plan_batches(IDS, existing, missing, 4) == [(0, IDS[:4]), (2, IDS[8:])]


def test_every_batch_lost_resends_the_ingest_split() -> None:
    assert plan_batches(IDS, {}, set(IDS), 4) == [(0, IDS[:4]), (1, IDS[4:8]), (2, IDS[8:])]


def test_chunks_missing_from_a_batch_that_exists_go_to_a_fresh_index() -> None:
    # Batch 0 holds d:0-d:2 only (d:3 was removed with a broken batch, say).
    existing = {0: IDS[:3], 1: IDS[4:8], 2: IDS[8:]}
    assert plan_batches(IDS, existing, {"d:3"}, 4) == [(3, ["d:3"])]


def test_a_changed_batch_size_never_reuses_an_index_in_use() -> None:
    existing = {0: IDS[:2], 5: IDS[2:4]}  # written with another batch size
    planned = plan_batches(IDS, existing, set(IDS[4:]), 4)
    assert {i for i, _ in planned}.isdisjoint(existing)
    assert sorted(c for _, ids in planned for c in ids) == sorted(IDS[4:])


def test_nothing_missing_plans_nothing() -> None:
    assert plan_batches(IDS, {0: IDS[:4]}, set(), 4) == []


def test_repair_task_ids_are_stable_per_document_version_and_slot() -> None:
    slot = datetime(2026, 12, 2, 2, 30, tzinfo=UTC)
    first = repair_task_id("acme", "doc", 1, slot)
    assert first == repair_task_id("acme", "doc", 1, slot) and first.startswith("kbr_")
    assert (
        len({first, repair_task_id("acme", "doc", 2, slot), repair_task_id("b", "doc", 1, slot)})
        == 3
    )
    assert len(first) <= 64


def test_the_report_counts_are_integers_only() -> None:
    report = KbReport(batches_reenqueued=2, repair_tasks=["kbr_x"])
    assert report.counts()["batches_reenqueued"] == 2 and "repair_tasks" not in report.counts()
