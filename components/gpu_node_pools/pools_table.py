"""`gpu-node-pools pools`: a stack's node pools as text tables, managed node groups first, then elastic pools."""

from __future__ import annotations

from .config.node_pool import NodePoolConfig
from .config.platform import PlatformConfig
from .manifests.karpenter import (
    AUTO_MODE_LABELS,
    CAPACITY_TYPE_LABEL,
    INSTANCE_FAMILY_LABEL,
    build_node_pools,
)
from .contract import POOL_KIND_LABEL
from .parts import default_node_class_ref

__all__ = ["pools_table", "text_table"]


def text_table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _sharing(pool: NodePoolConfig) -> str:
    """`time-slicing x4`, `mig mixed all-1g.10gb`; `-` for whole GPUs (and general pools)."""
    return pool.sharing.describe() if pool.sharing is not None else "-"


def _elastic_table(config: PlatformConfig) -> str:
    """One line per elastic pool: what Karpenter may launch, the cap, when nodes go back."""
    header = ("ELASTIC POOL", "KIND", "INSTANCES", "CAPACITY", "CAP", "SHARING", "CONSOLIDATION", "WEIGHT",
              "NODECLASS", "TAINTS")
    rows: list[tuple[str, ...]] = [header]
    sharing = {p.name: _sharing(p) for p in config.elastic_pools}
    # The cap as configured, in GPUs (locally a shared pool's NodePool counts it in shares; docs/rightsizing.md).
    caps = {p.name: ",".join(f"{name}={value}" for name, value in (
        ("gpus", p.elastic.limits.gpus), ("cpu", p.elastic.limits.cpu), ("memory", p.elastic.limits.memory))
        if value is not None) for p in config.elastic_pools if p.elastic is not None}
    node_pools = [o for p in config.elastic_pools
                  for o in build_node_pools([p], config.contract, default_node_class_ref(config, p))]
    for obj in node_pools:
        spec, template = obj["spec"], obj["spec"]["template"]["spec"]
        values = {r["key"]: ",".join(r.get("values", [])) for r in template["requirements"]}
        instances = (values.get(INSTANCE_FAMILY_LABEL) or values.get(AUTO_MODE_LABELS[INSTANCE_FAMILY_LABEL])
                     or values.get("node.kubernetes.io/instance-type", ""))
        disruption = spec["disruption"]
        kind = obj["spec"]["template"]["metadata"]["labels"][POOL_KIND_LABEL]
        rows.append((
            obj["metadata"]["name"],
            kind,
            instances,
            values[CAPACITY_TYPE_LABEL],
            caps[obj["metadata"]["name"]],
            sharing[obj["metadata"]["name"]],
            f"{disruption['consolidationPolicy']} after {disruption['consolidateAfter']}",
            str(spec.get("weight", "-")),
            f"{template['nodeClassRef']['kind']}/{template['nodeClassRef']['name']}",
            ",".join(f"{t['key']}={t['value']}:{t['effect']}" for t in template["taints"]) or "<none>",
        ))
    return text_table(rows)


def pools_table(config: PlatformConfig) -> str:
    """The managed pools' table (when there are any), then the elastic pools' table (when there are any)."""
    header = ("NAME", "KIND", "INSTANCE TYPES", "AMI TYPE", "CAPACITY", "MIN/DESIRED/MAX", "DISK", "SHARING", "TAINTS")
    rows: list[tuple[str, ...]] = [header]
    for pool in config.managed_pools:
        taints = ",".join(str(t) for t in pool.node_taints(config.contract))
        rows.append((
            pool.name,
            pool.kind,
            ",".join(pool.instance_types),
            pool.ami().name,
            pool.capacity_type,
            f"{pool.node_scaling.min}/{pool.node_scaling.desired_size}/{pool.node_scaling.max}",
            f"{pool.effective_disk_size()}Gi",
            _sharing(pool),
            taints or "<none>",
        ))
    tables = [text_table(rows)] if len(rows) > 1 else []
    if config.elastic_pools:
        tables.append(_elastic_table(config))
    return "\n\n".join(tables)
