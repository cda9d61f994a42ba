"""Garbage-collection pauses are measured per generation and served with the metrics."""

import gc

from prometheus_client import REGISTRY, generate_latest

from shared.metrics import time_gc_pauses


def full_collections() -> float:
    value = REGISTRY.get_sample_value("messaging_gc_pause_seconds_count", {"generation": "2"})
    return value or 0.0


def test_each_collection_is_counted_once_with_its_pause() -> None:
    time_gc_pauses()
    time_gc_pauses()  # a second call (another app in the same process) adds nothing
    before = full_collections()

    gc.collect()
    gc.collect()

    assert full_collections() == before + 2
    total = REGISTRY.get_sample_value("messaging_gc_pause_seconds_sum", {"generation": "2"})
    assert total is not None and total > 0
    assert b'messaging_gc_pause_seconds_bucket{generation="2",le="+Inf"}' in generate_latest()
