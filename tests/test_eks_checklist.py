"""docs/eks.md's first-deploy checklist: the steps in the order a deploy needs them, naming what each needs."""

import re

from pulumi_harness import ROOT

DOC = (ROOT / "docs" / "eks.md").read_text()
STEPS = ["VPC and subnets", "Who reaches the API endpoint", "The deployer's IAM permissions",
         "The deployer's Kubernetes access", "Access for people and CI", "EC2 vCPU quotas for GPU instances",
         "`PULUMI_CONFIG_PASSPHRASE` for a file backend", "The placeholders to fill", "Plan, preview, up"]


def checklist() -> str:
    return DOC.split("## A first real deploy: the checklist, in order", 1)[1].split("\n## ", 1)[0]


def test_the_steps_come_numbered_in_order() -> None:
    found = re.findall(r"^(\d+)\. \*\*(.+?)\.?\*\*", checklist(), flags=re.MULTILINE)
    assert found == [(str(i), step) for i, step in enumerate(STEPS, start=1)]


def test_the_steps_name_the_policy_the_quotas_and_how_to_fill_placeholders() -> None:
    text = checklist()
    assert "(deployer-policy.json)" in text and (ROOT / "docs" / "deployer-policy.json").is_file()
    for quota in ("Running On-Demand G and VT instances", "Running On-Demand P instances",
                  "All G and VT Spot Instance Requests", "All P Spot Instance Requests"):
        assert f'"{quota}"' in text
    for how in ("make image-push STACK=prod", "crane digest public.ecr.aws/karpenter/controller:",
                "PULUMI_CONFIG_PASSPHRASE", "publicAccessCidrs", "privateAccessSecurityGroupIds",
                "creatorPrincipalArn"):
        assert how in text
