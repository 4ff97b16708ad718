"""X-Ray sampling for the API: the first request each second, then a share of the rest."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.xray_sampling_rule import XraySamplingRule
from constructs import Construct

from infra.naming import Naming

RESERVOIR_PER_SECOND = 1
RULE_PRIORITY = 1000


@dataclass(frozen=True)
class TracingProps:
    naming: Naming
    service_name: str
    sampling_rate: float
    """Share (0..1) of requests traced beyond the reservoir."""

    def __post_init__(self) -> None:
        if not 0.0 <= self.sampling_rate <= 1.0:
            raise ValueError(f"TracingProps.sampling_rate {self.sampling_rate}: must be 0..1")


class Tracing(Construct):
    def __init__(self, scope: Construct, id: str, props: TracingProps) -> None:
        super().__init__(scope, id)
        self.sampling_rule = XraySamplingRule(
            self,
            "sampling",
            rule_name=props.naming.bounded(32, "api"),  # X-Ray allows 32
            priority=RULE_PRIORITY,
            version=1,
            reservoir_size=RESERVOIR_PER_SECOND,
            fixed_rate=props.sampling_rate,
            service_name=props.service_name,
            service_type="*",
            host="*",
            http_method="*",
            url_path="*",
            resource_arn="*",
            tags=props.naming.tags("api", "sampling"),
        )
