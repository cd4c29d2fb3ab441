"""Bounded admission, one way for every service: a request takes a Permit for its units of work or
gets 503 Overloaded with Retry-After; the permit is given back exactly once, by whoever owns the
work's end (the streamed response when it closes, the batch when it leaves the queue), so a client
that disconnects before the first byte cannot leak a slot."""

from __future__ import annotations

from prometheus_client import Gauge

from services.common.errors import Overloaded


class AdmissionLimit:
    def __init__(self, limit: int, what: str, retry_after_s: float = 1.0, gauge: Gauge | None = None) -> None:
        self.limit = limit
        self.what = what  # "answers in progress on this gateway": said in the 503
        self.retry_after_s = retry_after_s
        self.gauge = gauge
        self._in_flight = 0

    @property
    def in_flight(self) -> int:
        return self._in_flight

    def acquire(self, units: int = 1) -> Permit:
        if self._in_flight + units > self.limit:
            raise Overloaded(f"{self._in_flight} {self.what}; retry shortly", retry_after_s=self.retry_after_s)
        self._change(units)
        return Permit(self, units)

    def _change(self, units: int) -> None:
        self._in_flight += units
        if self.gauge is not None:
            self.gauge.set(self._in_flight)


class Permit:
    """Units of an AdmissionLimit; `release` gives them back once, however often it is called."""

    def __init__(self, limit: AdmissionLimit, units: int) -> None:
        self._limit = limit
        self.units = units
        self._released = False

    def release(self) -> None:
        if not self._released:
            self._released = True
            self._limit._change(-self.units)
