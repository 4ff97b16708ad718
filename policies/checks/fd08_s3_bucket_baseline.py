"""CKV_FD_8: every S3 bucket blocks public access, is encrypted, is TLS-only and has a lifecycle.

The stack configures buckets through separate resources, so the check looks in the bucket's stack
for the resources whose `bucket` names it (`${aws_s3_bucket.<name>.id|bucket}` or its literal
name), and also accepts the legacy inline arguments of aws_s3_bucket:

- aws_s3_bucket_public_access_block with all four flags true;
- default encryption (aws_s3_bucket_server_side_encryption_configuration, or inline
  `server_side_encryption_configuration`) with sse_algorithm aws:kms, aws:kms:dsse or AES256;
- a bucket policy (aws_s3_bucket_policy, or inline `policy`) with a Deny statement for every
  principal, action `s3:*`, condition `aws:SecureTransport` false, on the bucket and its objects;
- an enabled lifecycle rule (aws_s3_bucket_lifecycle_configuration or inline `lifecycle_rule`).

Limits: resources in another stack or module, or policies attached by name from outside
Terraform, are not seen (the bucket then fails). S3 encrypts new objects with SSE-S3 even without
configuration since 2023; the rule still asks for the configuration to be explicit.
"""

from __future__ import annotations

import json
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from fd_common import StackAwareCheck, first, is_false, is_true, ref, stack_resources, strings

PUBLIC_ACCESS_FLAGS = (
    "block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets",
)  # fmt: skip
SSE_ALGORITHMS = frozenset({"aws:kms", "aws:kms:dsse", "AES256"})


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [] if value is None else [value]


def encrypts(rules: Any) -> bool:
    for rule in as_list(rules):
        for default in as_list(rule.get("apply_server_side_encryption_by_default")):
            if isinstance(default, dict) and default.get("sse_algorithm") in SSE_ALGORITHMS:
                return True
    return False


def denies_insecure_transport(policy: Any, bucket_arn: str) -> bool:
    try:
        document = json.loads(policy) if isinstance(policy, str) else policy
    except ValueError:
        return False
    if not isinstance(document, dict):
        return False
    for statement in as_list(document.get("Statement")):
        if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
            continue
        principal = statement.get("Principal")
        everyone = principal == "*" or (
            isinstance(principal, dict) and "*" in as_list(principal.get("AWS"))
        )
        secure = (statement.get("Condition") or {}).get("Bool", {}).get("aws:SecureTransport")
        resources = set(as_list(statement.get("Resource")))
        if (
            everyone
            and "s3:*" in as_list(statement.get("Action"))
            and any(is_false(value) for value in as_list(secure))
            and {bucket_arn, f"{bucket_arn}/*"} <= resources
        ):
            return True
    return False


class S3BucketBaseline(StackAwareCheck):
    def __init__(self) -> None:
        super().__init__(
            name="S3 buckets block public access, are encrypted by default, deny non-TLS "
            "requests in their policy and have an enabled lifecycle rule",
            id="CKV_FD_8",
            categories=[CheckCategories.GENERAL_SECURITY],
            supported_resources=["aws_s3_bucket"],
        )

    def scan_resource_conf(self, conf):  # type: ignore[no-untyped-def]
        self.evaluated_keys = ["bucket"]
        stack = self.stack()
        if stack is None:
            return self.unverifiable()
        names = {self.own_ref("id"), self.own_ref("bucket")}
        literal = first(conf, "bucket")
        if isinstance(literal, str) and "${" not in literal:
            names.add(literal)

        def companions(resource_type: str) -> list[dict]:
            return [
                body
                for _, _, body in stack_resources(stack, resource_type)
                if body.get("bucket") in names
            ]

        arn = ref("aws_s3_bucket", self.entity_name, "arn")
        public_blocked = any(
            all(is_true(block.get(flag)) for flag in PUBLIC_ACCESS_FLAGS)
            for block in companions("aws_s3_bucket_public_access_block")
        )
        inline_sse = first(conf, "server_side_encryption_configuration") or {}
        encrypted = any(
            encrypts(c.get("rule"))
            for c in companions("aws_s3_bucket_server_side_encryption_configuration")
        ) or (isinstance(inline_sse, dict) and self._inline_encrypts(inline_sse))
        policies = [p.get("policy") for p in companions("aws_s3_bucket_policy")]
        policies += list(strings(conf.get("policy")))
        tls_only = any(denies_insecure_transport(policy, arn) for policy in policies)
        lifecycle = any(
            rule.get("status") == "Enabled"
            for c in companions("aws_s3_bucket_lifecycle_configuration")
            for rule in as_list(c.get("rule"))
            if isinstance(rule, dict)
        ) or any(is_true(first(rule, "enabled")) for rule in as_list(conf.get("lifecycle_rule")))

        for ok, problem in (
            (public_blocked, "no public access block with all four flags true"),
            (encrypted, "no default encryption configuration"),
            (tls_only, "no bucket policy denying requests without aws:SecureTransport"),
            (lifecycle, "no enabled lifecycle rule"),
        ):
            if not ok:
                self.details.append(problem)
        return CheckResult.FAILED if self.details else CheckResult.PASSED

    @staticmethod
    def _inline_encrypts(inline: dict) -> bool:
        for rule in as_list(inline.get("rule")):
            for default in as_list(rule.get("apply_server_side_encryption_by_default")):
                if isinstance(default, dict) and first(default, "sse_algorithm") in SSE_ALGORITHMS:
                    return True
        return False


check = S3BucketBaseline()
