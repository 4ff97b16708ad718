"""Security groups of the three tiers, each open only to the tier in front of it.

internet -> ALB (443, and 80 only to redirect) -> ECS tasks (container port) -> Aurora (5432).
The tasks reach the AWS APIs they use through the service endpoints inside the VPC (their own
group here; S3's gateway endpoint in infra/service_endpoints.py). One rule still lets them out
to the internet through NAT, for the X-Ray daemon's first pull through the registry's cache,
which AWS serves from upstream over NAT when ECR is reached through endpoints: a reviewed
exception to CKV_FD_15 until the cache is filled from outside the VPC (docs/stack.md).
Rules are separate resources, so the groups can reference each other without a cycle.
443 stays open to everyone because API Gateway calls from addresses AWS does not list; the
load balancer's own web ACL lets through only API Gateway's origin header or the operator
networks (infra/waf.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.security_group import SecurityGroup
from cdktf_cdktf_provider_aws.vpc_security_group_egress_rule import VpcSecurityGroupEgressRule
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from infra.naming import Naming

HTTPS_PORT = 443
HTTP_PORT = 80
POSTGRES_PORT = 5432
ANYWHERE_IPV4 = "0.0.0.0/0"
REDIRECT_ONLY = "HTTP, redirected to HTTPS"


@dataclass(frozen=True)
class SecurityGroupsProps:
    naming: Naming
    vpc_id: str
    container_port: int
    """Port the API container listens on; only the ALB may reach it."""


class SecurityGroups(Construct):
    def __init__(self, scope: Construct, id: str, props: SecurityGroupsProps) -> None:
        super().__init__(scope, id)
        naming = props.naming

        def group(key: str, description: str) -> SecurityGroup:
            return SecurityGroup(
                self,
                key,
                name=naming.name(key),
                description=description,
                vpc_id=props.vpc_id,
                tags=naming.tags(key),
            )

        self.load_balancer = group("alb", "Public HTTPS entry to the fraud API load balancer")
        self.service = group("tasks", "Fraud API tasks: reachable only from the load balancer")
        self.database = group("db", "Aurora: reachable only from the fraud API tasks")
        self.endpoints = group("endpoints", "AWS service endpoints: reachable only from the tasks")

        alb, tasks, db = self.load_balancer.id, self.service.id, self.database.id
        endpoints = self.endpoints.id
        app_port = props.container_port
        # (construct id, group, inbound?, port, peer group or CIDR, why). Ids are part of the
        # contract: renaming one replaces the rule.
        rules = (
            (f"alb-in-{HTTPS_PORT}", alb, True, HTTPS_PORT, ANYWHERE_IPV4, "HTTPS from clients"),
            (f"alb-in-{HTTP_PORT}", alb, True, HTTP_PORT, ANYWHERE_IPV4, REDIRECT_ONLY),
            ("alb-out-tasks", alb, False, app_port, tasks, "Forward to the API tasks"),
            ("tasks-in-alb", tasks, True, app_port, alb, "Requests from the load balancer"),
            ("tasks-out-https", tasks, False, HTTPS_PORT, ANYWHERE_IPV4,
             "HTTPS through NAT: the X-Ray daemon's first pull through the ECR cache"),
            ("tasks-out-endpoints", tasks, False, HTTPS_PORT, endpoints,
             "HTTPS to the AWS service endpoints (ECR, Logs, Secrets Manager, X-Ray)"),
            ("endpoints-in-tasks", endpoints, True, HTTPS_PORT, tasks,
             "HTTPS from the API tasks only"),
            ("tasks-out-db", tasks, False, POSTGRES_PORT, db, "PostgreSQL to Aurora"),
            ("db-in-tasks", db, True, POSTGRES_PORT, tasks, "PostgreSQL from the API tasks only"),
        )  # fmt: skip
        for key, group_id, inbound, port, peer, why in rules:
            rule = VpcSecurityGroupIngressRule if inbound else VpcSecurityGroupEgressRule
            to_anywhere = peer == ANYWHERE_IPV4
            # Exactly one of the two is set; the bindings leave a None argument out of the JSON.
            rule(
                self,
                key,
                security_group_id=group_id,
                description=why,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_ipv4=peer if to_anywhere else None,
                referenced_security_group_id=None if to_anywhere else peer,
            )
