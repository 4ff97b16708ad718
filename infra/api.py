"""API Gateway REST API: `/api/detect` and `/health`, API key required on every method,
a usage plan (rate, burst, daily quota), X-Ray tracing, access logs, stage throttling.

API Gateway forwards to the load balancer over HTTPS at the certificate's domain name (an
HTTP proxy integration). See the README for why this, rather than a VPC link.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field

from cdktf import Fn, ITerraformDependable
from cdktf_cdktf_provider_aws.api_gateway_account import ApiGatewayAccount
from cdktf_cdktf_provider_aws.api_gateway_api_key import ApiGatewayApiKey
from cdktf_cdktf_provider_aws.api_gateway_deployment import ApiGatewayDeployment
from cdktf_cdktf_provider_aws.api_gateway_integration import ApiGatewayIntegration
from cdktf_cdktf_provider_aws.api_gateway_method import ApiGatewayMethod
from cdktf_cdktf_provider_aws.api_gateway_method_settings import (
    ApiGatewayMethodSettings,
    ApiGatewayMethodSettingsSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_request_validator import ApiGatewayRequestValidator
from cdktf_cdktf_provider_aws.api_gateway_resource import ApiGatewayResource
from cdktf_cdktf_provider_aws.api_gateway_rest_api import (
    ApiGatewayRestApi,
    ApiGatewayRestApiEndpointConfiguration,
)
from cdktf_cdktf_provider_aws.api_gateway_stage import (
    ApiGatewayStage,
    ApiGatewayStageAccessLogSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_usage_plan import (
    ApiGatewayUsagePlan,
    ApiGatewayUsagePlanApiStages,
    ApiGatewayUsagePlanQuotaSettings,
    ApiGatewayUsagePlanThrottleSettings,
)
from cdktf_cdktf_provider_aws.api_gateway_usage_plan_key import ApiGatewayUsagePlanKey
from cdktf_cdktf_provider_aws.cloudwatch_log_group import CloudwatchLogGroup
from constructs import Construct

from infra.naming import Naming
from infra.service_role import service_role

PUSH_TO_CLOUDWATCH_POLICY = (
    "arn:aws:iam::aws:policy/service-role/"
    "AmazonAPIGatewayPushToCloudWatchLogs"  # pragma: allowlist secret
)
ACCESS_LOG_FORMAT = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "resourcePath": "$context.resourcePath",
    "status": "$context.status",
    "responseLength": "$context.responseLength",
    "latency": "$context.responseLatency",
    "integrationLatency": "$context.integrationLatency",
    "xrayTraceId": "$context.xrayTraceId",
    "apiKeyId": "$context.identity.apiKeyId",
}
"""JSON access log line; the key's id is logged, never its value."""


@dataclass(frozen=True)
class ApiProps:
    naming: Naming
    backend_domain: str
    """Domain on the load balancer's certificate; requests go to https://<backend_domain>."""
    stage_name: str
    rate_limit_rps: int
    burst_limit: int
    daily_quota: int
    logs_kms_key_arn: str
    log_retention_days: int
    origin_header: tuple[str, str] | None = None
    """(name, value) API Gateway adds to every request it forwards, so the load balancer can tell
    its requests from anyone else's; left out, none is added."""
    integrations_depend_on: Sequence[ITerraformDependable] = field(default_factory=tuple)
    """Changed before the integrations: the web ACL must accept a new header value before API
    Gateway sends it."""

    def __post_init__(self) -> None:
        if self.burst_limit < self.rate_limit_rps:
            raise ValueError(
                f"ApiProps.burst_limit {self.burst_limit} is below rate_limit_rps "
                f"{self.rate_limit_rps}; a burst must allow at least one second of traffic"
            )


class Api(Construct):
    def __init__(self, scope: Construct, id: str, props: ApiProps) -> None:
        super().__init__(scope, id)
        naming = props.naming
        self.rest_api = ApiGatewayRestApi(
            self,
            "rest-api",
            name=naming.name("api"),
            description="Fraud detection API",
            api_key_source="HEADER",  # pragma: allowlist secret
            endpoint_configuration=ApiGatewayRestApiEndpointConfiguration(types=["REGIONAL"]),
            lifecycle={"create_before_destroy": True},
            tags=naming.tags("api"),
        )
        validator = ApiGatewayRequestValidator(
            self,
            "validator",
            rest_api_id=self.rest_api.id,
            name="body-and-parameters",
            validate_request_body=True,
            validate_request_parameters=True,
        )
        api_path = ApiGatewayResource(
            self, "api", rest_api_id=self.rest_api.id, parent_id=self.rest_api.root_resource_id,
            path_part="api",
        )  # fmt: skip
        detect_path = ApiGatewayResource(
            self, "detect", rest_api_id=self.rest_api.id, parent_id=api_path.id, path_part="detect"
        )
        health_path = ApiGatewayResource(
            self, "health", rest_api_id=self.rest_api.id, parent_id=self.rest_api.root_resource_id,
            path_part="health",
        )  # fmt: skip

        routes = (
            ("detect", detect_path, "POST", "/api/detect"),
            ("health", health_path, "GET", "/health"),
        )
        methods, integrations = [], []
        for key, resource, verb, path in routes:
            method = ApiGatewayMethod(
                self,
                f"{key}-method",
                rest_api_id=self.rest_api.id,
                resource_id=resource.id,
                http_method=verb,
                authorization="NONE",
                api_key_required=True,
                request_validator_id=validator.id,
            )
            integration = ApiGatewayIntegration(
                self,
                f"{key}-integration",
                rest_api_id=self.rest_api.id,
                resource_id=resource.id,
                http_method=method.http_method,
                type="HTTP_PROXY",
                integration_http_method=verb,
                uri=f"https://{props.backend_domain}{path}",
                timeout_milliseconds=29000,
                request_parameters=self._origin_parameters(props),
                depends_on=list(props.integrations_depend_on) or None,
            )
            methods.append(method)
            integrations.append(integration)

        deployment = ApiGatewayDeployment(
            self,
            "deployment",
            rest_api_id=self.rest_api.id,
            # A new deployment whenever a route changes; the stage then points at it.
            triggers={
                "routes": self._routes_fingerprint(routes, props.backend_domain),
                # Redeploys when the header value rotates; sha256 of a sensitive value stays
                # sensitive, so plans show neither.
                **({"origin": Fn.sha256(props.origin_header[1])} if props.origin_header else {}),
            },
            lifecycle={"create_before_destroy": True},
            depends_on=[*methods, *integrations],
        )

        cloudwatch_role = service_role(
            self, "cloudwatch", naming, ("apigw", "logs"), "apigateway.amazonaws.com",
            PUSH_TO_CLOUDWATCH_POLICY,
        )  # fmt: skip
        account = ApiGatewayAccount(self, "account", cloudwatch_role_arn=cloudwatch_role.arn)
        self.access_logs = CloudwatchLogGroup(
            self,
            "access-logs",
            name=naming.api_access_log_group(),
            retention_in_days=props.log_retention_days,
            kms_key_id=props.logs_kms_key_arn,
            tags=naming.tags("api", "access-logs"),
        )
        self.stage = ApiGatewayStage(
            self,
            "stage",
            rest_api_id=self.rest_api.id,
            deployment_id=deployment.id,
            stage_name=props.stage_name,
            xray_tracing_enabled=True,
            access_log_settings=ApiGatewayStageAccessLogSettings(
                destination_arn=self.access_logs.arn,
                format=json.dumps(ACCESS_LOG_FORMAT, separators=(",", ":")),
            ),
            tags=naming.tags("api", props.stage_name),
            depends_on=[account],
        )
        ApiGatewayMethodSettings(
            self,
            "stage-settings",
            rest_api_id=self.rest_api.id,
            stage_name=self.stage.stage_name,
            method_path="*/*",
            settings=ApiGatewayMethodSettingsSettings(
                metrics_enabled=True,
                logging_level="INFO",
                data_trace_enabled=False,  # full request logging would write payloads to logs
                throttling_rate_limit=props.rate_limit_rps,
                throttling_burst_limit=props.burst_limit,
                caching_enabled=False,
                cache_data_encrypted=True,
            ),
        )
        plan = ApiGatewayUsagePlan(
            self,
            "usage-plan",
            name=naming.name("api", "plan"),
            description="Rate, burst and daily quota of each API key",
            api_stages=[
                ApiGatewayUsagePlanApiStages(api_id=self.rest_api.id, stage=self.stage.stage_name)
            ],
            throttle_settings=ApiGatewayUsagePlanThrottleSettings(
                rate_limit=props.rate_limit_rps, burst_limit=props.burst_limit
            ),
            quota_settings=ApiGatewayUsagePlanQuotaSettings(limit=props.daily_quota, period="DAY"),
            tags=naming.tags("api", "plan"),
        )
        # AWS generates the key's value; it never appears in code, only (encrypted) in state.
        api_key = ApiGatewayApiKey(
            self,
            "key",
            name=naming.name("api", "key"),
            enabled=True,
            tags=naming.tags("api", "key"),
        )
        ApiGatewayUsagePlanKey(
            self, "usage-plan-key", key_id=api_key.id, key_type="API_KEY", usage_plan_id=plan.id
        )
        self.invoke_url = self.stage.invoke_url

    @staticmethod
    def _origin_parameters(props: ApiProps) -> dict[str, str] | None:
        if props.origin_header is None:
            return None
        name, value = props.origin_header
        # A static value is quoted; the secret has letters and digits only.
        return {f"integration.request.header.{name}": f"'{value}'"}

    @staticmethod
    def _routes_fingerprint(
        routes: Sequence[tuple[str, ApiGatewayResource, str, str]], backend_domain: str
    ) -> str:
        described = [[key, verb, path] for key, _, verb, path in routes] + [[backend_domain]]
        return hashlib.sha256(json.dumps(described).encode()).hexdigest()
