"""The deploying identity's own access entry: STS's caller ARN mapped to the principal an access entry names."""

import pytest

from gpu_node_pools.aws.access import associate_access_policy_request, creator_access_entry, creator_principal_arn


@pytest.mark.parametrize(
    ("caller", "principal"),
    [
        ("arn:aws:sts::210987654321:assumed-role/gpu-deployer/botocore-session-1700000000",
         "arn:aws:iam::210987654321:role/gpu-deployer"),
        # SSO permission sets: the role name carries the permission set and a suffix; the session is the user.
        ("arn:aws:sts::210987654321:assumed-role/AWSReservedSSO_Admin_0123abcd/jane@example.com",
         "arn:aws:iam::210987654321:role/AWSReservedSSO_Admin_0123abcd"),
        ("arn:aws-cn:sts::210987654321:assumed-role/deployer/ci", "arn:aws-cn:iam::210987654321:role/deployer"),
        ("arn:aws-us-gov:sts::210987654321:assumed-role/deployer/ci",
         "arn:aws-us-gov:iam::210987654321:role/deployer"),
        ("arn:aws:iam::210987654321:user/jane", "arn:aws:iam::210987654321:user/jane"),
        ("arn:aws:iam::210987654321:user/admins/jane", "arn:aws:iam::210987654321:user/admins/jane"),
    ],
)
def test_caller_arns_map_to_their_iam_principal(caller: str, principal: str) -> None:
    assert creator_principal_arn(caller) == principal


@pytest.mark.parametrize("caller", [
    "arn:aws:iam::210987654321:root",
    "arn:aws:sts::210987654321:federated-user/jane",
    "not-an-arn",
])
def test_identities_no_access_entry_can_name_are_refused_with_the_way_out(caller: str) -> None:
    with pytest.raises(ValueError, match="cluster.creatorPrincipalArn") as error:
        creator_principal_arn(caller)
    assert caller in str(error.value)


def test_the_creator_entry_is_cluster_admin_cluster_wide() -> None:
    request = associate_access_policy_request("gpu", creator_access_entry("arn:aws:iam::210987654321:role/deployer"))
    assert request["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
    assert request["accessScope"] == {"type": "cluster"}
