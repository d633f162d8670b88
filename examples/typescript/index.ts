// The local stack's in-cluster layer (stacks/Pulumi.local.yaml), built from the package's single components.
import * as pulumi from "@pulumi/pulumi";
import * as gnp from "@pulumi/gpu-node-pools";

const config = new pulumi.Config();
// A Kubernetes provider without the @pulumi/kubernetes SDK: the components only need it passed down.
class KubernetesProvider extends pulumi.ProviderResource {
    constructor(name: string, kubeconfig: string) {
        super("kubernetes", name, { kubeconfig });
    }
}
const cluster = new KubernetesProvider("local-cluster", config.require("kubeconfig"));
const opts = { providers: [cluster] };

// The isolation contract every GPU-facing component shares (this is the default taint, spelled out).
const isolation: gnp.types.input.IsolationConfigArgs = {
    gpuTaint: { key: "nvidia.com/gpu", value: "true", effect: gnp.TaintEffect.NO_SCHEDULE },
};

const priority = new gnp.PriorityClasses("priority", {}, opts);
const tenants = new gnp.WorkloadNamespaces("tenants", {
    isolation,
    tenants: [
        { name: "ml-team", gpuAccess: true, quota: { gpus: 3, pods: 50 } },
        { name: "web" },
    ],
}, opts);
// Each shared pool gets a named device plugin config (here: time-slicing x4 for gpu-shared, MIG single with
// 1g.10gb devices for gpu-mig).
const sharedSlices: gnp.types.input.SharingConfigArgs = { timeSlicing: { replicas: 4 } };
const migDevices: gnp.types.input.SharingConfigArgs = {
    mig: { strategy: gnp.MigStrategy.SINGLE, layout: "all-1g.10gb" },
};
const devicePlugin = new gnp.DevicePlugin("device-plugin", {
    isolation, poolSharing: { "gpu-shared": sharedSlices, "gpu-mig": migDevices },
}, opts);
const metricsServer = new gnp.MetricsServer("metrics-server", { isolation, registerApiService: false }, opts);
const nodeAgent = new gnp.NodeAgent("node-agent", {
    isolation,
    image: config.get("nodeAgentImage") ?? "gpu-node-agent:local",
    // The MIG pools' strategy, so the agent labels MIG devices as the device plugin advertises them.
    migStrategy: gnp.NodeAgentArgsMigStrategy.SINGLE,
}, opts);
// After the GPU DaemonSets, as in the Python stack: they exist before the pool's first node.
const elastic = new gnp.ElasticNodePool("gpu-elastic", {
    isolation,
    name: "gpu-elastic",
    kind: gnp.NodePoolKind.GPU,
    elastic: {
        instanceFamilies: ["g5", "g6"],
        capacityTypes: ["spot", "on-demand"],
        limits: { gpus: 4 },
        disruption: { consolidateAfter: "15s" },
        // The local cluster's Karpenter launches kwok nodes; on EKS leave this out (the EC2NodeClass).
        nodeClassRef: { group: "karpenter.kwok.sh", kind: "KWOKNodeClass", name: "default" },
    },
}, { ...opts, dependsOn: [devicePlugin, nodeAgent] });
const shared = new gnp.ElasticNodePool("gpu-shared", {
    isolation,
    name: "gpu-shared",
    kind: gnp.NodePoolKind.GPU,
    elastic: {
        instanceFamilies: ["g6"],
        capacityTypes: ["spot", "on-demand"],
        limits: { gpus: 2 },
        disruption: { consolidateAfter: "15s" },
        nodeClassRef: { group: "karpenter.kwok.sh", kind: "KWOKNodeClass", name: "default" },
    },
    sharing: sharedSlices,
}, { ...opts, dependsOn: [devicePlugin, nodeAgent] });
const mig = new gnp.ElasticNodePool("gpu-mig", {
    isolation,
    name: "gpu-mig",
    kind: gnp.NodePoolKind.GPU,
    elastic: {
        instanceFamilies: ["p5"],
        capacityTypes: ["spot", "on-demand"],
        limits: { gpus: 8 },
        disruption: { consolidateAfter: "15s" },
        nodeClassRef: { group: "karpenter.kwok.sh", kind: "KWOKNodeClass", name: "default" },
    },
    sharing: migDevices,
}, { ...opts, dependsOn: [devicePlugin, nodeAgent] });

export const gpuTaint = devicePlugin.gpuTaint;
export const elasticPool = elastic.nodePoolName;
export const objectIds = pulumi
    .all([priority, tenants, devicePlugin, metricsServer, nodeAgent, elastic, shared, mig].map((c) => c.objectIds))
    .apply((ids) => ids.flat().sort());
