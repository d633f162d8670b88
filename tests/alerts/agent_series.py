"""The node agent's series names (the metric spec both the agent and the rules follow).

The rules, the dashboard and the readout are written against these names; test_agent_exposition.py checks the
running agent exposes them.
"""

from __future__ import annotations

GPU_SERIES = frozenset({
    "gpu_node_agent_gpu_memory_used_bytes",
    "gpu_node_agent_gpu_memory_free_bytes",
    "gpu_node_agent_gpu_memory_total_bytes",
    "gpu_node_agent_gpu_memory_reserved_bytes",
    "gpu_node_agent_gpu_utilization_ratio",
    "gpu_node_agent_gpu_memory_utilization_ratio",
    "gpu_node_agent_gpu_temperature_celsius",
    "gpu_node_agent_gpu_power_watts",
    "gpu_node_agent_gpu_power_limit_watts",
    "gpu_node_agent_gpu_healthy",
    "gpu_node_agent_gpu_xid_errors_total",
    "gpu_node_agent_gpu_ecc_errors_total",
    "gpu_node_agent_gpu_remapped_rows",
    "gpu_node_agent_gpu_row_remap_pending",
    "gpu_node_agent_gpu_row_remap_failed",
    "gpu_node_agent_gpu_clocks_event_active",
})
NODE_SERIES = frozenset({
    "gpu_node_agent_up",
    "gpu_node_agent_node_healthy",
    "gpu_node_agent_collection_duration_seconds",
    "gpu_node_agent_nvml_errors_total",
    "gpu_node_agent_label_writes_total",
    "gpu_node_agent_label_write_failures_total",
    "gpu_node_agent_last_successful_cycle_timestamp_seconds",
    "gpu_node_agent_last_label_write_timestamp_seconds",
    "gpu_node_agent_build_info",
})
AGENT_SERIES = GPU_SERIES | NODE_SERIES
# Series the end-to-end proof relies on: the same before and after the rename.
STABLE_SERIES = frozenset({"gpu_node_agent_gpu_memory_used_bytes", "gpu_node_agent_gpu_memory_total_bytes",
                           "gpu_node_agent_up", "up"})
