"""Kubernetes label syntax (k8s.io/apimachinery/pkg/util/validation), as functions that explain a rejection."""

from __future__ import annotations

import re

__all__ = ["label_key_problem", "label_value_problem", "RESERVED_LABEL_DOMAINS"]

_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# Kubernetes keeps these for itself; node groups may not set them (EKS rejects them too).
RESERVED_LABEL_DOMAINS = ("kubernetes.io", "k8s.io")


def label_value_problem(value: str) -> str | None:
    """Why `value` is not a valid label value, or None when it is."""
    if len(value) > 63:
        return f"label value {value!r} is longer than 63 characters"
    if not _NAME.match(value):
        return f"label value {value!r} must be empty or alphanumeric at both ends with only '-', '_', '.' inside"
    return None


def label_key_problem(key: str, *, allow_reserved: bool = False) -> str | None:
    """Why `key` is not a valid label (or taint) key, or None when it is."""
    prefix, _, name = key.rpartition("/")
    if not name or len(name) > 63 or not _NAME.match(name):
        return f"label key {key!r}: the name part must be 1-63 characters, alphanumeric at both ends"
    if prefix:
        if len(prefix) > 253 or not _DNS_SUBDOMAIN.match(prefix):
            return f"label key {key!r}: the prefix must be a lowercase DNS subdomain of at most 253 characters"
        reserved = any(prefix == d or prefix.endswith("." + d) for d in RESERVED_LABEL_DOMAINS)
        if reserved and not allow_reserved:
            return f"label key {key!r}: the prefixes kubernetes.io/ and k8s.io/ are reserved for Kubernetes"
    return None
