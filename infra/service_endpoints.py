"""Private paths from the API tasks to the AWS services they use.

Fargate pulls images, writes logs and the API reads its secret and sends traces through the task's
own network interface: without these endpoints every one of those calls leaves through NAT to
the public service endpoints. With them they stay in the VPC:

- interface endpoints (ECR API and registry, CloudWatch Logs, Secrets Manager, X-Ray) in every
  private subnet, with private DNS, behind their own security group (infra/security_groups.py);
  their policy admits only principals of this account;
- the S3 gateway endpoint on the private route tables, where ECR keeps image layers; its policy
  admits only reads of ECR's layer bucket in this region, and the tasks' egress rule to S3
  names the endpoint's prefix list, not an address range.

The X-Ray daemon comes from ECR Public through a pull-through cache (infra/registry.py). The
tasks' HTTPS rule to the internet stays until the cache is filled from outside the VPC: the one
reviewed exception to CKV_FD_15 (policies/skips.yaml, docs/stack.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf import ITerraformDependable
from cdktf_cdktf_provider_aws.vpc_endpoint import VpcEndpoint
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from constructs import Construct

from infra.naming import Naming
from infra.policy_document import document, statement
from infra.security_groups import HTTPS_PORT

INTERFACE_SERVICES = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "xray")
"""What the tasks call: image pulls, the awslogs driver, the database secret, traces."""


def layer_bucket_arn(region: str) -> str:
    """The bucket ECR serves image layers from in `region` (AWS documents this name)."""
    return f"arn:aws:s3:::prod-{region}-starport-layer-bucket"


@dataclass(frozen=True)
class ServiceEndpointsProps:
    naming: Naming
    account_id: str
    region: str
    vpc_id: str
    subnet_ids: Sequence[str]
    """Private subnets: one interface per endpoint in each, so every AZ resolves locally."""
    route_table_ids: Sequence[str]
    """Private route tables: the S3 gateway endpoint adds its route to each."""
    security_group_id: str
    """The endpoints' group, open on 443 only to the tasks."""
    tasks_security_group_id: str


class ServiceEndpoints(Construct):
    def __init__(self, scope: Construct, id: str, props: ServiceEndpointsProps) -> None:
        super().__init__(scope, id)
        naming = props.naming
        this_account_only = document(
            statement(
                "OnlyThisAccountsPrincipals",
                ["*"],
                "*",
                principal={"AWS": "*"},
                condition={"StringEquals": {"aws:PrincipalAccount": props.account_id}},
            )
        )
        self.interfaces = {
            service: VpcEndpoint(
                self,
                service.replace(".", "-"),
                vpc_id=props.vpc_id,
                service_name=f"com.amazonaws.{props.region}.{service}",
                vpc_endpoint_type="Interface",
                subnet_ids=list(props.subnet_ids),
                security_group_ids=[props.security_group_id],
                private_dns_enabled=True,
                policy=this_account_only,
                tags=naming.tags("endpoint", service.replace(".", "-")),
            )
            for service in INTERFACE_SERVICES
        }
        layers = layer_bucket_arn(props.region)
        self.s3 = VpcEndpoint(
            self,
            "s3",
            vpc_id=props.vpc_id,
            service_name=f"com.amazonaws.{props.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=list(props.route_table_ids),
            # Presigned by ECR, so the principal is not the task's; the bucket is the limit.
            policy=document(
                statement(
                    "ReadEcrImageLayersOnly",
                    ["s3:GetObject"],
                    [f"{layers}/*"],
                    principal={"AWS": "*"},
                )
            ),
            tags=naming.tags("endpoint", "s3"),
        )
        to_s3 = VpcSecurityGroupEgressRule(
            self,
            "tasks-out-s3",
            security_group_id=props.tasks_security_group_id,
            description="HTTPS to S3 through the gateway endpoint (image layers)",
            ip_protocol="tcp",
            from_port=HTTPS_PORT,
            to_port=HTTPS_PORT,
            prefix_list_id=self.s3.prefix_list_id,
        )
        self.dependables: tuple[ITerraformDependable, ...] = (
            *self.interfaces.values(),
            self.s3,
            to_s3,
        )
        """What a task needs in place before it starts: every endpoint and the rule to S3."""
