"""Network: a VPC across several AZs with public and private subnets and NAT egress."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from cdktf import Fn, Token
from cdktf_cdktf_provider_aws.data_aws_availability_zones import (
    DataAwsAvailabilityZones,
    DataAwsAvailabilityZonesFilter,
)
from cdktf_cdktf_provider_aws.default_security_group import DefaultSecurityGroup
from cdktf_cdktf_provider_aws.eip import Eip
from cdktf_cdktf_provider_aws.internet_gateway import InternetGateway
from cdktf_cdktf_provider_aws.nat_gateway import NatGateway
from cdktf_cdktf_provider_aws.route import Route
from cdktf_cdktf_provider_aws.route_table import RouteTable
from cdktf_cdktf_provider_aws.route_table_association import RouteTableAssociation
from cdktf_cdktf_provider_aws.subnet import Subnet
from cdktf_cdktf_provider_aws.vpc import Vpc
from constructs import Construct

from infra.naming import Naming

SUBNET_PREFIX_DELTA = 4
"""Each subnet is 1/16 of the VPC: public subnets take the first slots, private the ninth on."""
PRIVATE_SLOT_OFFSET = 8
ZONE_LETTERS = "abcdef"


@dataclass(frozen=True)
class NetworkProps:
    naming: Naming
    region: str
    vpc_cidr: str
    """IPv4 CIDR of the VPC; subnets are carved from it (/16 VPC -> /20 subnets)."""
    az_count: int
    """Availability zones to span; one public and one private subnet in each."""
    nat_gateway_per_az: bool = False
    """Left out, one NAT gateway serves every private subnet (cheaper, one AZ of failure)."""

    def __post_init__(self) -> None:
        network = ipaddress.IPv4Network(self.vpc_cidr)
        if network.prefixlen + SUBNET_PREFIX_DELTA > 28:
            raise ValueError(
                f"NetworkProps.vpc_cidr {self.vpc_cidr}: too small to carve /"
                f"{network.prefixlen + SUBNET_PREFIX_DELTA} subnets; use /24 or larger"
            )
        if not 1 <= self.az_count <= len(ZONE_LETTERS):
            raise ValueError(
                f"NetworkProps.az_count {self.az_count}: must be 1..{len(ZONE_LETTERS)}"
            )

    def zone_names(self) -> list[str]:
        """`<region>a`, `<region>b`, ...: the first `az_count` zones of the region."""
        return [f"{self.region}{letter}" for letter in ZONE_LETTERS[: self.az_count]]

    def subnet_cidrs(self) -> tuple[list[str], list[str]]:
        """(public, private) CIDRs, one of each per AZ, non-overlapping and stable."""
        network = ipaddress.IPv4Network(self.vpc_cidr)
        slots = [str(s) for s in network.subnets(prefixlen_diff=SUBNET_PREFIX_DELTA)]
        public = slots[: self.az_count]
        private = slots[PRIVATE_SLOT_OFFSET : PRIVATE_SLOT_OFFSET + self.az_count]
        return public, private


class Network(Construct):
    """VPC, subnets, routes and NAT; the default security group is emptied (denies all)."""

    def __init__(self, scope: Construct, id: str, props: NetworkProps) -> None:
        super().__init__(scope, id)
        naming = props.naming
        public_cidrs, private_cidrs = props.subnet_cidrs()

        # Pin the zones by name: the set cannot grow when AWS adds a zone, and a plan fails
        # loudly if a named zone is not available.
        zones = DataAwsAvailabilityZones(
            self,
            "zones",
            state="available",
            filter=[DataAwsAvailabilityZonesFilter(name="zone-name", values=props.zone_names())],
        )
        self.vpc = Vpc(
            self,
            "vpc",
            cidr_block=props.vpc_cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=naming.tags("vpc"),
        )
        # An empty default security group denies all traffic to anything placed in it by mistake.
        DefaultSecurityGroup(self, "default-sg", vpc_id=self.vpc.id, tags=naming.tags("default"))
        gateway = InternetGateway(self, "igw", vpc_id=self.vpc.id, tags=naming.tags("igw"))

        public_routes = RouteTable(
            self, "public-rt", vpc_id=self.vpc.id, tags=naming.tags("public")
        )
        Route(
            self,
            "public-default-route",
            route_table_id=public_routes.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=gateway.id,
        )

        self.public_subnets: list[Subnet] = []
        self.private_subnets: list[Subnet] = []
        self.private_route_tables: list[RouteTable] = []
        nat_gateways: list[NatGateway] = []
        for index in range(props.az_count):
            zone = Token.as_string(Fn.element(zones.names, index))
            public = Subnet(
                self,
                f"public-{index}",
                vpc_id=self.vpc.id,
                cidr_block=public_cidrs[index],
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={**naming.tags("public", str(index)), "Tier": "public"},
            )
            RouteTableAssociation(
                self, f"public-{index}-rta", subnet_id=public.id, route_table_id=public_routes.id
            )
            self.public_subnets.append(public)
            if index == 0 or props.nat_gateway_per_az:
                address = Eip(
                    self, f"nat-{index}-eip", domain="vpc", tags=naming.tags("nat", str(index))
                )
                nat_gateways.append(
                    NatGateway(
                        self,
                        f"nat-{index}",
                        allocation_id=address.id,
                        subnet_id=public.id,
                        tags=naming.tags("nat", str(index)),
                        depends_on=[gateway],
                    )
                )

        for index in range(props.az_count):
            zone = Token.as_string(Fn.element(zones.names, index))
            private = Subnet(
                self,
                f"private-{index}",
                vpc_id=self.vpc.id,
                cidr_block=private_cidrs[index],
                availability_zone=zone,
                tags={**naming.tags("private", str(index)), "Tier": "private"},
            )
            routes = RouteTable(
                self,
                f"private-{index}-rt",
                vpc_id=self.vpc.id,
                tags=naming.tags("private", str(index)),
            )
            Route(
                self,
                f"private-{index}-default-route",
                route_table_id=routes.id,
                destination_cidr_block="0.0.0.0/0",
                nat_gateway_id=nat_gateways[index if props.nat_gateway_per_az else 0].id,
            )
            RouteTableAssociation(
                self, f"private-{index}-rta", subnet_id=private.id, route_table_id=routes.id
            )
            self.private_subnets.append(private)
            self.private_route_tables.append(routes)

        self.nat_gateways = nat_gateways

    @property
    def private_subnet_ids(self) -> list[str]:
        return [subnet.id for subnet in self.private_subnets]

    @property
    def public_subnet_ids(self) -> list[str]:
        return [subnet.id for subnet in self.public_subnets]
