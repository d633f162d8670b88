"""Names AWS gives our resources, kept inside its length limits for any stack and cluster name.

Most resources are named by Pulumi from their logical name (`<logical>-<7 random hex>`), and logical names grow
with the stack and pool names. A name that would pass a limit is cut and ended with a hash of the whole name, so it
stays unique and stable from run to run; a name that fits is left alone, so existing stacks keep their resources.
"""

from __future__ import annotations

import hashlib

__all__ = [
    "AUTONAME_SUFFIX_LENGTH",
    "EVENT_RULE_NAME_MAX",
    "IAM_ROLE_NAME_MAX",
    "SQS_QUEUE_NAME_MAX",
    "autoname_within",
    "name_within",
]

# Pulumi's auto-name: the logical name, '-' and 7 random hex characters.
AUTONAME_SUFFIX_LENGTH = 8
# AWS limits (botocore's models: iam CreateRole RoleName, events PutRule Name; SQS' docs for QueueName).
IAM_ROLE_NAME_MAX = 64
EVENT_RULE_NAME_MAX = 64
SQS_QUEUE_NAME_MAX = 80
_HASH_LENGTH = 8


def name_within(name: str, limit: int, *, keep_suffix: str = "") -> str:
    """`name` itself when it has at most `limit` characters; else cut, with `-<hash of name>` before `keep_suffix`
    (which is kept whole, e.g. `-karpenter`)."""
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:_HASH_LENGTH]
    head = name.removesuffix(keep_suffix)[: limit - len(keep_suffix) - _HASH_LENGTH - 1].rstrip("-_")
    return f"{head}-{digest}{keep_suffix}"


def autoname_within(logical: str, limit: int) -> str:
    """A logical name whose Pulumi auto-name fits a `limit` on the physical name."""
    return name_within(logical, limit - AUTONAME_SUFFIX_LENGTH)
