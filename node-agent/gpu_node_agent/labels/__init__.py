"""Label sources: each a pure function from a node snapshot to labels; `merge` is the one place they meet."""

from ._context import LabelContext, LabelSource
from ._format import label_value, sanitize_product
from .gfd import GFD_KEYS, gfd_labels
from .health import health_labels
from .live import MEMORY_USED_BUCKETS, UTILIZATION_BUCKETS, Buckets, live_labels
from .merge import LabelClash, desired_labels, merge
from .mig import MIG_STRATEGIES
from .static import static_labels

__all__ = [
    "GFD_KEYS",
    "MEMORY_USED_BUCKETS",
    "MIG_STRATEGIES",
    "UTILIZATION_BUCKETS",
    "Buckets",
    "LabelClash",
    "LabelContext",
    "LabelSource",
    "desired_labels",
    "gfd_labels",
    "health_labels",
    "label_value",
    "live_labels",
    "merge",
    "sanitize_product",
    "static_labels",
]
