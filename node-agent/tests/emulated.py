"""The emulated libnvidia-ml in tests: `emulate(state)` puts a `FakeLibNvml` under the real pynvml, `open_reader()`
opens an `NvmlReader` on it; both are undone after each test (conftest), and an emulation bug fails the test."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gpu_node_agent.fakenvml import FakeLibNvml
from gpu_node_agent.nvml import NvmlReader
from gpu_node_agent.snapshot import NodeSnapshot

_libraries: list[FakeLibNvml] = []
_readers: list[Any] = []


def emulate(state: NodeSnapshot | Callable[[], NodeSnapshot], **options: Any) -> FakeLibNvml:
    lib = FakeLibNvml(state if callable(state) else (lambda: state), **options)
    lib.install()
    _libraries.append(lib)
    return lib


def open_reader(**options: Any) -> NvmlReader:
    """`NvmlReader(**options)`, opened; XID recovery backs off 10 ms here so tests stay fast."""
    reader = NvmlReader(**{"xid_backoff_seconds": 0.01, **options})
    reader.open()
    _readers.append(reader)
    return reader


def opened(reader: Any) -> Any:
    """Opens any reader (a `SimulatedReader` too) and closes it after the test."""
    reader.open()
    _readers.append(reader)
    return reader


def teardown() -> None:
    import threading

    while _readers:
        _readers.pop().close()
    leaked = [t.name for t in threading.enumerate() if t.name == "xid-events"]
    assert not leaked, "an XID watcher thread outlived its test: close every reader"
    crashes = [crash for lib in _libraries for crash in lib.crashes]
    while _libraries:
        _libraries.pop().uninstall()
    assert not crashes, crashes[0]
