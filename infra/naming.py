"""Resource names: one place decides how an environment's suffix is applied."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

ELB_NAME_LIMIT = 32
"""Load balancer and target group names: at most 32 characters."""
ECR_CACHE_PREFIX_LIMIT = 30
"""ECR pull-through cache rule prefixes: at most 30 characters."""


@dataclass(frozen=True)
class Naming:
    """Builds names that carry the environment suffix (`fraud-vpc-dev`, `/ecs/fraud-api-dev`)."""

    environment: str
    prefix: str = "fraud"

    def name(self, *parts: str) -> str:
        """`name("vpc")` -> `fraud-vpc-<env>`."""
        return "-".join((self.prefix, *parts, self.environment))

    def bounded(self, limit: int, *parts: str) -> str:
        """`name(*parts)` within a service's name limit (target groups, load balancers: 32).

        A name that fits is left as it is; a longer one (environment names run to 21
        characters) is cut and ends in a digest of the full name, so it stays unique.
        """
        full = self.name(*parts)
        if len(full) <= limit:
            return full
        digest = hashlib.sha256(full.encode()).hexdigest()[:6]
        return f"{full[: limit - len(digest) - 1].rstrip('-')}-{digest}"

    def load_balancer(self) -> str:
        """The application load balancer's name (its listener ARNs carry it)."""
        return self.bounded(ELB_NAME_LIMIT, "alb")

    def ecr_cache_prefix(self) -> str:
        """The prefix of the ECR Public pull-through cache rule and its repositories."""
        return self.bounded(ECR_CACHE_PREFIX_LIMIT, "ecr-public")

    def service_log_group(self) -> str:
        """The API tasks' log group (the permissions boundary names it too)."""
        return f"/ecs/{self.name('api')}"

    def api_access_log_group(self) -> str:
        """The API stage's access-log group (the permissions boundary names it too)."""
        return f"/aws/apigateway/{self.name('api')}"

    def tags(self, *parts: str) -> dict[str, str]:
        """The `Name` tag of a resource, the last of the tag merge order."""
        return {"Name": self.name(*parts)}
