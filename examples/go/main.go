// The local stack's in-cluster layer (stacks/Pulumi.local.yaml) as one GpuPlatform, its stack-file keys spelled
// as the generated SDK's structs and enum constants (a misspelt one fails to compile; the package's provider
// refuses bad values before any resource is created).
package main

import (
	gnp "example.com/pulumi-gpu-node-pools/sdk/go/gpunodepools"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi"
	"github.com/pulumi/pulumi/sdk/v3/go/pulumi/config"
)

func main() {
	pulumi.Run(func(ctx *pulumi.Context) error {
		cfg := config.New(ctx, "")
		nodeAgentImage := cfg.Get("nodeAgentImage")
		if nodeAgentImage == "" {
			nodeAgentImage = "gpu-node-agent:local"
		}
		scaling := &gnp.ScalingConfigArgs{Min: 2, Max: 4, Desired: pulumi.IntRef(2)}

		platform, err := gnp.NewGpuPlatform(ctx, "local", &gnp.GpuPlatformArgs{
			Cluster: gnp.ClusterConfigArgs{
				Mode:       gnp.ClusterModeEXISTING,
				Kubeconfig: pulumi.StringRef(cfg.Require("kubeconfig")),
			},
			NodePools: []gnp.NodePoolConfigArgs{
				{Name: "general", Kind: gnp.NodePoolKindGENERAL, InstanceTypes: []string{"m6i.xlarge"}, Scaling: scaling},
				{Name: "gpu", Kind: gnp.NodePoolKindGPU, InstanceTypes: []string{"g5.2xlarge"}, Scaling: scaling},
				{Name: "gpu-elastic", Kind: gnp.NodePoolKindGPU, Elastic: &gnp.ElasticConfigArgs{
					InstanceFamilies: []string{"g5", "g6"},
					CapacityTypes:    []string{"spot", "on-demand"},
					Limits:           gnp.ElasticLimitsConfigArgs{Gpus: pulumi.IntRef(4)},
					Disruption:       &gnp.DisruptionConfigArgs{ConsolidateAfter: pulumi.StringRef("15s")},
				}},
				// Shared: each g6 GPU is advertised as 4 time-slices (docs/rightsizing.md).
				{Name: "gpu-shared", Kind: gnp.NodePoolKindGPU, Elastic: &gnp.ElasticConfigArgs{
					InstanceFamilies: []string{"g6"},
					CapacityTypes:    []string{"spot", "on-demand"},
					Limits:           gnp.ElasticLimitsConfigArgs{Gpus: pulumi.IntRef(2)},
					Disruption:       &gnp.DisruptionConfigArgs{ConsolidateAfter: pulumi.StringRef("15s")},
				}, Sharing: &gnp.SharingConfigArgs{TimeSlicing: &gnp.ReplicasConfigArgs{Replicas: 4}}},
				// MIG single: each H100 of a p5 split into 7 1g.10gb devices, advertised as nvidia.com/gpu.
				{Name: "gpu-mig", Kind: gnp.NodePoolKindGPU, Elastic: &gnp.ElasticConfigArgs{
					InstanceFamilies: []string{"p5"},
					CapacityTypes:    []string{"spot", "on-demand"},
					Limits:           gnp.ElasticLimitsConfigArgs{Gpus: pulumi.IntRef(8)},
					Disruption:       &gnp.DisruptionConfigArgs{ConsolidateAfter: pulumi.StringRef("15s")},
				}, Sharing: &gnp.SharingConfigArgs{Mig: &gnp.MigConfigArgs{Strategy: gnp.MigStrategySINGLE,
					Layout: "all-1g.10gb"}}},
			},
			MetricsServer: &gnp.MetricsServerConfigArgs{RegisterApiService: pulumi.BoolRef(false)},
			Tenants: []gnp.TenantNamespaceConfigArgs{
				{Name: "ml-team", GpuAccess: pulumi.BoolRef(true),
					Quota: &gnp.QuotaConfigArgs{Gpus: pulumi.IntRef(3), Pods: pulumi.IntRef(50)}},
				{Name: "web"},
			},
			NodeAgent: &gnp.NodeAgentConfigArgs{Image: pulumi.StringRef(nodeAgentImage)},
		})
		if err != nil {
			return err
		}
		ctx.Export("gpuTaint", platform.GpuTaint)
		ctx.Export("objectIds", platform.ObjectIds)
		return nil
	})
}
