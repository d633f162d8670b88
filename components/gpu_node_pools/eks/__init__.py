"""EKS as plain data: what a pool or a cluster is in the EKS API's own shape, built by pure functions.

`components/` hands this data to pulumi-aws; `gpu-node-pools pools --json` prints it.
"""
