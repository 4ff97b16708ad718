"""The `release:` section of an environment file: what travels with a release.

Its own module because promote and release read and write it without the rest of the schema.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ReleaseConfig(BaseModel):
    """What travels with a release when it is promoted to the next environment.

    `gitops promote` copies this whole section, and nothing else, from one file to the next.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    image_digest: str = Field(
        pattern=r"^sha256:[0-9a-f]{64}$",
        description=(
            "Digest of the API image. The task runs <this environment's ECR repository>@<digest>,"
            " so the same bytes run everywhere a release is promoted."
        ),
    )
    app_version: str = Field(
        pattern=r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)([-+][0-9A-Za-z.-]+)?$",
        description="Semantic version of the API (no leading zeros).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        description="Log level the API starts with."
    )
