"""Writes docs/deployer-policy.json (`make generate`): the IAM policy for whoever runs `pulumi up`, from the AWS
resource types and lookups the shipped EKS stacks declare under mocks; tests/test_deployer_policy.py fails when
stale."""

import json
from pathlib import Path

from gpu_node_pools.aws.deployer_policy import deployer_policy
from gpu_node_pools.config.stack_files import load_stack
from gpu_node_pools.mock_engine import aws_operations

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "deployer-policy.json"
STACKS = ("dev", "prod")


def document() -> str:
    """The file's text, as it must be committed."""
    types: set[str] = set()
    lookups: set[str] = set()
    for stack in STACKS:
        declared, called = aws_operations(load_stack(stack, ROOT), stack, ROOT)
        types |= declared
        lookups |= called
    return json.dumps(deployer_policy(types, lookups), indent=2) + "\n"


if __name__ == "__main__":
    DOC.write_text(document())
