"""Security groups of the three tiers, each open only to the tier in front of it.

internet -> ALB (443, and 80 only to redirect) -> ECS tasks (container port) -> Aurora (5432).
Rules are separate resources, so the groups can reference each other without a cycle.
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

        for port, why in (
            (HTTPS_PORT, "HTTPS from clients"),
            (HTTP_PORT, "HTTP, redirected to HTTPS"),
        ):
            VpcSecurityGroupIngressRule(
                self,
                f"alb-in-{port}",
                security_group_id=self.load_balancer.id,
                description=why,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                cidr_ipv4=ANYWHERE_IPV4,
            )
        VpcSecurityGroupEgressRule(
            self,
            "alb-out-tasks",
            security_group_id=self.load_balancer.id,
            description="Forward to the API tasks",
            ip_protocol="tcp",
            from_port=props.container_port,
            to_port=props.container_port,
            referenced_security_group_id=self.service.id,
        )
        VpcSecurityGroupIngressRule(
            self,
            "tasks-in-alb",
            security_group_id=self.service.id,
            description="Requests from the load balancer",
            ip_protocol="tcp",
            from_port=props.container_port,
            to_port=props.container_port,
            referenced_security_group_id=self.load_balancer.id,
        )
        VpcSecurityGroupEgressRule(
            self,
            "tasks-out-https",
            security_group_id=self.service.id,
            description="HTTPS to AWS APIs (ECR, Secrets Manager, X-Ray, Logs) through NAT",
            ip_protocol="tcp",
            from_port=HTTPS_PORT,
            to_port=HTTPS_PORT,
            cidr_ipv4=ANYWHERE_IPV4,
        )
        VpcSecurityGroupEgressRule(
            self,
            "tasks-out-db",
            security_group_id=self.service.id,
            description="PostgreSQL to Aurora",
            ip_protocol="tcp",
            from_port=POSTGRES_PORT,
            to_port=POSTGRES_PORT,
            referenced_security_group_id=self.database.id,
        )
        VpcSecurityGroupIngressRule(
            self,
            "db-in-tasks",
            security_group_id=self.database.id,
            description="PostgreSQL from the API tasks only",
            ip_protocol="tcp",
            from_port=POSTGRES_PORT,
            to_port=POSTGRES_PORT,
            referenced_security_group_id=self.service.id,
        )
