"""The stack programs under Pulumi mocks: what each stack declares, and how the components fence GPU nodes."""

from collections import Counter

import pulumi
import pytest
from gpu_node_pools.contract import IsolationContract, Taint
from gpu_node_pools.mock_engine import DeclaredResource
from pulumi_harness import fake_aws_credentials, run_program

NODE_GROUP = "aws:eks/nodeGroup:NodeGroup"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
CLUSTER = "aws:eks/cluster:Cluster"
ADDON = "aws:eks/addon:Addon"
ACCESS_ENTRY = "aws:eks/accessEntry:AccessEntry"
ACCESS_POLICY = "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"
# What a new EKS cluster brings besides itself: its Secrets key (+ alias and the role's grant), its log group (+ the
# role's deny on creating one), and the four managed add-ons.
CLUSTER_PARTS = {"aws:kms/key:Key": 1, "aws:kms/alias:Alias": 1, "aws:iam/rolePolicy:RolePolicy": 2,
                 "aws:cloudwatch/logGroup:LogGroup": 1, ADDON: 4, "aws:ec2/securityGroup:SecurityGroup": 1}
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
WORKLOADS = ("kubernetes:apps/v1:DaemonSet", "kubernetes:apps/v1:Deployment")


@pytest.fixture(autouse=True)
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_aws_credentials(monkeypatch)


def of_type(resources: list[DeclaredResource], typ: str) -> list[DeclaredResource]:
    return [r for r in resources if r.type == typ]


def pod_spec(workload: DeclaredResource) -> dict:
    return workload.inputs["spec"]["template"]["spec"]


@pytest.mark.parametrize(
    ("stack", "expected"),
    [
        # Karpenter (on in dev and prod) adds its node and controller roles, 3 + 6 policy attachments and the
        # nodes' EC2_LINUX access entry; the deployer's own admin entry is one more in each; prod's private
        # endpoint admits one security group. dev's GPU capacity is elastic only: one node group, the general one.
        ("dev", {"aws:eks/cluster:Cluster": 1, NODE_GROUP: 1, LAUNCH_TEMPLATE: 1, "aws:iam/role:Role": 4,
                 "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 13, "pulumi:providers:kubernetes": 1,
                 **CLUSTER_PARTS, ACCESS_ENTRY: 2, ACCESS_POLICY: 1, INGRESS_RULE: 0}),
        ("prod", {"aws:eks/cluster:Cluster": 1, NODE_GROUP: 2, LAUNCH_TEMPLATE: 2, "aws:iam/role:Role": 5,
                  "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 16, "pulumi:providers:kubernetes": 1,
                  **CLUSTER_PARTS, ACCESS_ENTRY: 4, ACCESS_POLICY: 3, INGRESS_RULE: 1}),
        ("local", {"aws:eks/cluster:Cluster": 0, NODE_GROUP: 0, LAUNCH_TEMPLATE: 0, "aws:iam/role:Role": 0,
                   "pulumi:providers:kubernetes": 1}),
    ],
)
def test_resource_counts(stacks: dict, stack: str, expected: dict[str, int]) -> None:
    counts = Counter(r.type for r in stacks[stack])
    assert {typ: counts[typ] for typ in expected} == expected
    if stack == "local":
        assert not [r for r in stacks[stack] if r.type.startswith("aws:")], "local stack must create no AWS resource"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_gpu_node_groups_carry_the_contract_taint_and_ignore_desired_drift(stacks: dict, stack: str) -> None:
    taint = IsolationContract().gpu_taint.to_eks()
    for group in of_type(stacks[stack], NODE_GROUP):
        gpu = group.inputs["amiType"].endswith("NVIDIA")
        assert (taint in group.inputs["taints"]) is gpu, group.name
        assert group.ignore_changes == ["scalingConfig.desiredSize"]


def test_prod_node_groups_are_protected_and_dev_ones_are_not(stacks: dict) -> None:
    assert all(g.protect for g in of_type(stacks["prod"], NODE_GROUP))
    assert not any(g.protect for g in of_type(stacks["dev"], NODE_GROUP))


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_gpu_daemons_tolerate_the_taint_and_select_only_gpu_nodes(stacks: dict, stack: str) -> None:
    contract = IsolationContract()
    daemonsets = of_type(stacks[stack], "kubernetes:apps/v1:DaemonSet")
    assert daemonsets, "no GPU daemon declared"
    for ds in daemonsets:
        spec = pod_spec(ds)
        assert contract.tolerates_gpu_taint(spec["tolerations"]), ds.name
        terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        gpu_only = {"key": "nvidia.com/gpu.present", "operator": "In", "values": ["true"]}
        assert terms and all(gpu_only in term["matchExpressions"] for term in terms), ds.name


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_general_addons_cannot_land_on_gpu_nodes(stacks: dict, stack: str) -> None:
    contract = IsolationContract()
    deployments = of_type(stacks[stack], "kubernetes:apps/v1:Deployment")
    assert deployments, "metrics-server missing"
    for deployment in deployments:
        spec = pod_spec(deployment)
        assert not contract.tolerates_gpu_taint(spec.get("tolerations")), deployment.name
        if deployment.inputs["metadata"]["name"] == "karpenter":  # general managed pools only (its own test file)
            (term,) = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
                "nodeSelectorTerms"]
            assert {"key": "gpu-node-pools.io/pool-kind", "operator": "In", "values": ["general"]} in \
                term["matchExpressions"]
            continue
        assert spec["affinity"]["nodeAffinity"] == contract.general_node_affinity()["nodeAffinity"]


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_every_container_has_requests_and_limits(stacks: dict, stack: str) -> None:
    for workload in [r for r in stacks[stack] if r.type in WORKLOADS]:
        spec = pod_spec(workload)
        for container in spec.get("initContainers", []) + spec["containers"]:
            res = container["resources"]
            assert {"cpu", "memory"} <= set(res["requests"]), (workload.name, container["name"])
            assert {"cpu", "memory"} <= set(res["limits"]), (workload.name, container["name"])


def test_priority_ladder_is_declared_and_only_the_device_plugin_is_node_critical(stacks: dict) -> None:
    classes = {r.inputs["metadata"]["name"]: r.inputs for r in of_type(stacks["dev"], "kubernetes:scheduling.k8s.io/v1:PriorityClass")}
    assert not any(c.get("globalDefault") for c in classes.values())
    batch = [c for c in classes.values() if c.get("preemptionPolicy") == "Never"]
    assert batch, "no non-preempting batch class"
    # The node needs the device plugin to use its GPUs; the agent only observes it.
    priorities = {ds.inputs["metadata"]["name"]: pod_spec(ds)["priorityClassName"]
                  for ds in of_type(stacks["dev"], "kubernetes:apps/v1:DaemonSet")}
    assert priorities == {"nvidia-device-plugin-daemonset": "system-node-critical",
                          "gpu-node-agent": "system-cluster-critical"}


def test_prod_metrics_server_is_highly_available(stacks: dict) -> None:
    deployment = next(r for r in of_type(stacks["prod"], "kubernetes:apps/v1:Deployment") if "metrics-server" in r.name)
    assert deployment.inputs["spec"]["replicas"] == 2
    assert of_type(stacks["prod"], "kubernetes:policy/v1:PodDisruptionBudget")


def test_custom_taint_flows_to_node_groups_and_daemons() -> None:
    import json

    from pulumi_harness import stack_config

    config = stack_config("prod")
    config["gpu-node-pools:isolation"] = json.dumps({"gpuTaint": {"key": "workload", "value": "heavy", "effect": "NoSchedule"}})
    resources = run_program("prod", config)
    contract = IsolationContract(gpu_taint=Taint("workload", "heavy", "NoSchedule"))
    gpu_group = next(g for g in of_type(resources, NODE_GROUP) if g.inputs["amiType"].endswith("NVIDIA"))
    assert gpu_group.inputs["taints"] == [{"key": "workload", "value": "heavy", "effect": "NO_SCHEDULE"}]
    for ds in of_type(resources, "kubernetes:apps/v1:DaemonSet"):
        assert contract.tolerates_gpu_taint(pod_spec(ds)["tolerations"])


def test_bad_config_fails_before_any_resource_is_declared() -> None:
    from pulumi_harness import stack_config

    config = stack_config("dev")
    config["gpu-node-pools:nodePools"] = config["gpu-node-pools:nodePools"].replace('"max": 2', '"max": -1')
    with pytest.raises(Exception, match=r"stacks/Pulumi.dev.yaml: .*gpu-node-pools:nodePools\[0\]\.scaling"):
        run_program("dev", config)


def clear_aws_environment(env: pytest.MonkeyPatch, home) -> None:
    """No AWS credential anywhere: no AWS_* variable, an empty home, instance metadata off."""
    import os

    for var in [v for v in os.environ if v.startswith("AWS_")]:
        env.delenv(var)
    env.setenv("HOME", str(home))
    env.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_no_aws_credentials_fails_fast_with_a_clear_message(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    clear_aws_environment(monkeypatch, tmp_path)
    with pytest.raises(Exception, match="no AWS credentials"):
        run_program("dev")


@pytest.mark.parametrize("args", [
    pytest.param({"isolation": {"gpu_taint": {"key": "accelerator", "value": "nvidia", "effect": "NoSchedule"}}},
                 id="typeddict"),
    pytest.param("model", id="args-model"),
])
def test_a_single_component_deploys_on_its_own(args: object) -> None:
    """Another project imports one component and hands it its own provider and taint, as the args model or as
    the TypedDict other languages send."""
    from gpu_node_pools import DevicePlugin, DevicePluginArgs
    from gpu_node_pools.mock_engine import MockEngine

    if args == "model":
        args = DevicePluginArgs(isolation={"gpuTaint": {"key": "accelerator", "value": "nvidia", "effect": "NoSchedule"}})
    mocks = MockEngine()
    pulumi.runtime.set_mocks(mocks, project="other", stack="test", preview=False)
    contract = IsolationContract(gpu_taint=Taint("accelerator", "nvidia", "NoSchedule"))

    @pulumi.runtime.test
    def program() -> None:
        DevicePlugin("gpu", args)  # type: ignore[arg-type]

    program()
    ds = next(r for r in mocks.resources if r.typ == "kubernetes:apps/v1:DaemonSet")
    assert contract.tolerates_gpu_taint(ds.inputs["spec"]["template"]["spec"]["tolerations"])
    assert not IsolationContract().tolerates_gpu_taint(ds.inputs["spec"]["template"]["spec"]["tolerations"])


def test_metrics_server_release_follows_the_eks_cluster_version(stacks: dict) -> None:
    from gpu_node_pools.config.metrics_server import metrics_server_image

    deployment = next(r for r in of_type(stacks["dev"], "kubernetes:apps/v1:Deployment") if "metrics-server" in r.name)
    image = pod_spec(deployment)["containers"][0]["image"]
    assert image == metrics_server_image("1.34")


# dev's GPU capacity is elastic only; tests of managed GPU node groups add this one (dev's before it went elastic).
DEV_MANAGED_GPU = {"name": "gpu", "kind": "gpu", "instanceTypes": ["g5.xlarge", "g6.xlarge"], "capacityType": "SPOT",
                   "scaling": {"min": 0, "max": 2, "desired": 0}}


def pools_config(stack: str, **changes: dict) -> dict[str, str]:
    """`stack`'s config with the named pools' keys changed (on dev, with DEV_MANAGED_GPU added)."""
    import json

    from pulumi_harness import stack_config

    config = stack_config(stack)
    pools = json.loads(config["gpu-node-pools:nodePools"])
    if stack == "dev":
        pools.append(dict(DEV_MANAGED_GPU))
    for pool in pools:
        pool.update(changes.get(pool["name"], {}))
    config["gpu-node-pools:nodePools"] = json.dumps(pools)
    return config


def node_group_of(resources: list[DeclaredResource], pool: str) -> DeclaredResource:
    return next(g for g in of_type(resources, NODE_GROUP) if g.inputs["labels"]["gpu-node-pools.io/pool"] == pool)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_node_groups_use_their_launch_template_and_a_name_prefix(stacks: dict, stack: str) -> None:
    templates = {t.name: t for t in of_type(stacks[stack], LAUNCH_TEMPLATE)}
    for group in of_type(stacks[stack], NODE_GROUP):
        pool = group.inputs["labels"]["gpu-node-pools.io/pool"]
        assert group.inputs["nodeGroupNamePrefix"] == f"{pool}-"
        assert "nodeGroupName" not in group.inputs and "diskSize" not in group.inputs
        template = templates[group.name]  # one template per pool, named like its node group
        assert group.inputs["launchTemplate"] == {"id": f"{template.name}-id", "version": "1"}  # its latest
        assert template.inputs["metadataOptions"] == {
            "httpTokens": "required", "httpPutResponseHopLimit": 1, "httpEndpoint": "enabled"
        }
        data_volume = template.inputs["blockDeviceMappings"][-1]["ebs"]
        assert data_volume["volumeType"] == "gp3" and data_volume["encrypted"] == "true"


def test_prod_gpu_disk_size_reaches_its_launch_template(stacks: dict) -> None:
    template = next(t for t in of_type(stacks["prod"], LAUNCH_TEMPLATE) if t.name.endswith("-gpu"))
    assert template.inputs["blockDeviceMappings"] == [
        {"deviceName": "/dev/xvda",
         "ebs": {"volumeType": "gp3", "volumeSize": 200, "encrypted": "true", "deleteOnTermination": "true"}}
    ]
    assert template.protect  # with its protected node group


def test_raising_min_above_the_live_desired_size_sends_the_desired_size(monkeypatch: pytest.MonkeyPatch) -> None:
    """A live general group at desired 2 and a config min of 3: EKS would refuse min > desired if desiredSize
    stayed ignored, so this once it is sent, as max(min, desired) = 3."""
    messages: list[str] = []
    monkeypatch.setattr(pulumi.log, "info", lambda message, *args, **kwargs: messages.append(message))
    live = {"gpu-dev": {
        "general-20250101000000000000000001": {
            "scalingConfigs": [{"desiredSize": 2, "minSize": 2, "maxSize": 3}],
            "tags": {"gpu-node-pools.io/pool": "general", "gpu-node-pools.io/pool-kind": "general"},
        },
        "gpu-20250101000000000000000002": {
            "scalingConfigs": [{"desiredSize": 1, "minSize": 0, "maxSize": 2}],
            "tags": {"gpu-node-pools.io/pool": "gpu", "gpu-node-pools.io/pool-kind": "gpu"},
        },
        "someone-elses": {"scalingConfigs": [{"desiredSize": 0, "minSize": 0, "maxSize": 1}], "tags": {}},
    }}
    config = pools_config("dev", general={"scaling": {"min": 3, "max": 4}})
    resources = run_program("dev", config, live_node_groups=live)
    general, gpu = node_group_of(resources, "general"), node_group_of(resources, "gpu")
    assert general.inputs["scalingConfig"]["desiredSize"] == 3 and general.ignore_changes == []
    assert gpu.ignore_changes == ["scalingConfig.desiredSize"]  # live 1 is inside [0, 2]: the autoscaler's
    assert [m for m in messages if "node pool general" in m and "desired size 3" in m]
    assert not [m for m in messages if "node pool gpu" in m]


def test_bottlerocket_nvidia_pool_gets_device_plugin_and_agent_settings_as_user_data() -> None:
    import base64
    import json
    import tomllib

    config = pools_config("dev", gpu={"amiType": "BOTTLEROCKET_x86_64_NVIDIA"})
    config["gpu-node-pools:devicePlugin"] = json.dumps({"timeSlicing": {"replicas": 4}})
    resources = run_program("dev", config)
    templates = {t.name.rsplit("-", 1)[1]: t for t in of_type(resources, LAUNCH_TEMPLATE)}
    assert "userData" not in templates["general"].inputs
    settings = tomllib.loads(base64.b64decode(templates["gpu"].inputs["userData"]).decode())["settings"]
    assert settings["kubelet-device-plugins"]["nvidia"]["device-sharing-strategy"] == "time-slicing"
    assert settings["kubelet-device-plugins"]["nvidia"]["time-slicing"]["replicas"] == 4
    assert settings["nvidia-container-runtime"] == {"visible-devices-envvar-when-unprivileged": True}
    assert [m["deviceName"] for m in templates["gpu"].inputs["blockDeviceMappings"]] == ["/dev/xvda", "/dev/xvdb"]


def test_capacity_block_pool_launches_into_its_reservation() -> None:
    config = pools_config("dev", gpu={
        "instanceTypes": ["p5.48xlarge"], "capacityType": "CAPACITY_BLOCK",
        "capacityReservationId": "cr-0123456789abcdef0",
    })
    resources = run_program("dev", config)
    template = next(t for t in of_type(resources, LAUNCH_TEMPLATE) if t.name.endswith("-gpu"))
    assert template.inputs["instanceMarketOptions"] == {"marketType": "capacity-block"}
    assert template.inputs["capacityReservationSpecification"] == {
        "capacityReservationTarget": {"capacityReservationId": "cr-0123456789abcdef0"}
    }
    assert node_group_of(resources, "gpu").inputs["capacityType"] == "CAPACITY_BLOCK"


def dev_with(**changes: object) -> list[DeclaredResource]:
    """The dev stack with some config keys replaced (values as in a stack file)."""
    import json

    from pulumi_harness import stack_config

    config = stack_config("dev")
    for key, value in changes.items():
        config[key] = value if isinstance(value, str) else json.dumps(value)
    return run_program("dev", config)


def dev_cluster(**cluster: object) -> dict:
    import json

    from pulumi_harness import stack_config

    return {**json.loads(stack_config("dev")["gpu-node-pools:cluster"]), **cluster}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_new_clusters_get_the_eks_production_defaults(stacks: dict, stack: str) -> None:
    (cluster,) = of_type(stacks[stack], CLUSTER)
    (key,) = of_type(stacks[stack], "aws:kms/key:Key")
    (log_group,) = of_type(stacks[stack], "aws:cloudwatch/logGroup:LogGroup")
    # No hidden standing admin: the creator's access is an entry of its own (test_the_deployer_gets_a_visible...).
    assert cluster.inputs["accessConfig"] == {"authenticationMode": "API", "bootstrapClusterCreatorAdminPermissions": False}
    assert cluster.inputs["bootstrapSelfManagedAddons"] is False
    assert cluster.inputs["upgradePolicy"] == {"supportType": "STANDARD"}
    assert cluster.inputs["deletionProtection"] is (stack == "prod")
    assert key.inputs["enableKeyRotation"] is True and key.inputs["deletionWindowInDays"] == 30
    assert cluster.inputs["encryptionConfig"] == {
        "resources": ["secrets"], "provider": {"keyArn": f"arn:aws:kms:us-west-2:123456789012:key/{key.name}"},
    }
    # Ours, before the cluster: EKS would otherwise create it with no retention.
    assert log_group.inputs["name"] == f"/aws/eks/{cluster.inputs['name']}/cluster"
    assert log_group.inputs["retentionInDays"] == {"dev": 30, "prod": 90}[stack]
    assert log_group.name in cluster.depends_on
    (grant,) = [p for p in of_type(stacks[stack], "aws:iam/rolePolicy:RolePolicy") if p.name.endswith("-encryption")]
    assert key.name in grant.inputs["policy"] and grant.name in cluster.depends_on


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_cluster_role_may_not_create_log_groups(stacks: dict, stack: str) -> None:
    """Else EKS re-creates the log group after a destroy, with no retention, and the next `up` fails on it."""
    import json

    from aws_model import aws_problems

    (cluster,) = of_type(stacks[stack], CLUSTER)
    (role,) = [r for r in of_type(stacks[stack], "aws:iam/role:Role") if r.name == f"{stack}-cluster"]
    (deny,) = [p for p in of_type(stacks[stack], "aws:iam/rolePolicy:RolePolicy") if "CreateLogGroup" in p.inputs["policy"]]
    assert json.loads(deny.inputs["policy"])["Statement"] == [
        {"Sid": "DenyCreateLogGroup", "Effect": "Deny", "Action": ["logs:CreateLogGroup"], "Resource": "*"}
    ]
    assert deny.inputs["role"] == role.name and deny.name in cluster.depends_on
    request = {"RoleName": role.name, "PolicyName": deny.name, "PolicyDocument": deny.inputs["policy"]}
    assert aws_problems("iam", "PutRolePolicy", request) == []


def test_a_given_kms_key_is_used_and_none_is_created() -> None:
    arn = "arn:aws:kms:us-west-2:210987654321:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    resources = dev_with(**{"gpu-node-pools:cluster": dev_cluster(encryption={"kmsKeyArn": arn})})
    assert not of_type(resources, "aws:kms/key:Key")
    (cluster,) = of_type(resources, CLUSTER)
    assert cluster.inputs["encryptionConfig"]["provider"] == {"keyArn": arn}
    assert any(arn in p.inputs["policy"] for p in of_type(resources, "aws:iam/rolePolicy:RolePolicy"))


def test_addons_wrap_the_node_groups_in_order(stacks: dict) -> None:
    addons = {a.inputs["addonName"]: a for a in of_type(stacks["prod"], ADDON)}
    assert set(addons) == {"vpc-cni", "kube-proxy", "eks-pod-identity-agent", "coredns"}
    groups = of_type(stacks["prod"], NODE_GROUP)
    pools = [r for r in stacks["prod"] if r.type == "gpu-node-pools:index:NodePool"]
    for pool in pools:  # the node groups are children of these, and wait with them
        assert {addons[n].name for n in ("vpc-cni", "kube-proxy", "eks-pod-identity-agent")} <= set(pool.depends_on)
    assert {p.name for p in pools} <= set(addons["coredns"].depends_on) and len(groups) == len(pools)
    # The in-cluster layer waits for DNS too.
    (metrics_server,) = [r for r in stacks["prod"] if r.type == "gpu-node-pools:index:MetricsServer"]
    assert addons["coredns"].name in metrics_server.depends_on
    for addon in addons.values():
        assert addon.inputs["resolveConflictsOnUpdate"] == "OVERWRITE"


def test_addon_versions_are_resolved_for_the_cluster_version_unless_pinned() -> None:
    from gpu_node_pools.mock_engine import EXAMPLE_VALUES

    resources = dev_with(**{"gpu-node-pools:cluster": dev_cluster(
        version="1.33", addons={"coredns": {"version": "v1.11.4-eksbuild.2"}}
    )})
    versions = {a.inputs["addonName"]: a.inputs["addonVersion"] for a in of_type(resources, ADDON)}
    resolved = EXAMPLE_VALUES.addon_version("coredns", "1.33")
    assert versions == {"vpc-cni": resolved, "kube-proxy": resolved, "eks-pod-identity-agent": resolved,
                        "coredns": "v1.11.4-eksbuild.2"}


def test_the_node_monitoring_agent_add_on_comes_only_when_enabled_and_then_alone_writes_the_gpu_condition() -> None:
    resources = dev_with(**{"gpu-node-pools:cluster": dev_cluster(
        addons={"eks-node-monitoring-agent": {"enabled": True}}
    )})
    addons = {a.inputs["addonName"]: a for a in of_type(resources, ADDON)}
    assert "eks-node-monitoring-agent" in addons
    groups = of_type(resources, NODE_GROUP)
    assert {g.name for g in groups} <= set(addons["eks-node-monitoring-agent"].depends_on)
    (agent,) = [r for r in of_type(resources, "kubernetes:apps/v1:DaemonSet") if r.name.endswith("gpu-node-agent")]
    env = {e["name"] for e in agent.inputs["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "GPU_NODE_AGENT_REPAIR_CONDITION" not in env


@pytest.mark.parametrize(
    ("tenants", "agent", "device_plugin", "enforced"),
    [
        ([{"name": "web", "defaultDenyNetworkPolicy": True}, {"name": "ml", "defaultDenyNetworkPolicy": False}],
         False, False, True),
        ([{"name": "ml", "defaultDenyNetworkPolicy": False}], False, False, False),
        ([], False, False, False),
        ([], True, False, True),  # the agent's metrics port is fenced by a NetworkPolicy of its own
        ([], False, True, True),  # the device plugin's namespace denies all traffic
    ],
)
def test_vpc_cni_enforces_network_policy_when_the_stack_declares_some(tenants: list, agent: bool,
                                                                       device_plugin: bool, enforced: bool) -> None:
    agent_config = {"image": "registry.example.com/gpu-node-agent:1.0"} if agent else {"enabled": False}
    resources = dev_with(**{"gpu-node-pools:tenants": tenants, "gpu-node-pools:nodeAgent": agent_config,
                            "gpu-node-pools:devicePlugin": {"enabled": device_plugin}})
    declares = any(r.type == "kubernetes:networking.k8s.io/v1:NetworkPolicy" for r in resources)
    assert declares is enforced
    cni = next(a for a in of_type(resources, ADDON) if a.inputs["addonName"] == "vpc-cni")
    assert cni.inputs.get("configurationValues") == ('{"enableNetworkPolicy": "true"}' if enforced else None)


def test_prod_access_entries_associate_their_policies(stacks: dict) -> None:
    all_entries = of_type(stacks["prod"], ACCESS_ENTRY)
    # Karpenter's node role joins as EC2_LINUX: EKS grants node rights itself, no access policy is associated.
    assert [e.inputs["type"] for e in all_entries].count("EC2_LINUX") == 1
    entries = {e.inputs["principalArn"]: e for e in all_entries if e.inputs["type"] != "EC2_LINUX"}
    policies = {p.inputs["principalArn"]: p for p in of_type(stacks["prod"], ACCESS_POLICY)}
    assert set(entries) == set(policies) and len(entries) == 3  # two from cluster.access, the deployer's own
    for arn, policy in policies.items():
        assert entries[arn].inputs["type"] == "STANDARD"
        assert entries[arn].name in policy.depends_on
        assert policy.inputs["policyArn"].startswith("arn:aws:eks::aws:cluster-access-policy/AmazonEKS")


def test_kubeconfig_acts_as_the_aws_provider_identity() -> None:
    import json

    role = "arn:aws:iam::111122223333:role/deployer"
    resources = dev_with(**{
        "aws:profile": "ci", "aws:accessKey": "AKIAEXAMPLE", "aws:secretKey": "secret",
        "aws:assumeRoles": [{"roleArn": role}],
    })
    (provider,) = of_type(resources, "pulumi:providers:kubernetes")
    kubeconfig = provider.inputs["kubeconfig"]
    kubeconfig = json.loads(kubeconfig["value"] if isinstance(kubeconfig, dict) else kubeconfig)
    block = kubeconfig["users"][0]["user"]["exec"]
    assert block["args"][-4:] == ["--role-arn", role, "--profile", "ci"]
    assert block["env"] == [{"name": "AWS_PROFILE", "value": "ci"}]


def test_aws_keys_in_the_stack_config_count_as_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    clear_aws_environment(monkeypatch, tmp_path)
    resources = dev_with(**{"aws:accessKey": "AKIAEXAMPLE", "aws:secretKey": "secret"})
    assert of_type(resources, CLUSTER)


def test_prometheus_operator_objects_are_declared_only_when_asked_for(stacks: dict[str, list[DeclaredResource]]) -> None:
    def monitoring(resources: list[DeclaredResource]) -> dict[str, DeclaredResource]:
        return {r.type: r for r in resources if "monitoring.coreos.com" in r.type}

    assert monitoring(stacks["dev"]) == {}
    declared = monitoring(dev_with(**{"gpu-node-pools:alerts": {"prometheusRule": True, "podMonitor": True}}))
    assert set(declared) == {"kubernetes:monitoring.coreos.com/v1:PrometheusRule",
                             "kubernetes:monitoring.coreos.com/v1:PodMonitor"}
    rule = declared["kubernetes:monitoring.coreos.com/v1:PrometheusRule"]
    assert [g["name"] for g in rule.inputs["spec"]["groups"]][0] == "gpu-node-pools.node"


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_managed_node_roles_pull_from_ecr_and_nothing_more(stacks: dict, stack: str) -> None:
    attachments = of_type(stacks[stack], "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    for pool in ("general", "gpu") if stack == "prod" else ("general",):
        role = f"{stack}-{pool}-node"
        policies = sorted(a.inputs["policyArn"].rsplit("/", 1)[1] for a in attachments if a.inputs["role"] == role)
        assert policies == ["AmazonEC2ContainerRegistryPullOnly", "AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy"]


def live_prod_groups(**gpu_changes: object) -> dict:
    """prod's node groups as EKS describes them once deployed, the gpu pool's with `gpu_changes`."""
    from pulumi_harness import stack_model

    config = stack_model("prod")
    groups = {}
    for pool in config.managed_pools:
        group = {
            "scalingConfigs": [{"desiredSize": pool.node_scaling.desired_size, "minSize": 0, "maxSize": 10}],
            "tags": {"gpu-node-pools.io/pool": pool.name, "gpu-node-pools.io/pool-kind": pool.kind},
            "instanceTypes": list(pool.instance_types), "amiType": pool.ami().name,
            "capacityType": pool.capacity_type, "subnetIds": list(config.cluster.subnet_ids),
        }
        groups[f"{pool.name}-20250101000000000000000001"] = {**group, **(gpu_changes if pool.name == "gpu" else {})}
    return {"gpu-prod": groups}


@pytest.mark.parametrize(
    ("change", "keys"),
    [({"instanceTypes": ["g5.xlarge"]}, "instanceTypes"), ({"capacityType": "SPOT"}, "capacityType"),
     ({"amiType": "AL2_x86_64_GPU", "subnetIds": ["subnet-0d2e7a91c4b3f0009"]}, "amiType, subnetIds")],
)
def test_a_protected_pools_replacement_is_refused_before_any_resource(change: dict, keys: str) -> None:
    """Pulumi won't delete a protected node group, not even the old one of a replacement: `up` would stop midway."""
    with pytest.raises(Exception, match=rf"node pool gpu is protected, and changing {keys} replaces its node group"):
        run_program("prod", live_node_groups=live_prod_groups(**change))


def test_a_protected_pool_updated_in_place_deploys_and_stays_protected() -> None:
    resources = run_program("prod", live_node_groups=live_prod_groups(scalingConfigs=[
        {"desiredSize": 4, "minSize": 1, "maxSize": 8}]))
    assert all(g.protect for g in of_type(resources, NODE_GROUP))
