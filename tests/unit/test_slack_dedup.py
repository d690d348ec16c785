"""Slack retries: the same delivery (event id, or channel + ts) is answered once, within a TTL."""

from __future__ import annotations

import threading

import pytest
from fakes import ManualClock

from slackbot.dedup import DeliveryDeduper


def test_same_event_id_or_same_message_is_a_repeat():
    dedup = DeliveryDeduper(60.0)
    assert dedup.first_delivery(["Ev1", "C1:1.0"])
    assert not dedup.first_delivery(["Ev1", "C1:1.0"])  # a retry: same event id
    assert not dedup.first_delivery(["Ev2", "C1:1.0"])  # app_mention + message.im of one message
    assert dedup.first_delivery(["Ev3", "C1:2.0"])
    assert not dedup.first_delivery(["Ev3"])


def test_keys_expire_after_the_ttl():
    clock = ManualClock()
    dedup = DeliveryDeduper(60.0, clock=clock)
    assert dedup.first_delivery(["Ev1"])
    clock.now += 59.0
    assert not dedup.first_delivery(["Ev1"])
    clock.now += 2.0
    assert len(dedup) == 0
    assert dedup.first_delivery(["Ev1"])


def test_memory_is_bounded():
    dedup = DeliveryDeduper(3600.0, max_keys=100)
    for i in range(1000):
        assert dedup.first_delivery([f"Ev{i}"])
    assert len(dedup) == 100
    assert not dedup.first_delivery(["Ev999"])
    assert dedup.first_delivery(["Ev0"])  # the oldest were forgotten


def test_concurrent_deliveries_pass_once():
    dedup = DeliveryDeduper(60.0)
    passed: list[bool] = []
    barrier = threading.Barrier(8)

    def deliver() -> None:
        barrier.wait(5)
        passed.append(dedup.first_delivery(["Ev1", "C1:1.0"]))

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert sorted(passed) == [False] * 7 + [True]


def test_blank_keys_are_ignored_and_bad_limits_refused():
    dedup = DeliveryDeduper(60.0)
    assert dedup.first_delivery(["", "C1:1.0"])
    assert dedup.first_delivery(["", "C1:2.0"])
    with pytest.raises(ValueError):
        DeliveryDeduper(0)
