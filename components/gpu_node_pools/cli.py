"""`gpu-node-pools`: read a stack file and print what it deploys, with no Pulumi CLI and no cloud access."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

import yaml

from .alerts import rule_file_yaml, scrape_config
from .aws.pool_requests import launch_template_requests, nodegroup_requests
from .config.platform import ConfigError
from .config.stack_files import find_project_root, load_stack
from .parts import in_cluster_objects
from .pools_table import pools_table
from .script_commands import add_project_dir

__all__ = ["main"]


def _dump_yaml(objects: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(objects, sort_keys=False, default_flow_style=False)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gpu-node-pools", description=__doc__)
    add_project_dir(parser)
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
    plan = commands.add_parser(
        "plan", help="every AWS resource the stack declares, with its key settings (components under Pulumi mocks)")
    plan.add_argument("--json", action="store_true", help="every declared resource with all its inputs, as JSON")
    for sub in (render, pools, alerts, plan):
        sub.add_argument("--stack", required=True, help="stack name: reads stacks/Pulumi.<NAME>.yaml")
    commands.add_parser("config-reference", help="print the stack config reference as a Markdown table")
    rightsize = commands.add_parser(
        "rightsize", help="per-workload GPU use from the node agent's series in Prometheus, and what to change")
    rightsize.add_argument("--prometheus", required=True, metavar="URL", help="the Prometheus server's base URL")
    rightsize.add_argument("--window", default="7d", help="how far back to look, as a Prometheus duration (default 7d)")
    rightsize.add_argument("--step", help="resolution (default: the window / 2000, at least 1m)")
    rightsize.add_argument("--json", action="store_true", help="the report as JSON, for tools")
    return parser


def _rightsize(args: argparse.Namespace) -> int:
    from .prometheus_api import PrometheusError, fetch_answers, parse_duration
    from .rightsize import MissingSeries, Window, build_report, report_json
    from .rightsize_table import rightsize_table

    try:
        seconds = parse_duration(args.window, "--window")
        step = parse_duration(args.step, "--step") if args.step else max(60, -(-seconds // 2000 // 60) * 60)
        if step > seconds:
            raise ValueError(f"--step {args.step!r} is longer than --window {args.window!r}")
        window = Window(end=float(int(time.time()) // step * step), seconds=seconds, step=step)
        report = build_report(fetch_answers(args.prometheus, window), window)
    except (ValueError, PrometheusError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except MissingSeries as error:
        print(f"error: Prometheus at {args.prometheus}: {error}", file=sys.stderr)
        return 3
    print(json.dumps(report_json(report), indent=2) if args.json else rightsize_table(report))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "config-reference":
        from .config.reference import config_reference_markdown

        print(config_reference_markdown())
        return 0
    if args.command == "rightsize":
        return _rightsize(args)
    try:
        # render and plan build the agent's DaemonSet, so they need the image a nodeAgent.imageBuild names.
        config = load_stack(args.stack, args.project_dir or find_project_root(),
                            resolve_image=args.command in ("render", "plan"))
    except ConfigError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.command == "render":
        sys.stdout.write(_dump_yaml(in_cluster_objects(config)))
    elif args.command == "alerts":
        if args.scrape_config:
            sys.stdout.write(yaml.safe_dump({"scrape_configs": [scrape_config(config.node_agent)]}, sort_keys=False))
        else:
            sys.stdout.write(rule_file_yaml(config.alerts))
    elif args.command == "plan":
        # Imports pulumi and the providers' SDKs: only this command pays for them.
        from .plan import plan, plan_json, plan_table

        declared = plan(config, args.stack, args.project_dir or find_project_root())
        print(plan_json(declared) if args.json else plan_table(declared))
    elif args.json:
        print(json.dumps(nodegroup_requests(config), indent=2))
    elif args.launch_templates:
        print(json.dumps(launch_template_requests(config), indent=2))
    else:
        print(pools_table(config))
    return 0


if __name__ == "__main__":
    sys.exit(main())
