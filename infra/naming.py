"""Resource names: one place decides how an environment's suffix is applied."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Naming:
    """Builds names that carry the environment suffix (`fraud-vpc-dev`, `/ecs/fraud-api-dev`)."""

    environment: str
    prefix: str = "fraud"

    def name(self, *parts: str) -> str:
        """`name("vpc")` -> `fraud-vpc-<env>`."""
        return "-".join((self.prefix, *parts, self.environment))

    def tags(self, *parts: str) -> dict[str, str]:
        """The `Name` tag of a resource, the last of the tag merge order."""
        return {"Name": self.name(*parts)}
