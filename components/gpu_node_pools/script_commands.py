"""`python -m gpu_node_pools.script_commands`: what the project's scripts read from the table and the stack files.

Not a user command; each subcommand has one caller:
- `simulated-nodes --stack S`: kwok Nodes mirroring the stack's managed pools (scripts/cluster.sh applies them);
- `kwok-instance-types [--stack S]`: the instance types the local Karpenter offers, its INSTANCE_TYPES_FILE_PATH
  JSON, with the copies the stack's shared elastic pools launch (scripts/cluster.sh);
- `image-push-target --stack S`: nodeAgent.pushRepository, where `make image-push` pushes (scripts/image-push.sh).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

from .config.platform import ConfigError
from .config.stack_files import find_project_root, load_stack
from .manifests.kwok_instance_types import kwok_instance_types
from .manifests.simulated_nodes import simulated_nodes

__all__ = ["add_project_dir", "main"]


def add_project_dir(parser: argparse.ArgumentParser) -> None:
    """`--project-dir`, which both command lines take."""
    parser.add_argument(
        "--project-dir", type=Path, default=None,
        help="project folder holding Pulumi.yaml and stacks/ (default: nearest one above the current folder)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gpu_node_pools.script_commands", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_project_dir(parser)
    commands = parser.add_subparsers(dest="command", required=True)
    nodes = commands.add_parser("simulated-nodes", help="print kwok Node objects mirroring the stack's pools")
    push = commands.add_parser(
        "image-push-target", help="print nodeAgent.pushRepository: where `make image-push` pushes the built image")
    for sub in (nodes, push):
        sub.add_argument("--stack", required=True, help="stack name: reads stacks/Pulumi.<NAME>.yaml")
    types = commands.add_parser(
        "kwok-instance-types",
        help="print the instance types the local Karpenter offers (its INSTANCE_TYPES_FILE_PATH JSON), from the table",
    )
    types.add_argument("--stack", default=None,
                       help="also offer the copies this stack's shared elastic pools launch (their shares per type)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "kwok-instance-types" and args.stack is None:
        print(json.dumps(kwok_instance_types(), indent=1))
        return 0
    try:
        config = load_stack(args.stack, args.project_dir or find_project_root())
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.command == "kwok-instance-types":
        print(json.dumps(kwok_instance_types(pools=config.node_pools), indent=1))
        return 0
    if args.command == "simulated-nodes":
        sys.stdout.write(yaml.safe_dump_all(
            simulated_nodes(config.managed_pools, config.contract), sort_keys=False, default_flow_style=False))
        return 0
    # image-push-target
    if config.node_agent.push_repository is None:
        print(
            f"error: stacks/Pulumi.{args.stack}.yaml: gpu-node-pools:nodeAgent.pushRepository is not set: name the "
            "repository to push the agent's image to (registry-host/path)", file=sys.stderr,
        )
        return 2
    print(config.node_agent.push_repository)
    return 0


if __name__ == "__main__":
    sys.exit(main())
