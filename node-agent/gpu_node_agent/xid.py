"""XID events: an NVML event set waited on in a thread, counted per GPU, MIG instance and XID code.

XIDs are events, not state: a read every 15 s would miss them, so (as the device plugin does) a thread blocks on
`nvmlEventSetWait_v2` for `nvmlEventTypeXidCriticalError`, under which NVML delivers every XID; which of them
are critical is decided later (`health.critical_xid`). The counts are cumulative since the agent started and
reach the snapshot at each read, so everything after the read stays pure.

- An event names its GPU by handle and, when it concerns one MIG instance, that instance's GPU and compute
  instance ids (0xFFFFFFFF otherwise). Without privileges NVML delivers only whole-GPU events (nvml.h).
- An event whose GPU index cannot be read is placed by its UUID; failing that it is kept as unattributed, which
  counts against every GPU (the device plugin marks all devices unhealthy then), never dropped.
- A failing wait (other than the timeout) means the event set may be dead (a driver reset): the set is freed and
  recreated, with backoff, until that works; meanwhile `failure` names the error, so the read reports it.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from typing import Any

import pynvml

__all__ = ["NOT_ATTRIBUTABLE", "XidWatcher"]

log = logging.getLogger(__name__)

WAIT_MS = 1000  # how long one wait blocks: bounds how long `stop()` takes
NOT_ATTRIBUTABLE = 0xFFFFFFFF
MAX_BACKOFF_SECONDS = 30.0

# (GPU index or None when unattributed, GPU instance id or None, compute instance id or None, xid)
_Key = tuple[int | None, int | None, int | None, int]


class XidWatcher:
    def __init__(self, backoff_seconds: float = 1.0) -> None:
        self._counts: Counter[_Key] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._event_set: Any = None
        self._backoff = backoff_seconds
        self._uuids: dict[str, int] = {}
        self._gpu_count = 0
        self.failure: str | None = None  # the wait's error kind while the event set could not be recreated

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, gpu_count: int) -> bool:
        """Registers every GPU that supports XID events and starts the thread; False when none does."""
        self._gpu_count = gpu_count
        try:
            self._event_set = self._create()
        except pynvml.NVMLError as error:
            log.warning("no NVML event set, XID events not watched: %s", type(error).__name__)
            return False
        if self._event_set is None:
            return False
        self.failure = None
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="xid-events", daemon=True)
        self._thread.start()
        return True

    def stop(self) -> None:
        if self._thread is None:
            return
        self._stop.set()
        self._thread.join(timeout=5)
        self._thread = None
        self._free()

    def counts(self, index: int) -> tuple[tuple[int, int], ...]:
        """((xid, count), ...) of the events of GPU `index` that concern the whole GPU, by XID."""
        return self._select(lambda key: key[0] == index and key[1] is None)

    def instance_counts(self, index: int, gpu_instance: int, compute_instance: int) -> tuple[tuple[int, int], ...]:
        """((xid, count), ...) of one MIG instance of GPU `index`."""
        return self._select(lambda key: key[:3] == (index, gpu_instance, compute_instance))

    def unattributed(self) -> tuple[tuple[int, int], ...]:
        return self._select(lambda key: key[0] is None)

    def _select(self, match: Any) -> tuple[tuple[int, int], ...]:
        found: Counter[int] = Counter()
        with self._lock:
            for key, n in self._counts.items():
                if match(key):
                    found[key[3]] += n
        return tuple(sorted(found.items()))

    def _create(self) -> Any:
        """A new event set with every GPU registered; None (set freed) when no GPU takes XID events."""
        event_set = pynvml.nvmlEventSetCreate()
        registered = 0
        for index in range(self._gpu_count):
            try:
                handle = pynvml.nvmlDeviceGetHandleByIndex(index)
                pynvml.nvmlDeviceRegisterEvents(handle, pynvml.nvmlEventTypeXidCriticalError, event_set)
                registered += 1
            except pynvml.NVMLError as error:
                log.warning("GPU %d: XID events not available (%s)", index, type(error).__name__)
                continue
            try:
                self._uuids[_text(pynvml.nvmlDeviceGetUUID(handle))] = index
            except pynvml.NVMLError:
                pass  # events of this GPU are then placed by index only
        if not registered:
            pynvml.nvmlEventSetFree(event_set)
            return None
        return event_set

    def _free(self) -> None:
        if self._event_set is None:
            return
        try:
            pynvml.nvmlEventSetFree(self._event_set)
        except pynvml.NVMLError as error:
            log.warning("nvmlEventSetFree failed: %s", type(error).__name__)
        self._event_set = None

    def _recover(self, error: pynvml.NVMLError) -> None:
        """Frees the failing set and recreates it, backing off, until it works or the watcher stops."""
        self.failure = type(error).__name__.removeprefix("NVMLError_")
        log.warning("waiting for XID events failed (%s): recreating the event set", self.failure)
        self._free()
        delay = self._backoff
        while not self._stop.wait(delay):
            try:
                self._event_set = self._create()
            except pynvml.NVMLError as again:
                log.warning("recreating the XID event set failed: %s", type(again).__name__)
            if self._event_set is not None:
                log.info("XID event set recreated")
                self.failure = None
                return
            delay = min(delay * 2, MAX_BACKOFF_SECONDS)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                event = pynvml.nvmlEventSetWait_v2(self._event_set, WAIT_MS)
            except pynvml.NVMLError_Timeout:
                continue
            except pynvml.NVMLError as error:
                self._recover(error)
                continue
            if event.eventType & pynvml.nvmlEventTypeXidCriticalError:
                self._count(event)

    def _count(self, event: Any) -> None:
        index = self._index(event.device)
        gi, ci = int(event.gpuInstanceId), int(event.computeInstanceId)
        instance = (gi, ci) if index is not None and NOT_ATTRIBUTABLE not in (gi, ci) else (None, None)
        xid = int(event.eventData)
        where = "?" if index is None else str(index)
        log.warning("GPU %s: XID %d%s", where, xid, f" (GI {gi} CI {ci})" if instance[0] is not None else "")
        with self._lock:
            self._counts[(index, *instance, xid)] += 1

    def _index(self, device: Any) -> int | None:
        try:
            return int(pynvml.nvmlDeviceGetIndex(device))
        except pynvml.NVMLError as error:
            log.warning("XID event: GPU index unreadable (%s), trying its UUID", type(error).__name__)
        try:
            return self._uuids.get(_text(pynvml.nvmlDeviceGetUUID(device)))
        except pynvml.NVMLError:
            return None


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value
