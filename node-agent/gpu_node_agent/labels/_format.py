"""Turning raw facts into valid label values (<= 63 chars, alphanumeric at both ends, `-_.` inside)."""

from __future__ import annotations

import re

__all__ = ["label_value", "sanitize_product"]

MAX_VALUE_LENGTH = 63
_GFD_KEEP = re.compile(r"[^A-Za-z0-9\-_. ]")
_INVALID = re.compile(r"[^A-Za-z0-9\-_.]")
_EDGE = re.compile(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$")


def label_value(raw: str) -> str | None:
    """A valid label value from `raw`: invalid characters dropped, cut to 63, trimmed to alphanumeric ends.

    Returns None when nothing valid is left, so the caller omits the label instead of writing garbage.
    """
    value = _INVALID.sub("", raw)[:MAX_VALUE_LENGTH]
    value = _EDGE.sub("", value)
    return value or None


def sanitize_product(name: str) -> str | None:
    """GFD's product rule (drop characters outside `[A-Za-z0-9-_. ]`, join the words with `-`), then made a
    valid value.

    `NVIDIA H100 80GB HBM3` -> `NVIDIA-H100-80GB-HBM3`, as GFD writes `nvidia.com/gpu.product`.
    """
    return label_value("-".join(_GFD_KEEP.sub("", name).split()))
