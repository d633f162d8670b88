"""The component package's args: generated from the config models, validated by them, deploying what Python does.

Args reach a component the way Pulumi's component provider delivers them: the engine's camelCase inputs mapped by
`ComponentProvider.map_inputs` (Python names, Enum members, integers as floats turned back into ints).
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pytest
import yaml
from gpu_node_pools.config.platform import (
    ConfigError,
    PlatformConfig,
    parse_platform_config,
)
from gpu_node_pools import pulumi_components as components
from gpu_node_pools.config import component_args as inputs
from gpu_node_pools.parts import COMPONENT_ARGS
from gpu_node_pools.pulumi_components import args as package_args
from gpu_node_pools.provider.typeddicts import (
    GENERATED_MODULE,
    render_module,
    shape_of_model,
    shape_of_typeddict,
)
from gpu_node_pools.pulumi_components.platform import GpuPlatform as PythonGpuPlatform
from pulumi.provider.experimental.component import ComponentProvider
from gpu_node_pools.mock_engine import MockEngine
from pulumi_harness import ROOT

PROVIDER = ComponentProvider(components.COMPONENTS, "gpu-node-pools", None, "0.0.0")
SERVED = {component.__name__: component for component in components.COMPONENTS}


def local_config() -> dict[str, Any]:
    """The local stack's config, keyed as in the stack file without the `gpu-node-pools:` prefix."""
    raw = yaml.safe_load((ROOT / "stacks" / "Pulumi.local.yaml").read_text())["config"]
    config = {key.split(":", 1)[1]: value for key, value in raw.items()}
    # The stack file names the folder `make image` builds into, which only the stack program reads; a package
    # program names the image itself.
    return {**config, "nodeAgent": {"image": "gpu-node-agent:0.1.0"}}


def engine_inputs(value: Any) -> Any:
    """What the engine sends: JSON, so every number is a float."""
    return json.loads(json.dumps(value), parse_int=float)


def construct(component: str, name: str, camel_inputs: dict[str, Any]) -> pulumi.ComponentResource:
    mapped = PROVIDER.map_inputs(engine_inputs(camel_inputs), PROVIDER._component_defs[component])
    return SERVED[component](name, mapped)


def kubernetes_objects(mocks: MockEngine) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r.typ, r.name): dict(r.inputs) for r in mocks.resources if r.typ.startswith("kubernetes:")
            and not r.typ.startswith("pulumi:providers")}


def test_the_generated_typeddicts_are_what_the_models_say_now() -> None:
    assert GENERATED_MODULE.read_text() == render_module(), "pulumi_components/args.py is stale: run `make generate`"


@pytest.mark.parametrize("component", sorted(COMPONENT_ARGS))
def test_each_components_typeddict_mirrors_its_model_field_by_field(component: str) -> None:
    model = COMPONENT_ARGS[component]
    typed = getattr(package_args, model.__name__)

    assert shape_of_typeddict(typed) == shape_of_model(model)
    # ... and it is what the component's constructor declares, so the schema is inferred from it.
    assert SERVED[component].__init__.__annotations__["args"] is typed


def test_a_changed_model_field_shows_as_drift() -> None:
    """The comparison sees a field the TypedDict lacks and a default that made a key optional."""
    typed = shape_of_typeddict(package_args.ScalingConfig)
    model = shape_of_model(inputs.NodePoolArgs.model_fields["scaling"].annotation.__args__[0])
    assert typed == model
    assert {k: v for k, v in typed.items() if k != "desired"} != model
    assert {**typed, "min": (False, "int")} != model


def test_stack_spelling_restores_aliases_enum_values_and_leaves_user_maps_alone() -> None:
    spelled = inputs.stack_spelling(PlatformConfig, {
        "cluster": {"mode": package_args.ClusterMode.EKS, "name": "c", "subnet_ids": ["a", "b"],
                    "addons": {"vpc_cni": {"version": "v1"}}},
        "node_pools": [{"name": "g", "kind": package_args.NodePoolKind.GPU, "instance_types": ["g5.xlarge"],
                        "labels": {"team_name": "ml"}, "scaling": {"min": 0, "max": 1}}],
    })
    assert spelled == {
        "cluster": {"mode": "eks", "name": "c", "subnetIds": ["a", "b"], "addons": {"vpc-cni": {"version": "v1"}}},
        "nodePools": [{"name": "g", "kind": "gpu", "instanceTypes": ["g5.xlarge"], "labels": {"team_name": "ml"},
                       "scaling": {"min": 0, "max": 1}}],
    }


def test_package_gpu_platform_declares_the_python_stacks_kubernetes_objects() -> None:
    config = local_config()
    python_mocks = MockEngine()
    pulumi.runtime.set_mocks(python_mocks, project="p", stack="local", preview=False)

    @pulumi.runtime.test
    def python_program() -> None:
        PythonGpuPlatform("local", parse_platform_config(config, "stacks/Pulumi.local.yaml"))

    python_program()
    package_mocks = MockEngine()
    pulumi.runtime.set_mocks(package_mocks, project="p", stack="local", preview=False)
    ids: list[list[str]] = []

    @pulumi.runtime.test
    def package_program() -> pulumi.Output[Any]:
        platform = construct("GpuPlatform", "local", config)
        return platform.object_ids.apply(ids.append)  # type: ignore[attr-defined]

    package_program()

    expected = kubernetes_objects(python_mocks)
    assert len(expected) > 20
    assert kubernetes_objects(package_mocks) == expected
    assert len(ids[0]) == len([k for k in expected if not k[0].startswith("pulumi:providers")])


def test_single_components_declare_what_the_platform_does_for_their_part() -> None:
    config = local_config()
    platform_mocks = MockEngine()
    pulumi.runtime.set_mocks(platform_mocks, project="p", stack="local", preview=False)
    pulumi.runtime.test(lambda: construct("GpuPlatform", "local", config))()

    mocks = MockEngine()
    pulumi.runtime.set_mocks(mocks, project="p", stack="local", preview=False)
    elastic_pools = [p for p in config["nodePools"] if "elastic" in p]
    # The platform hands each shared pool's sharing to the device plugin; a lone one is told.
    pool_sharing = {p["name"]: p["sharing"] for p in config["nodePools"] if "sharing" in p}
    assert pool_sharing, "the local stack has a shared pool"

    @pulumi.runtime.test
    def program() -> None:
        construct("PriorityClasses", "local-priority", {})
        construct("WorkloadNamespaces", "local-tenants", {"tenants": config["tenants"]})
        construct("DevicePlugin", "local-device-plugin", {"poolSharing": pool_sharing})
        construct("MetricsServer", "local-metrics-server", config["metricsServer"])
        # The platform hands the agent its MIG pools' strategy; a lone one is told.
        construct("NodeAgent", "local-node-agent", {**config["nodeAgent"], "migStrategy": "single"})
        for elastic in elastic_pools:
            construct("ElasticNodePool", f"local-{elastic['name']}", {**elastic, "elastic": {
                **elastic["elastic"], "nodeClassRef": {"group": "karpenter.kwok.sh", "kind": "KWOKNodeClass",
                                                       "name": "default"}}})

    program()
    assert kubernetes_objects(mocks) == kubernetes_objects(platform_mocks)


@pytest.mark.parametrize(("component", "camel_inputs", "key", "message"), [
    ("DevicePlugin", {"resources": {"cpu": "lots", "memory": "64Mi", "cpuLimit": "1", "memoryLimit": "1Gi"}},
     "resources.cpu", "lots"),
    ("NodeAgent", {"intervalSeconds": 15}, "image", "image"),
    ("ElasticNodePool", {"name": "g", "kind": "gpu", "elastic": {"limits": {"gpus": 4}, "instanceFamilies": ["g5"]},
                         "isolation": {"gpuTaint": {"key": "nvidia.com/gpu", "effect": "PreferNoSchedule"}}},
     "isolation.gpuTaint.effect", "PreferNoSchedule"),
    ("ElasticNodePool", {"name": "g", "kind": "gpu", "instanceTypes": ["g5.xlarge"], "scaling": {"min": 0, "max": 2}},
     "elastic", "elastic"),
    ("NodePool", {"name": "g", "kind": "gpu", "instanceTypes": ["g5.xlarge"], "scaling": {"min": 3, "max": 1},
                  "subnetIds": ["s"], "clusterName": "c"}, "scaling", "min (3) is greater than max (1)"),
    ("GpuPlatform", {"cluster": {"mode": "eks", "subnetIds": ["a", "b"]}}, "cluster.name", "required key"),
])
def test_bad_args_fail_before_any_resource_naming_the_key(component: str, camel_inputs: dict[str, Any], key: str,
                                                           message: str) -> None:
    mocks = MockEngine()
    pulumi.runtime.set_mocks(mocks, project="p", stack="s", preview=False)
    with pytest.raises(ConfigError) as error:
        pulumi.runtime.test(lambda: construct(component, "bad", camel_inputs))()
    assert f"{component} 'bad' args" in str(error.value)
    assert any(k == key and message in m for k, m in error.value.problems), error.value.problems
    assert [r.typ for r in mocks.resources if not r.typ.startswith("gpu-node-pools:")] == []


def test_a_wrong_enum_value_is_refused_by_the_provider_with_the_enums_name() -> None:
    from pulumi.errors import InputPropertyError

    with pytest.raises(InputPropertyError, match="TaintEffect"):
        PROVIDER.map_inputs({"isolation": {"gpuTaint": {"key": "k", "effect": "Sometimes"}}},
                            PROVIDER._component_defs["DevicePlugin"])
