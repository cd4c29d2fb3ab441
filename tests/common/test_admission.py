"""One admission type for every service: a bounded count of units, permits given back exactly once."""

import pytest
from prometheus_client import CollectorRegistry, Gauge

from services.common.admission import AdmissionLimit
from services.common.errors import Overloaded


def test_units_beyond_the_limit_are_503_with_what_is_busy():
    limit = AdmissionLimit(3, "queries already queued", retry_after_s=2)
    first = limit.acquire(2)
    with pytest.raises(Overloaded, match="2 queries already queued; retry shortly") as refused:
        limit.acquire(2)
    assert refused.value.retry_after_s == 2
    second = limit.acquire(1)
    assert limit.in_flight == 3
    first.release()
    second.release()
    assert limit.in_flight == 0


def test_a_permit_is_given_back_once_however_often_it_is_released():
    gauge = Gauge("test_admitted", "test", registry=CollectorRegistry())
    limit = AdmissionLimit(1, "answers in progress", gauge=gauge)
    permit = limit.acquire()
    assert gauge._value.get() == 1
    permit.release()
    permit.release()  # the response closing and an error path may both release it
    assert limit.in_flight == 0 and gauge._value.get() == 0
    limit.acquire()  # the slot is free again, and only one
    with pytest.raises(Overloaded):
        limit.acquire()
