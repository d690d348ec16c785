"""How much of this process's cores other work is using now, so a generation leaves it those cores.

llama.cpp's threads wait for each other by spinning: a generation given every core of a machine
where another process keeps one core busy runs slower than with one thread (measured on 2 cores,
``python -m bench.llama_settings`` beside ``yes > /dev/null``: prompt 0.90x, decode 0.44x of one
thread; on the idle machine 1.90x and 1.59x). :class:`OtherWork` estimates the cores other
processes use on this process's CPUs from Linux's counters: the busy time of those CPUs in
``/proc/stat`` less this process's own CPU time (``/proc/self/stat``), over a recent window.

Each estimate is kept for ``fresh_s`` (a generation asks before every token); an estimate older
than twice that (the machine was not watched meanwhile) is measured afresh over ``window_s``. Where
the counters cannot be read (not Linux, a restricted /proc) it says None, and the caller uses every
core as before.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

log = logging.getLogger(__name__)

_BUSY_FIELDS = (0, 1, 2, 5, 6, 7)
"""user, nice, system, irq, softirq, steal of a ``cpuN`` line (idle and iowait are not busy)."""


@dataclass(frozen=True)
class Sample:
    """Busy ticks of the watched CPUs and this process's own ticks, at ``at`` (seconds)."""

    at: float
    busy: int
    own: int


def read_ticks(cpus: Sequence[int]) -> tuple[int, int]:
    """(busy ticks of ``cpus`` since boot, this process's user + system ticks); OSError/ValueError
    when /proc cannot say."""
    wanted = {f"cpu{n}" for n in cpus}
    busy = 0
    with open("/proc/stat", encoding="ascii") as stat:
        for line in stat:
            name, *fields = line.split()
            if name in wanted:
                busy += sum(int(fields[i]) for i in _BUSY_FIELDS if i < len(fields))
    with open("/proc/self/stat", encoding="ascii") as own:
        after_name = own.read().rsplit(")", 1)[1].split()
    return busy, int(after_name[11]) + int(after_name[12])  # utime, stime: fields 14 and 15


class OtherWork:
    """The cores other processes keep busy on this process's CPUs, estimated from tick counters."""

    def __init__(
        self,
        cpus: Sequence[int],
        *,
        window_s: float = 0.1,
        fresh_s: float = 1.0,
        read: Callable[[Sequence[int]], tuple[int, int]] = read_ticks,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        ticks_per_s: int | None = None,
    ) -> None:
        self._cpus = tuple(cpus)
        self._window_s = window_s
        self._fresh_s = fresh_s
        self._read = read
        self._clock = clock
        self._sleep = sleep
        self._hz = ticks_per_s or _ticks_per_second()
        self._lock = threading.Lock()
        self._last: Sample | None = None
        self._estimate: float | None = None
        self._broken = False

    def cores(self) -> float | None:
        """Cores' worth of other work now (0 to the CPUs watched); None when it cannot be told."""
        with self._lock:
            if self._broken:
                return None
            try:
                return self._cores()
            except (OSError, ValueError, IndexError) as e:
                self._broken = True
                log.info("cannot tell the other work on these cores (%s); using every core", e)
                return None

    def _cores(self) -> float:
        now = self._clock()
        last = self._last
        if last is not None and self._estimate is not None and now - last.at < self._fresh_s:
            return self._estimate
        if last is None or now - last.at >= 2 * self._fresh_s:
            last = self._sample()
            self._sleep(self._window_s)
        current = self._sample()
        seconds = max(current.at - last.at, 1e-6)
        other = ((current.busy - last.busy) - (current.own - last.own)) / self._hz / seconds
        self._last, self._estimate = current, min(max(other, 0.0), float(len(self._cpus)))
        return self._estimate

    def _sample(self) -> Sample:
        busy, own = self._read(self._cpus)
        return Sample(self._clock(), busy, own)


def _ticks_per_second() -> int:
    try:
        return int(os.sysconf("SC_CLK_TCK"))
    except (AttributeError, ValueError, OSError):
        return 100
