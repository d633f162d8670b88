"""XID events: an NVML event set waited on in a thread, counted per GPU and XID code.

XIDs are events, not state: a read every 15 s would miss them, so (as the device plugin does) a thread blocks on
`nvmlEventSetWait_v2` for `nvmlEventTypeXidCriticalError`, under which NVML delivers every XID; which of them
are critical is decided later (`health.critical_xid`). The counts are cumulative since the agent started and
reach the snapshot at each read, so everything after the read stays pure.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

import pynvml

__all__ = ["XidWatcher"]

log = logging.getLogger(__name__)

WAIT_MS = 1000  # how long one wait blocks: bounds how long `stop()` takes


class XidWatcher:
    def __init__(self, nvml: Any) -> None:
        self._nvml = nvml
        self._counts: Counter[tuple[int, int]] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._event_set: Any = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, gpu_count: int) -> bool:
        """Registers every GPU that supports XID events and starts the thread; False when none does."""
        try:
            event_set = self._nvml.nvmlEventSetCreate()
        except pynvml.NVMLError as error:
            log.warning("no NVML event set, XID events not watched: %s", type(error).__name__)
            return False
        registered = 0
        for index in range(gpu_count):
            try:
                handle = self._nvml.nvmlDeviceGetHandleByIndex(index)
                self._nvml.nvmlDeviceRegisterEvents(handle, self._nvml.nvmlEventTypeXidCriticalError, event_set)
                registered += 1
            except pynvml.NVMLError as error:
                log.warning("GPU %d: XID events not available (%s)", index, type(error).__name__)
        if not registered:
            self._nvml.nvmlEventSetFree(event_set)
            return False
        self._event_set = event_set
        self._thread = threading.Thread(target=self._run, name="xid-events", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=5)
        self._thread = None
        try:
            self._nvml.nvmlEventSetFree(self._event_set)
        except pynvml.NVMLError as error:
            log.warning("nvmlEventSetFree failed: %s", type(error).__name__)

    def counts(self, index: int) -> tuple[tuple[int, int], ...]:
        """((xid, count), ...) of GPU `index`, by XID."""
        with self._lock:
            return tuple(sorted((xid, n) for (gpu, xid), n in self._counts.items() if gpu == index))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                event = self._nvml.nvmlEventSetWait_v2(self._event_set, WAIT_MS)
            except pynvml.NVMLError_Timeout:
                continue
            except pynvml.NVMLError as error:
                log.warning("waiting for XID events failed: %s", type(error).__name__)
                self._stop.wait(1.0)  # e.g. the driver is being reloaded: do not spin
                continue
            if not event.eventType & self._nvml.nvmlEventTypeXidCriticalError:
                continue
            try:
                index = int(self._nvml.nvmlDeviceGetIndex(event.device))
            except pynvml.NVMLError:
                index = -1  # a GPU that vanished: still counted, under no index
            xid = int(event.eventData)
            log.warning("GPU %d: XID %d", index, xid)
            with self._lock:
                self._counts[(index, xid)] += 1
