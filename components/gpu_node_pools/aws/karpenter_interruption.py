"""Karpenter's interruption queue as data: the SQS queue, its policy, and the EventBridge rules that feed it.

With the queue, Karpenter cordons and drains a node when EC2 warns of a spot interruption (two minutes ahead), a
rebalance recommendation, a scheduled health event or a stop/termination, instead of the pods dying with it.
Shapes and values follow Karpenter's CloudFormation template for this release (see `aws.karpenter_iam`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .names import SQS_QUEUE_NAME_MAX, name_within

__all__ = [
    "INTERRUPTION_EVENTS",
    "InterruptionEvent",
    "create_queue_request",
    "interruption_queue_name",
    "put_rule_request",
    "put_targets_request",
    "queue_policy",
    "set_queue_policy_request",
]

_SUFFIX = "-karpenter"
TARGET_ID = "KarpenterInterruptionQueueTarget"


@dataclass(frozen=True)
class InterruptionEvent:
    """One EventBridge rule: `name` is appended to the rule's resource name."""

    name: str
    source: str
    detail_type: str

    def pattern(self) -> dict[str, list[str]]:
        return {"source": [self.source], "detail-type": [self.detail_type]}


# The five rules of Karpenter's template (the capacity-reservation one matters once a pool uses reservations).
INTERRUPTION_EVENTS = (
    InterruptionEvent("health", "aws.health", "AWS Health Event"),
    InterruptionEvent("spot-interruption", "aws.ec2", "EC2 Spot Instance Interruption Warning"),
    InterruptionEvent("rebalance", "aws.ec2", "EC2 Instance Rebalance Recommendation"),
    InterruptionEvent("instance-state-change", "aws.ec2", "EC2 Instance State-change Notification"),
    InterruptionEvent(
        "capacity-reservation-interruption", "aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"
    ),
)


def interruption_queue_name(cluster_name: str) -> str:
    """`<cluster>-karpenter`; a cluster name too long for SQS' 80 characters (EKS allows 100) is cut and hashed,
    so two long names that share a beginning still get queues of their own."""
    return name_within(cluster_name + _SUFFIX, SQS_QUEUE_NAME_MAX, keep_suffix=_SUFFIX)


def create_queue_request(name: str, retention_seconds: int) -> dict[str, Any]:
    """SQS CreateQueue: short retention (a stale interruption warning is useless), SQS-managed encryption."""
    return {
        "QueueName": name,
        "Attributes": {"MessageRetentionPeriod": str(retention_seconds), "SqsManagedSseEnabled": "true"},
    }


def queue_policy(queue_arn: str) -> dict[str, Any]:
    """EventBridge (and SQS itself) may send to the queue; nothing may use it over plain HTTP."""
    return {
        "Version": "2012-10-17",
        "Id": "EC2InterruptionPolicy",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
                "Action": "sqs:SendMessage",
                "Resource": queue_arn,
            },
            {
                "Sid": "DenyHTTP",
                "Effect": "Deny",
                "Action": "sqs:*",
                "Resource": queue_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                "Principal": "*",
            },
        ],
    }


def set_queue_policy_request(queue_url: str, queue_arn: str) -> dict[str, Any]:
    return {"QueueUrl": queue_url, "Attributes": {"Policy": json.dumps(queue_policy(queue_arn))}}


def put_rule_request(name: str, event: InterruptionEvent, cluster_name: str) -> dict[str, Any]:
    return {
        "Name": name,
        "EventPattern": json.dumps(event.pattern()),
        "State": "ENABLED",
        "Description": f"{event.detail_type} events to Karpenter's interruption queue of EKS cluster {cluster_name}",
    }


def put_targets_request(rule_name: str, queue_arn: str) -> dict[str, Any]:
    return {"Rule": rule_name, "Targets": [{"Id": TARGET_ID, "Arn": queue_arn}]}
