"""`gpu-node-pools`: read a stack file and print what it deploys, with no Pulumi CLI and no cloud access."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

from .alerts import rule_file_yaml, scrape_config
from .aws.bottlerocket import bottlerocket_nvidia_settings
from .aws.launch_template import launch_template_data
from .aws.nodegroup import nodegroup_request
from .config.cluster import EksClusterConfig
from .config.platform import ConfigError, PlatformConfig, cluster_kubernetes_version
from .config.stack_files import find_project_root, load_stack
from .manifests.in_cluster import default_node_class_ref, in_cluster_objects
from .manifests.karpenter import CAPACITY_TYPE_LABEL, INSTANCE_FAMILY_LABEL, build_node_pools
from .manifests.simulated_nodes import simulated_nodes

__all__ = ["launch_template_requests", "main", "nodegroup_requests"]


def nodegroup_requests(config: PlatformConfig) -> list[dict[str, Any]]:
    """One EKS CreateNodegroup request per managed pool. Values only known after deploy are named placeholders."""
    cluster = config.cluster
    if isinstance(cluster, EksClusterConfig):
        cluster_name, subnets = cluster.name, cluster.subnet_ids
    else:  # existing cluster: the pools describe nodes that are already there (simulated ones, locally)
        cluster_name, subnets = cluster.context or "existing-cluster", []
    return [
        nodegroup_request(
            pool,
            config.contract,
            cluster_name=cluster_name,
            subnet_ids=subnets,
            node_role_arn=f"<created on deploy: IAM role of node pool {pool.name}>",
            launch_template={
                "id": f"<created on deploy: launch template of node pool {pool.name}>",
                "version": "<its latest version>",
            },
            kubernetes_version=cluster_kubernetes_version(config),
        )
        for pool in config.managed_pools
    ]


def launch_template_requests(config: PlatformConfig) -> list[dict[str, Any]]:
    """One EC2 CreateLaunchTemplate request per managed pool. Bottlerocket NVIDIA pools carry the platform's settings."""
    settings = bottlerocket_nvidia_settings(config.device_plugin, config.node_agent)
    return [
        {
            "LaunchTemplateName": f"<named on deploy: launch template of node pool {pool.name}>",
            "LaunchTemplateData": launch_template_data(pool, bottlerocket_settings=settings),
        }
        for pool in config.managed_pools
    ]


def _dump_yaml(objects: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(objects, sort_keys=False, default_flow_style=False)


def _table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def _elastic_table(config: PlatformConfig) -> str:
    """One line per elastic pool: what Karpenter may launch, the cap, when nodes go back."""
    header = ("ELASTIC POOL", "INSTANCES", "CAPACITY", "GPU CAP", "CONSOLIDATION", "WEIGHT", "NODECLASS", "TAINTS")
    rows: list[tuple[str, ...]] = [header]
    for obj in build_node_pools(config.node_pools, config.contract, default_node_class_ref(config)):
        spec, template = obj["spec"], obj["spec"]["template"]["spec"]
        values = {r["key"]: ",".join(r["values"]) for r in template["requirements"]}
        instances = values.get(INSTANCE_FAMILY_LABEL, "") or values.get("node.kubernetes.io/instance-type", "")
        disruption = spec["disruption"]
        rows.append((
            obj["metadata"]["name"],
            instances,
            values[CAPACITY_TYPE_LABEL],
            spec["limits"]["nvidia.com/gpu"],
            f"{disruption['consolidationPolicy']} after {disruption['consolidateAfter']}",
            str(spec.get("weight", "-")),
            f"{template['nodeClassRef']['kind']}/{template['nodeClassRef']['name']}",
            ",".join(f"{t['key']}={t['value']}:{t['effect']}" for t in template["taints"]) or "<none>",
        ))
    return _table(rows)


def _pools_table(config: PlatformConfig) -> str:
    header = ("NAME", "KIND", "INSTANCE TYPES", "AMI TYPE", "CAPACITY", "MIN/DESIRED/MAX", "DISK", "TAINTS")
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
            taints or "<none>",
        ))
    tables = [_table(rows)] if len(rows) > 1 else []
    if config.elastic_pools:
        tables.append(_elastic_table(config))
    return "\n\n".join(tables)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gpu-node-pools", description=__doc__)
    parser.add_argument(
        "--project-dir", type=Path, default=None,
        help="project folder holding Pulumi.yaml and stacks/ (default: nearest one above the current folder)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    render = commands.add_parser("render", help="print the stack's in-cluster Kubernetes objects as YAML")
    pools = commands.add_parser(
        "pools", help="show the stack's node pools (managed node groups, then elastic pools as Karpenter NodePools)"
    )
    as_json = pools.add_mutually_exclusive_group()
    as_json.add_argument("--json", action="store_true", help="EKS CreateNodegroup requests as a JSON list")
    as_json.add_argument(
        "--launch-templates", action="store_true", help="EC2 CreateLaunchTemplate requests as a JSON list"
    )
    alerts = commands.add_parser(
        "alerts", help="print the stack's Prometheus rule file (rule_files:), or with --scrape-config the agent's scrape job"
    )
    alerts.add_argument(
        "--scrape-config", action="store_true", help="print a scrape_configs entry for the node agent instead"
    )
    nodes = commands.add_parser("simulated-nodes", help="print kwok Node objects mirroring the stack's pools")
    plan = commands.add_parser(
        "plan", help="every AWS resource the stack declares, with its key settings (components under Pulumi mocks)")
    plan.add_argument("--json", action="store_true", help="every declared resource with all its inputs, as JSON")
    push = commands.add_parser(
        "image-push-target", help="print nodeAgent.pushRepository: where `make image-push` pushes the built image")
    for sub in (render, pools, alerts, nodes, plan, push):
        sub.add_argument("--stack", required=True, help="stack name: reads stacks/Pulumi.<NAME>.yaml")
    commands.add_parser("config-reference", help="print the stack config reference as a Markdown table")
    commands.add_parser(
        "kwok-instance-types",
        help="print the instance types the local Karpenter offers (its INSTANCE_TYPES_FILE_PATH JSON), from the table",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "config-reference":
        from .config.reference import config_reference_markdown

        print(config_reference_markdown())
        return 0
    if args.command == "kwok-instance-types":
        from .manifests.kwok_instance_types import kwok_instance_types

        print(json.dumps(kwok_instance_types(), indent=1))
        return 0
    try:
        # render and plan build the agent's DaemonSet, so they need the image a nodeAgent.imageBuild names.
        config = load_stack(args.stack, args.project_dir or find_project_root(),
                            resolve_image=args.command in ("render", "plan"))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.command == "image-push-target":
        if config.node_agent.push_repository is None:
            print(
                f"error: stacks/Pulumi.{args.stack}.yaml: gpu-node-pools:nodeAgent.pushRepository is not set: name the "
                "repository to push the agent's image to (registry-host/path)", file=sys.stderr,
            )
            return 2
        print(config.node_agent.push_repository)
    elif args.command == "render":
        sys.stdout.write(_dump_yaml(in_cluster_objects(config)))
    elif args.command == "alerts":
        if args.scrape_config:
            sys.stdout.write(yaml.safe_dump({"scrape_configs": [scrape_config(config.node_agent)]}, sort_keys=False))
        else:
            sys.stdout.write(rule_file_yaml(config.alerts))
    elif args.command == "simulated-nodes":
        sys.stdout.write(_dump_yaml(simulated_nodes(config.managed_pools, config.contract)))
    elif args.command == "plan":
        # Imports pulumi and the providers' SDKs: only this command pays for them.
        from .plan import aws_resources, declare, plan_table

        declared = aws_resources(declare(config, args.stack, args.project_dir or find_project_root()))
        if args.json:
            print(json.dumps([vars(r) for r in declared], indent=2, default=str))
        else:
            print(plan_table(declared))
    elif args.json:
        print(json.dumps(nodegroup_requests(config), indent=2))
    elif args.launch_templates:
        print(json.dumps(launch_template_requests(config), indent=2))
    else:
        print(_pools_table(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
