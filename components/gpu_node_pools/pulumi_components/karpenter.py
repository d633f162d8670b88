"""`Karpenter`: everything Karpenter needs on a new EKS cluster, from the data in `aws.karpenter_*` and
`manifests.karpenter_*`, in dependency order.

AWS side: the node role, its instance profile and `EC2_LINUX` access entry; the interruption queue with its policy
and EventBridge rules; the controller role (trusting EKS Pod Identity) with Karpenter's tag-scoped policies, and
its Pod Identity association. Nothing is tagged: the EC2NodeClass names the subnets and security group by id.
Kubernetes side: the CRDs, then the controller (after the Pod Identity agent, the association, the general node
groups and CoreDNS), then the EC2NodeClass `gpu-node-pools` and each elastic MIG pool's own copy of it (its layout
in `userData`; same instance profile, so the controller's policies cover it unchanged).

Deletion runs the other way: the EC2NodeClass (and any NodePool depending on `node_class`) goes while the controller
still runs to remove its finalizer and the nodes it launched; the controller goes before its role and the CRDs.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from ..aws import PENDING_OUTPUT
from ..aws.access import (
    create_node_access_entry_request,
    create_pod_identity_association_request,
)
from ..aws.names import EVENT_RULE_NAME_MAX, IAM_ROLE_NAME_MAX, autoname_within
from ..aws.karpenter_iam import CONTROLLER_POLICY_NAMES, KARPENTER_NODE_ROLE_POLICIES, cluster_identity, controller_policies, node_trust_policy, pod_identity_trust_policy
from ..config.karpenter import KARPENTER_NAMESPACE, KARPENTER_SERVICE_ACCOUNT
from ..aws.karpenter_interruption import (
    INTERRUPTION_EVENTS,
    TARGET_ID,
    create_queue_request,
    interruption_queue_name,
    put_rule_request,
    queue_policy,
)
from ..config.cluster import EksClusterConfig
from ..config.karpenter import KarpenterConfig
from ..config.node_pool import NodePoolConfig
from ..manifests.ec2_node_class import build_ec2_node_class
from ..manifests.karpenter_controller import build_karpenter_controller
from ..manifests.karpenter_crds import karpenter_crds
from ..parts import mig_node_classes, object_id
from ._k8s_resources import declare_objects

__all__ = ["Karpenter", "KarpenterArgs"]


@dataclass(frozen=True)
class KarpenterArgs:
    """What Karpenter needs from the cluster. Outputs are the `Cluster` component's."""

    config: KarpenterConfig
    cluster: EksClusterConfig
    cluster_name: pulumi.Input[str]
    cluster_arn: pulumi.Input[str]
    cluster_security_group_id: pulumi.Input[str]
    # The eks-pod-identity-agent add-on: the controller gets no AWS credentials without it.
    pod_identity_agent: pulumi.Resource | None = None
    # What the controller must wait for: the general node groups it runs on, and CoreDNS.
    controller_after: Sequence[pulumi.Resource] = field(default_factory=list)
    # The platform's elastic pools: each MIG one gets its own EC2NodeClass.
    elastic_pools: Sequence[NodePoolConfig] = field(default_factory=list)


class Karpenter(pulumi.ComponentResource):
    """Karpenter on EKS. Give it the cluster's Kubernetes provider through `opts.providers`."""

    node_role_arn: pulumi.Output[str]
    instance_profile_name: pulumi.Output[str]
    controller_role_arn: pulumi.Output[str]
    queue_name: str | None
    crds: dict[str, pulumi.CustomResource]
    controller: dict[str, pulumi.CustomResource]
    node_class: pulumi.CustomResource
    mig_node_classes: dict[str, pulumi.CustomResource]
    object_ids: pulumi.Output[list[str]]

    def __init__(self, name: str, args: KarpenterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("gpu-node-pools:index:Karpenter", name, None, opts)
        self._name = name
        config = args.config
        self.queue_name = (
            interruption_queue_name(args.cluster.name) if config.interruption_queue.enabled else None
        )
        node_role, node_ready = self._nodes(args)
        queue_arn = self._interruption_queue(args)
        association = self._controller_identity(args, node_role.arn, queue_arn)

        self.crds = declare_objects(karpenter_crds(config.version), self)
        controller_objects = build_karpenter_controller(
            config, cluster_name=args.cluster.name, interruption_queue=self.queue_name
        )
        pod_identity = [args.pod_identity_agent] if args.pod_identity_agent else []
        self.controller = declare_objects(
            controller_objects, self,
            depends_on=[*self.crds.values(), association, *pod_identity, *args.controller_after],
        )
        node_class = build_ec2_node_class(
            config.node_class, instance_profile=self.instance_profile_name, subnet_ids=args.cluster.subnet_ids,
            security_group_id=args.cluster_security_group_id,
        )
        mig_classes = mig_node_classes(
            list(args.elastic_pools), config.node_class, instance_profile=self.instance_profile_name,
            subnet_ids=args.cluster.subnet_ids, security_group_id=args.cluster_security_group_id,
        )
        # After the controller, so that they are deleted first, while the controller can still clear finalizers.
        node_classes = declare_objects(
            [node_class, *mig_classes], self,
            depends_on=[*self.crds.values(), *self.controller.values(), *node_ready],
        )
        self.node_class, *mig_resources = node_classes.values()
        self.mig_node_classes = {c["metadata"]["name"]: r for c, r in zip(mig_classes, mig_resources, strict=True)}
        objects = [*karpenter_crds(config.version), *controller_objects, node_class, *mig_classes]
        self.object_ids = pulumi.Output.from_input(sorted(object_id(obj) for obj in objects))
        self.register_outputs({
            "object_ids": self.object_ids,
            "node_role_arn": self.node_role_arn,
            "instance_profile_name": self.instance_profile_name,
            "controller_role_arn": self.controller_role_arn,
            "interruption_queue": self.queue_name,
        })

    def _opts(self, depends_on: Sequence[pulumi.Resource] = ()) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=list(depends_on))

    def _nodes(self, args: KarpenterArgs) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
        """The node role, its instance profile and access entry; returns the role and what a node needs to join."""
        name = f"{self._name}-node"
        role = aws.iam.Role(
            autoname_within(name, IAM_ROLE_NAME_MAX), assume_role_policy=json.dumps(node_trust_policy()),
            description=f"Nodes Karpenter launches in EKS cluster {args.cluster.name}", opts=self._opts(),
        )
        attachments = [
            aws.iam.RolePolicyAttachment(
                f"{name}-{policy}", role=role.name, policy_arn=f"arn:aws:iam::aws:policy/{policy}",
                opts=self._opts(),
            )
            for policy in KARPENTER_NODE_ROLE_POLICIES
        ]
        profile = aws.iam.InstanceProfile(name, role=role.name, opts=self._opts())
        request = create_node_access_entry_request(PENDING_OUTPUT, PENDING_OUTPUT)
        access = aws.eks.AccessEntry(
            name, cluster_name=args.cluster_name, principal_arn=role.arn, type=request["type"], opts=self._opts(),
        )
        self.node_role_arn = role.arn
        self.instance_profile_name = profile.name
        return role, [profile, access, *attachments]

    def _interruption_queue(self, args: KarpenterArgs) -> pulumi.Output[str] | None:
        if self.queue_name is None:
            return None
        request = create_queue_request(self.queue_name, args.config.interruption_queue.message_retention_seconds)
        queue = aws.sqs.Queue(
            f"{self._name}-interruption",
            name=request["QueueName"],
            message_retention_seconds=int(request["Attributes"]["MessageRetentionPeriod"]),
            sqs_managed_sse_enabled=request["Attributes"]["SqsManagedSseEnabled"] == "true",
            opts=self._opts(),
        )
        queue_policy_resource = aws.sqs.QueuePolicy(
            f"{self._name}-interruption",
            queue_url=queue.url,
            policy=queue.arn.apply(lambda arn: json.dumps(queue_policy(arn))),
            opts=self._opts(),
        )
        for event in INTERRUPTION_EVENTS:
            rule_request = put_rule_request(PENDING_OUTPUT, event, args.cluster.name)
            rule = aws.cloudwatch.EventRule(
                autoname_within(f"{self._name}-{event.name}", EVENT_RULE_NAME_MAX),
                event_pattern=rule_request["EventPattern"],
                description=rule_request["Description"],
                state=rule_request["State"],
                opts=self._opts(),
            )
            # After the queue policy: EventBridge can't deliver until the queue lets it send.
            aws.cloudwatch.EventTarget(
                f"{self._name}-{event.name}", rule=rule.name, arn=queue.arn, target_id=TARGET_ID,
                opts=self._opts([queue_policy_resource]),
            )
        return queue.arn

    def _controller_identity(
        self, args: KarpenterArgs, node_role_arn: pulumi.Output[str], queue_arn: pulumi.Output[str] | None
    ) -> pulumi.Resource:
        name = f"{self._name}-controller"
        role = aws.iam.Role(
            autoname_within(name, IAM_ROLE_NAME_MAX), assume_role_policy=json.dumps(pod_identity_trust_policy()),
            description=f"Karpenter's controller in EKS cluster {args.cluster.name} (EKS Pod Identity)",
            opts=self._opts(),
        )
        documents = pulumi.Output.all(args.cluster_arn, node_role_arn, queue_arn).apply(
            lambda a: controller_policies(cluster_identity(a[0]), node_role_arn=a[1], queue_arn=a[2])
        )
        names = [n for n in CONTROLLER_POLICY_NAMES if n != "Interruption" or queue_arn is not None]
        attachments = []
        for policy_name in names:
            policy = aws.iam.Policy(
                f"{name}-{policy_name}",
                description=f"Karpenter controller {policy_name} policy, EKS cluster {args.cluster.name}",
                policy=documents.apply(functools.partial(_policy_json, policy_name)),
                opts=self._opts(),
            )
            attachments.append(aws.iam.RolePolicyAttachment(
                f"{name}-{policy_name}", role=role.name, policy_arn=policy.arn, opts=self._opts()
            ))
        request = create_pod_identity_association_request(
            PENDING_OUTPUT, KARPENTER_NAMESPACE, KARPENTER_SERVICE_ACCOUNT, PENDING_OUTPUT
        )
        self.controller_role_arn = role.arn
        # After the policies: credentials handed out before them would fail the controller's first calls.
        return aws.eks.PodIdentityAssociation(
            name,
            cluster_name=args.cluster_name,
            namespace=request["namespace"],
            service_account=request["serviceAccount"],
            role_arn=role.arn,
            opts=self._opts(attachments),
        )


def _policy_json(name: str, documents: dict[str, dict[str, Any]]) -> str:
    return json.dumps(documents[name])
