"""AWS as plain data: what a pool or a cluster is in the AWS APIs' own shape (EKS, IAM, EC2), built by pure functions.

`components/` hands this data to pulumi-aws; `gpu-node-pools pools --json` prints it.
"""
