"""Config models for taints and the isolation contract (the stack file's `isolation` key)."""

from __future__ import annotations

from pydantic import Field, field_validator

from ..contract import DEFAULT_GPU_TAINT, IsolationContract, Taint, TaintEffect
from ._model import ConfigModel
from .labels import label_key_problem, label_value_problem

__all__ = ["FENCE_KEY", "IsolationConfig", "TaintConfig"]

# Where an elastic pool's fence problem is reported: the GPU taint's effect.
FENCE_KEY = ("isolation", "gpuTaint", "effect")


class TaintConfig(ConfigModel):
    """A taint in Kubernetes spelling (`NoSchedule`); EKS spelling is derived from it."""

    key: str = Field(description="taint key (label-key syntax)")
    value: str = Field(default="", description="taint value (label-value syntax)")
    effect: TaintEffect = Field(description="NoSchedule, PreferNoSchedule or NoExecute")

    @field_validator("key")
    @classmethod
    def _key(cls, key: str) -> str:
        problem = label_key_problem(key, allow_reserved=True)
        if problem:
            raise ValueError(problem.replace("label key", "taint key"))
        return key

    @field_validator("value")
    @classmethod
    def _value(cls, value: str) -> str:
        problem = label_value_problem(value)
        if problem:
            raise ValueError(problem.replace("label value", "taint value"))
        return value

    def taint(self) -> Taint:
        return Taint(key=self.key, value=self.value, effect=self.effect)


class IsolationConfig(ConfigModel):
    """How GPU nodes are fenced. Default taint: `nvidia.com/gpu=true:NoSchedule`."""

    gpu_taint: TaintConfig = Field(
        default_factory=lambda: TaintConfig(
            key=DEFAULT_GPU_TAINT.key, value=DEFAULT_GPU_TAINT.value, effect=DEFAULT_GPU_TAINT.effect
        ),
        description="the taint every GPU node carries; GPU daemons tolerate its key whatever its value",
    )

    def contract(self) -> IsolationContract:
        return IsolationContract(gpu_taint=self.gpu_taint.taint())

    def elastic_fence_problem(self, elastic_pools: list[str]) -> str | None:
        """Why this taint can't fence these elastic pools, or None. Karpenter relaxes PreferNoSchedule taints for a
        pod that fits nowhere else (scheduling/preferences.go): any pending CPU pod could make it launch a GPU node."""
        if not elastic_pools or self.gpu_taint.effect != "PreferNoSchedule":
            return None
        return (f"PreferNoSchedule can't fence elastic pools ({', '.join(elastic_pools)}): Karpenter would launch GPU "
                "nodes for pods that don't tolerate it; use NoSchedule or NoExecute")
