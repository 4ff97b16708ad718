"""Typed schema of an environment file (`environments/<env>.yaml`).

The environment files are data and this module is the code that gives them meaning: every
number the stack needs comes from here, so no construct hard-codes a value from the brief.
Loading never imports cdktf or jsii, so validating a file costs milliseconds.

Every model forbids unknown keys and is frozen. `load_environment` turns any problem into
one `ConfigError` whose message is a single line naming the file, the field and the fix.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails

from infra.blue_green_config import BlueGreenConfig
from infra.load_balancer_config import LoadBalancerConfig
from infra.pipeline_settings import PLAN_ENVIRONMENT_SUFFIX, PipelineConfig, conventional_role_arn
from infra.release_config import ReleaseConfig

ENVIRONMENT_NAME_PATTERN = r"^[a-z][a-z0-9-]{1,20}$"
"""Every `environments/<name>.yaml` is an environment; its name goes into every resource name."""

REPO_ROOT = Path(__file__).resolve().parent.parent

REQUIRED_TAG_KEYS: tuple[str, ...] = ("Owner", "CostCenter", "DataClassification")
"""Tags every environment file must set; `Environment` and `Service` are added by the stack."""


class ConfigError(ValueError):
    """An environment file is missing, unreadable or invalid; the message is one line."""


def _ipv4_network(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise ValueError(f"not a valid IPv4 CIDR block ({error})") from None
    if not 16 <= network.prefixlen <= 24:
        raise ValueError(
            f"prefix /{network.prefixlen} is outside /16../24, the range AWS VPCs accept"
        )
    return str(network)


Cidr = Annotated[str, AfterValidator(_ipv4_network)]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
ECR_PUBLIC = "public.ecr.aws"
AWS_REGION_PATTERN = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"


class Model(BaseModel):
    """Base of every section: unknown keys are errors and values never change after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class NetworkConfig(Model):
    vpc_cidr: Cidr = Field(description="IPv4 CIDR of the VPC, /16 to /24.")
    az_count: int = Field(ge=2, le=6, description="Availability zones the subnets span.")
    nat_gateway_per_az: bool = Field(
        description="One NAT gateway per AZ (resilient, costs more) or a single shared one."
    )
    flow_log_expiry_days: int = Field(
        ge=1, le=3650, description="Days after which VPC flow log objects are deleted."
    )


class ServiceConfig(Model):
    """The ECS Fargate service that runs the API."""

    cpu: Literal[256, 512, 1024, 2048, 4096] = Field(description="Fargate task CPU units.")
    memory_mib: int = Field(ge=512, le=30720, description="Fargate task memory in MiB.")
    container_port: int = Field(ge=1024, le=65535, description="Port the API container listens on.")
    min_tasks: int = Field(ge=1, le=100, description="Fewest running tasks auto-scaling keeps.")
    max_tasks: int = Field(ge=1, le=100, description="Most running tasks auto-scaling allows.")
    cpu_target_percent: int = Field(ge=10, le=95, description="Average CPU auto-scaling aims at.")
    health_check_path: str = Field(
        pattern=r"^/[A-Za-z0-9/_-]*$", description="Path the container and target groups probe."
    )
    xray_daemon_image: str = Field(
        pattern=r"^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+|@sha256:[0-9a-f]{64})$",
        description="X-Ray daemon image on ECR Public, pinned by tag or digest; tasks pull it"
        " through the registry's pull-through cache.",
    )
    trace_sampling_rate: float = Field(
        ge=0.0, le=1.0, description="Share of requests X-Ray traces beyond the first each second."
    )

    @field_validator("xray_daemon_image")
    @classmethod
    def _from_ecr_public(cls, image: str) -> str:
        if not image.startswith(f"{ECR_PUBLIC}/"):
            raise ValueError(
                f"{image[:80]!r} is not on {ECR_PUBLIC}: tasks reach AWS through VPC endpoints"
                " and pull the daemon through this registry's cache of ECR Public"
            )
        return image

    @model_validator(mode="after")
    def _task_bounds(self) -> ServiceConfig:
        if self.min_tasks > self.max_tasks:
            raise ValueError(
                f"min_tasks ({self.min_tasks}) must be <= max_tasks ({self.max_tasks})"
            )
        return self


RetentionDays = Literal[1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731]


class LogsConfig(Model):
    retention_days: RetentionDays = Field(
        description=(
            "Retention of every CloudWatch log group (/ecs/fraud-api-<env>, API access logs,"
            " WAF logs); a value CloudWatch accepts."
        )
    )


class DatabaseConfig(Model):
    """Aurora Serverless v2 PostgreSQL."""

    engine_version: str = Field(
        pattern=r"^\d+\.\d+$", description="Aurora PostgreSQL engine version, e.g. 16.4."
    )
    min_capacity_acu: float = Field(ge=0.0, le=256, description="Serverless v2 minimum ACUs.")
    max_capacity_acu: float = Field(ge=1.0, le=256, description="Serverless v2 maximum ACUs.")
    backup_retention_days: int = Field(ge=1, le=35, description="Automated backup retention.")
    deletion_protection: bool = Field(description="Refuse to delete the cluster while set.")
    secret_rotation_days: int = Field(ge=1, le=365, description="Master password rotation period.")

    @field_validator("min_capacity_acu", "max_capacity_acu", mode="before")
    @classmethod
    def _acu_as_float(cls, value: Any) -> Any:
        # YAML reads `4` as an int; ACUs are halves, so accept whole numbers as floats.
        return float(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @model_validator(mode="after")
    def _capacity_bounds(self) -> DatabaseConfig:
        for name in ("min_capacity_acu", "max_capacity_acu"):
            if (getattr(self, name) * 2) % 1:
                raise ValueError(f"{name} ({getattr(self, name)}) must be a multiple of 0.5")
        if self.min_capacity_acu > self.max_capacity_acu:
            raise ValueError(
                f"min_capacity_acu ({self.min_capacity_acu}) must be <= "
                f"max_capacity_acu ({self.max_capacity_acu})"
            )
        return self


class ApiConfig(Model):
    """API Gateway: the stage and the usage plan applied to the API key."""

    stage_name: str = Field(pattern=r"^[A-Za-z0-9_]{1,64}$", description="Deployed stage name.")
    rate_limit_rps: int = Field(ge=1, le=10000, description="Steady-state requests per second.")
    burst_limit: int = Field(ge=1, le=20000, description="Requests allowed in a burst.")
    daily_quota: int = Field(
        ge=1, le=2_147_483_647, description="Requests per API key per day (API Gateway's int32)."
    )

    @model_validator(mode="after")
    def _burst_covers_rate(self) -> ApiConfig:
        if self.burst_limit < self.rate_limit_rps:
            raise ValueError(
                f"burst_limit ({self.burst_limit}) must be >= "
                f"rate_limit_rps ({self.rate_limit_rps})"
            )
        return self


class WafConfig(Model):
    rate_limit_per_5_minutes: int = Field(
        ge=100, le=2_000_000_000, description="Requests one IP may send in 5 minutes."
    )
    blocked_countries: tuple[CountryCode, ...] = Field(
        description="ISO 3166-1 alpha-2 codes blocked by the geo rule; may be empty."
    )

    @field_validator("blocked_countries", mode="before")
    @classmethod
    def _list_to_tuple(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value


class AlarmConfig(Model):
    api_latency_ms: int = Field(
        ge=1,
        le=60_000,
        description="Alarm when API latency exceeds this (API Gateway stops at 29 s).",
    )
    min_healthy_tasks: int = Field(
        ge=1, le=1000, description="Alarm when healthy ECS tasks fall below this."
    )
    max_db_connections: int = Field(
        ge=1, le=100_000, description="Alarm when Aurora connections exceed this."
    )
    max_target_5xx_per_minute: int = Field(
        ge=0,
        le=1_000_000,
        description="Alarm (and roll a release back) above this many task 5xx a minute.",
    )
    notification_email: str | None = Field(
        default=None,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="Subscribed to the alarm topic when set; left out, nobody is subscribed.",
    )


class StateBackendConfig(Model):
    """Where Terraform keeps this environment's state (S3) and its lock (DynamoDB)."""

    bucket: str = Field(pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", description="State bucket.")
    key: str = Field(
        pattern=r"^[A-Za-z0-9!_.*'()/-]+\.tfstate$",
        description="Object key of the state; left out, fraud-detection/<env>.tfstate.",
    )
    lock_table: str = Field(pattern=r"^[A-Za-z0-9_.-]{3,255}$", description="DynamoDB lock table.")
    region: str = Field(pattern=AWS_REGION_PATTERN, description="Region of bucket and table.")


class EmulatorConfig(Model):
    """A local AWS emulator that stands in for every AWS endpoint (only the `local` environment)."""

    endpoint: str = Field(
        pattern=r"^https?://(127\.\d+\.\d+\.\d+|localhost)(:\d+)?$",
        description="Loopback URL of the emulator; the provider and the state backend use it.",
    )


class EnvironmentConfig(Model):
    """One environment: everything `FraudDetectionStack` needs to describe it."""

    name: str = Field(pattern=ENVIRONMENT_NAME_PATTERN)
    region: str = Field(pattern=AWS_REGION_PATTERN)
    account_id: str = Field(pattern=r"^\d{12}$")
    tags: dict[str, str] = Field(
        description="Tags on every resource, with Environment and Service."
    )
    network: NetworkConfig
    service: ServiceConfig
    logs: LogsConfig
    database: DatabaseConfig
    api: ApiConfig
    waf: WafConfig
    alarms: AlarmConfig
    load_balancer: LoadBalancerConfig
    state: StateBackendConfig
    release: ReleaseConfig
    blue_green: BlueGreenConfig
    pipeline: PipelineConfig
    emulator: EmulatorConfig | None = Field(
        default=None,
        description="Points every AWS call at an emulator; only for an environment not deployed.",
    )

    @model_validator(mode="before")
    @classmethod
    def _conventional_state_key(cls, data: Any) -> Any:
        # One state object per environment by convention, so a copied file cannot share one.
        state = data.get("state") if isinstance(data, dict) else None
        if isinstance(state, dict) and "key" not in state and isinstance(data.get("name"), str):
            data = {**data, "state": {**state, "key": default_state_key(data["name"])}}
        return data

    @field_validator("name")
    @classmethod
    def _not_a_plan_environment(cls, name: str) -> str:
        if name.endswith(PLAN_ENVIRONMENT_SUFFIX):
            raise ValueError(
                f"{name!r}: names ending {PLAN_ENVIRONMENT_SUFFIX!r} are reserved (the GitHub"
                " environment ENV-plan is where pull requests plan ENV)"
            )
        return name

    @field_validator("tags")
    @classmethod
    def _required_tags(cls, tags: dict[str, str]) -> dict[str, str]:
        missing = [key for key in REQUIRED_TAG_KEYS if not tags.get(key)]
        if missing:
            raise ValueError(f"missing required tag(s) {', '.join(missing)}")
        reserved = sorted({"Environment", "Service"} & tags.keys())
        if reserved:
            raise ValueError(f"tag(s) {', '.join(reserved)} are set by the stack; remove them")
        for key, value in tags.items():  # AWS's rules for a tag, so a deploy does not find them
            if not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
                raise ValueError(f"tag key {key[:40]!r}: 1 to 128 characters, not starting aws:")
            if len(value) > 256:
                raise ValueError(f"tag {key!r}: the value is {len(value)} characters (at most 256)")
        return tags

    @model_validator(mode="after")
    def _emulator_never_deployed(self) -> EnvironmentConfig:
        if self.emulator is not None and self.pipeline.deploy:
            raise ValueError(
                "emulator: an emulated environment cannot be deployed by the pipeline;"
                " set pipeline.deploy to false or remove emulator"
            )
        return self

    @model_validator(mode="after")
    def _test_listener_only_for_operators(self) -> EnvironmentConfig:
        # The web ACL lets operators through without the origin header; anyone else on the
        # test port would be blocked there anyway, so the two lists must agree.
        operators = set(self.load_balancer.operator_cidrs)
        for cidr in self.blue_green.test_listener.allowed_cidrs:
            if cidr not in operators:
                raise ValueError(
                    f"blue_green.test_listener.allowed_cidrs: {cidr} is not in"
                    " load_balancer.operator_cidrs; list it there too"
                )
        return self

    @property
    def stack_name(self) -> str:
        return f"fraud-detection-{self.name}"

    @property
    def plan_role_arn(self) -> str:
        """The file's `pipeline.plan_role_arn`, else the one `gitops bootstrap` creates."""
        return self.pipeline.plan_role_arn or conventional_role_arn(
            "plan", self.name, self.account_id, self.region
        )

    @property
    def plan_github_environment(self) -> str:
        """The GitHub environment pull requests plan this environment in (its plan role trusts
        it; its protection rules decide whose code may read the state)."""
        return f"{self.name}{PLAN_ENVIRONMENT_SUFFIX}"

    @property
    def apply_role_arn(self) -> str:
        return self.pipeline.apply_role_arn or conventional_role_arn(
            "apply", self.name, self.account_id, self.region
        )

    def all_tags(self) -> dict[str, str]:
        """Tags in one visible order: the file's own, then Environment and Service."""
        return {**self.tags, "Environment": self.name, "Service": "fraud-detection-api"}


def default_state_key(name: str) -> str:
    """The state object of environment `name` when its file sets no `state.key`."""
    return f"fraud-detection/{name}.tfstate"


def _describe(error: ErrorDetails) -> str:
    location = ".".join(str(part) for part in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key (check the spelling against infra/config.py)"
    elif error["type"] == "missing":
        message = "required field is missing"
    elif "input" in error and error["type"] not in ("value_error",):
        got = repr(error["input"])
        if len(got) > MAX_ECHOED:  # a 100 KB value must not become a 100 KB error line
            got = f"{got[: MAX_ECHOED - 3]}... ({len(got)} characters)"
        message = f"{message} (got {got})"
    return f"{location}: {message}" if location else message


MAX_ECHOED = 80
"""How much of a rejected value an error line repeats."""


def parse_environment(name: str, data: Any, source: str) -> EnvironmentConfig:
    """Validate already-parsed YAML; `source` names the file in error messages."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    if data.get("name", name) != name:
        raise ConfigError(
            f"{source}: name: {data['name']!r} does not match the file name ({name!r})"
        )
    try:
        return EnvironmentConfig.model_validate({"name": name, **data})
    except ValidationError as error:
        problems = [_describe(item) for item in error.errors(include_url=False)]
        raise ConfigError(f"{source}: {'; '.join(problems)}") from None
