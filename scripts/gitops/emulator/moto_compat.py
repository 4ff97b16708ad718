"""Start moto's server with the few operations it lacks and the real AWS provider calls.

Checked against moto 5.2.5 (pinned in pyproject.toml; tests/emulator/test_moto_compat.py runs
these operations against a live server so an upgrade that breaks them fails loudly):

- application-autoscaling has no `TagResource`, `UntagResource`, `ListTagsForResource`.
  It answers 500, which the AWS SDK retries for minutes, and `aws_appautoscaling_target` reads
  its tags after every create, read and update whatever its `tags` say.
- X-Ray has no sampling-rule routes (`CreateSamplingRule` and friends answer 404) and no
  tagging routes, which `aws_xray_sampling_rule` needs: gitops.emulator.xray_sampling.

- RDS instances drop `EnablePerformanceInsights` and its settings, so every plan wants to turn
  Performance Insights on again.
- S3 `GetBucketNotificationConfiguration` leaves out the stored `EventBridgeConfiguration`,
  so every plan wants to enable EventBridge notifications again.
- Secrets Manager's `CancelRotateSecret` demands a rotation Lambda, which managed-rotation
  secrets (the RDS-owned master secret) never have, so destroying their rotation fails.
- ECS services drop `enableECSManagedTags`, `healthCheckGracePeriodSeconds` and
  `availabilityZoneRebalancing`; RDS clusters report an empty Serverless v1
  `ScalingConfigurationInfo` for provisioned (Serverless v2) clusters; EC2 security-group rules
  that reference another group or a prefix list lose their description. Each makes every plan
  show a change.
- S3 bucket policies are enforced with their `Condition` blocks ignored, so the TLS-only
  statement every bucket carries (Deny when `aws:SecureTransport` is false) denies every
  object request. The emulator serves only HTTPS (gitops.emulator.server), so that statement can
  never match there; it is left out when moto evaluates a bucket policy.
- CodeDeploy's missing operations and its ECS blue/green deployments: gitops.emulator.codedeploy.
- API Gateway's `UpdateIntegration` (a new origin-header value):
  gitops.emulator.apigateway_integration.
- ECR's pull-through cache rules (the X-Ray daemon's way in from ECR Public):
  gitops.emulator.ecr_pull_through_cache.
- moto's server runs requests in parallel over backends that are not thread-safe, and runs an
  SDK's retry of a request it already answered a second time: gitops.emulator.serving.

Not patched, because moto already answers the settled state at the first read (tests pin it):
the load balancer is `active`, Aurora clusters and instances `available` and, once deleted,
gone, NAT gateways `deleted`, lifecycle rules read back as written. What `make local` still
waits on is fixed in provider 5.100.0 itself and no emulator answer or `timeouts` block can
shorten it (a timeout below the delay only fails): `aws_lb` sleeps 30 s before its first
read, twice (after create and after setting attributes); `aws_s3_bucket_lifecycle_configuration`
sleeps 10 s, then wants 10 equal reads 5 s apart (55 s); Aurora cluster and instance sleep 30 s
on create and on delete; VPC attributes, ECS clusters and NAT deletion 10 s; each KMS key
reads rotation, policy and tags 5 times in a row. The stack sets no `timeouts`.

Each missing operation is added to moto's own response class (and, for X-Ray, its URL table)
before moto's server starts; state lives in this process, like moto's own.
Run: `python -m gitops.emulator.moto_compat --port 4566 [--ssl-cert C --ssl-key K]`.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
import threading
from collections.abc import Callable
from typing import Any, cast

from moto.applicationautoscaling.responses import ApplicationAutoScalingResponse
from moto.core.responses import ActionResult
from moto.ec2.models.security_groups import SecurityGroupRule
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.rds.models import DBCluster, DBInstance
from moto.s3.models import FakeBucket
from moto.s3.responses import S3Response
from moto.secretsmanager.models import FakeSecret, SecretsManagerBackend

from gitops.emulator import (
    apigateway_integration,
    codedeploy,
    ecr_pull_through_cache,
    iam_enforcement,
    serving,
    xray_sampling,
)

_lock = threading.Lock()
_autoscaling_tags: dict[str, dict[str, str]] = {}
"""Scalable target ARN -> tags."""


# --- application-autoscaling -----------------------------------------------------------------

_original_register = ApplicationAutoScalingResponse.register_scalable_target


def _register_scalable_target(self: ApplicationAutoScalingResponse) -> str:
    body = _original_register(self)
    tags = self._get_param("Tags") or {}
    arn = json.loads(body)["ScalableTargetARN"]
    with _lock:
        _autoscaling_tags.setdefault(arn, {}).update(tags)
    return body


def _autoscaling_list_tags(self: ApplicationAutoScalingResponse) -> str:
    with _lock:
        return json.dumps({"Tags": dict(_autoscaling_tags.get(self._get_param("ResourceARN"), {}))})


def _autoscaling_tag(self: ApplicationAutoScalingResponse) -> str:
    with _lock:
        _autoscaling_tags.setdefault(self._get_param("ResourceARN"), {}).update(
            self._get_param("Tags") or {}
        )
    return "{}"


def _autoscaling_untag(self: ApplicationAutoScalingResponse) -> str:
    with _lock:
        tags = _autoscaling_tags.get(self._get_param("ResourceARN"), {})
        for key in self._get_param("TagKeys") or []:
            tags.pop(key, None)
    return "{}"


# --- S3 bucket policies with a TLS-only statement ---------------------------------------------

_original_get_permission = FakeBucket.get_permission
INSECURE_TRANSPORT = {"Bool": {"aws:SecureTransport": "false"}}


def _denies_insecure_transport_only(statement: dict[str, Any]) -> bool:
    return statement.get("Effect") == "Deny" and statement.get("Condition") == INSECURE_TRANSPORT


def _get_permission(self: FakeBucket, action: str, resource: str) -> Any:
    from moto.iam.access_control import IAMPolicy, PermissionResult

    if self.policy is None:
        return _original_get_permission(self, action, resource)
    policy = json.loads(self.policy)
    statements = policy.get("Statement", [])
    statements = statements if isinstance(statements, list) else [statements]
    kept = [s for s in statements if not _denies_insecure_transport_only(s)]
    if len(kept) == len(statements):
        return _original_get_permission(self, action, resource)
    if not kept:
        return PermissionResult.NEUTRAL
    return IAMPolicy(json.dumps({**policy, "Statement": kept})).is_action_permitted(
        action, resource
    )


# --- RDS Performance Insights and S3 EventBridge notifications ---------------------------------

_original_db_instance_init = DBInstance.__init__


def _db_instance_init(self: DBInstance, backend: Any, **kwargs: Any) -> None:
    _original_db_instance_init(self, backend, **kwargs)
    # moto serializes attributes named after the API's fields; these it never sets, so its
    # DBInstance does not declare them either.
    self.performance_insights_enabled = bool(kwargs.get("enable_performance_insights"))  # type: ignore[attr-defined]
    self.performance_insights_kms_key_id = kwargs.get("performance_insights_kms_key_id")  # type: ignore[attr-defined]
    self.performance_insights_retention_period = kwargs.get("performance_insights_retention_period")  # type: ignore[attr-defined]


_original_get_bucket_notification = S3Response.get_bucket_notification


def _get_bucket_notification(self: S3Response) -> Any:
    configuration = self.backend.get_bucket_notification_configuration(self.bucket_name)
    if configuration is None or configuration.event_bridge is None:
        return _original_get_bucket_notification(self)
    result: dict[str, Any] = {"EventBridgeConfiguration": {}}
    for key, items, arn_key in (
        ("TopicConfigurations", configuration.topic, "TopicArn"),
        ("QueueConfigurations", configuration.queue, "QueueArn"),
        ("LambdaFunctionConfigurations", configuration.cloud_function, "LambdaFunctionArn"),
    ):
        result[key] = [{"Id": i.id, arn_key: i.arn, "Events": i.events} for i in items]
    self.data["Action"] = "GetBucketNotificationConfiguration"
    return self.serialized(ActionResult(result))


# --- Secrets Manager managed rotation ----------------------------------------------------------

_original_cancel_rotate_secret = SecretsManagerBackend.cancel_rotate_secret


def _cancel_rotate_secret(self: SecretsManagerBackend, secret_id: str) -> str:
    secret = self.secrets.get(secret_id) if self._is_valid_identifier(secret_id) else None
    # A replica has no rotation of its own (nor to_short_dict): moto's own handler answers.
    if isinstance(secret, FakeSecret) and not getattr(secret, "rotation_lambda_arn", None):
        secret.rotation_enabled = False  # managed rotation: nothing else to cancel
        return secret.to_short_dict()
    return _original_cancel_rotate_secret(self, secret_id)


# --- ECS service settings, Serverless v2 scaling info, referenced-group rule descriptions -------

ECS_SERVICE_SETTINGS = {
    "enableECSManagedTags": "enable_ecs_managed_tags",
    "healthCheckGracePeriodSeconds": "health_check_grace_period_seconds",
    "availabilityZoneRebalancing": "availability_zone_rebalancing",
}
_original_create_service = EC2ContainerServiceResponse.create_service
_original_update_service = EC2ContainerServiceResponse.update_service


_EcsHandler = Callable[[EC2ContainerServiceResponse], ActionResult]


def _keeping_service_settings(original: _EcsHandler) -> _EcsHandler:
    def handler(self: EC2ContainerServiceResponse) -> ActionResult:
        result = original(self)
        # create_service and update_service answer {"service": <moto's service object>}.
        service = cast(dict[str, Any], result.result)["service"]
        for field, attribute in ECS_SERVICE_SETTINGS.items():
            value = self._get_param(field)
            if value is not None:
                setattr(service, attribute, value)
        return result

    return handler


# Read on the class, a property is the property object (mypy types it as its getter).
_original_scaling_info = cast(property, DBCluster.scaling_configuration_info)


def _scaling_configuration_info(self: DBCluster) -> Any:
    if self.engine_mode != "serverless" and not self.scaling_configuration:
        return None  # only Serverless v1 clusters have one
    return _original_scaling_info.__get__(self, DBCluster)


_original_rule_init = SecurityGroupRule.__init__
_rule_parameters = inspect.signature(_original_rule_init)


def _rule_init(self: SecurityGroupRule, *args: Any, **kwargs: Any) -> None:
    _original_rule_init(self, *args, **kwargs)
    prefix_list = _rule_parameters.bind(self, *args, **kwargs).arguments.get("prefix_list_id")
    self.prefix_list_description = (prefix_list or {}).get("Description")  # type: ignore[attr-defined]


def _rule_description(self: SecurityGroupRule) -> str | None:
    return (
        self.ip_range.get("Description")
        or self.source_group.get("Description")
        or getattr(self, "prefix_list_description", None)
    )


def install() -> None:
    """Add the missing operations to moto's classes and routes (idempotent)."""
    # (class, attribute, replacement), set with setattr as codedeploy.install does: moto's
    # classes do not declare the operations added here, and mypy rightly refuses to let a
    # method be reassigned; this table is the one place that does it on purpose.
    patches: tuple[tuple[type, str, object], ...] = (
        (ApplicationAutoScalingResponse, "register_scalable_target", _register_scalable_target),
        (ApplicationAutoScalingResponse, "list_tags_for_resource", _autoscaling_list_tags),
        (ApplicationAutoScalingResponse, "tag_resource", _autoscaling_tag),
        (ApplicationAutoScalingResponse, "untag_resource", _autoscaling_untag),
        (FakeBucket, "get_permission", _get_permission),
        (S3Response, "get_bucket_notification", _get_bucket_notification),
        (DBInstance, "__init__", _db_instance_init),
        (SecretsManagerBackend, "cancel_rotate_secret", _cancel_rotate_secret),
        (EC2ContainerServiceResponse, "create_service",
         _keeping_service_settings(_original_create_service)),
        (EC2ContainerServiceResponse, "update_service",
         _keeping_service_settings(_original_update_service)),
        (DBCluster, "scaling_configuration_info", property(_scaling_configuration_info)),
        (SecurityGroupRule, "__init__", _rule_init),
        (SecurityGroupRule, "description", property(_rule_description)),
    )  # fmt: skip
    for owner, attribute, replacement in patches:
        setattr(owner, attribute, replacement)
    codedeploy.install()
    apigateway_integration.install()
    ecr_pull_through_cache.install()
    xray_sampling.install()
    serving.install()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m gitops.emulator.moto_compat")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ssl-cert", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--ssl-key", help="private key of --ssl-cert (PEM)")
    args = parser.parse_args(argv)
    install()
    if os.environ.get(iam_enforcement.ENFORCE_VARIABLE) == "1":
        iam_enforcement.install()
    from moto.server import main as moto_main

    tls = ["--ssl-cert", args.ssl_cert, "--ssl-key", args.ssl_key] if args.ssl_cert else []
    moto_main(["--host", args.host, "--port", str(args.port), *tls])


if __name__ == "__main__":
    main(sys.argv[1:])
