"""AWS as plain data: what a pool or a cluster is in the AWS APIs' own shape (EKS, IAM, EC2), built by pure functions.

`components/` hands this data to pulumi-aws; `gpu-node-pools pools --json` prints it.
"""

# Stands for a value only a deploy knows (an ARN, a name), in a request built before it; the component passes the
# real Pulumi output in its place.
PENDING_OUTPUT = "<output>"
