"""A second region of an environment, in the same account: `prod-eu` is prod's file in
eu-west-1. Names global to an account (IAM, S3) must not collide with prod's, and every name
with a short limit must still fit for the longest environment name the schema allows."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.environments import load_environments
from tests.helpers import environments_with_prod_eu

GLOBAL_NAME_FIELDS = {
    "aws_iam_role": ("name", "name_prefix"),
    "aws_iam_policy": ("name", "name_prefix"),
    "aws_iam_instance_profile": ("name", "name_prefix"),
    "aws_iam_user": ("name",),
    "aws_iam_group": ("name",),
    "aws_s3_bucket": ("bucket", "bucket_prefix"),
}
"""Resource types whose names are unique per account (IAM) or worldwide (S3), not per region."""
SCOPED_TO_A_GLOBAL_PARENT = {
    "aws_iam_role_policy", "aws_iam_role_policy_attachment",
} | {f"aws_s3_bucket_{part}" for part in (
    "lifecycle_configuration", "notification", "ownership_controls", "policy",
    "public_access_block", "server_side_encryption_configuration", "versioning",
)}  # fmt: skip
"""Named only inside their role or bucket: unique when the parent is."""
LONGEST_NAME = "a-twenty-one-char-env"
NAME_LIMITS = {
    ("aws_lb", "name"): 32, ("aws_lb_target_group", "name"): 32,
    ("aws_xray_sampling_rule", "rule_name"): 32, ("aws_iam_role", "name"): 64,
    ("aws_s3_bucket", "bucket"): 63, ("aws_rds_cluster", "cluster_identifier"): 63,
    ("aws_rds_cluster_instance", "identifier"): 63, ("aws_db_subnet_group", "name"): 255,
    ("aws_appautoscaling_policy", "name"): 255, ("aws_wafv2_web_acl", "name"): 128,
    ("aws_ecr_repository", "name"): 256, ("aws_api_gateway_rest_api", "name"): 1024,
}  # fmt: skip


@pytest.fixture(scope="module")
def scratch_stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """prod, prod-eu and the longest allowed name, synthesized from a scratch folder."""
    from infra.app import stack_file, synthesize

    directory = environments_with_prod_eu(tmp_path_factory.mktemp("environments"))
    longest = (directory / "prod.yaml").read_text().replace("10.30.0.0/16", "10.31.0.0/16")
    (directory / f"{LONGEST_NAME}.yaml").write_text(longest)
    configs = [
        c for c in load_environments(directory=directory) if c.name.startswith(("prod", "a-"))
    ]
    outdir = tmp_path_factory.mktemp("out")
    synthesize(configs, outdir)
    return {c.name: json.loads(stack_file(outdir, c.stack_name).read_text()) for c in configs}


def global_names(stack: dict[str, Any]) -> set[tuple[str, str]]:
    names = set()
    for resource_type, resources in stack["resource"].items():
        for body in resources.values():
            for field in GLOBAL_NAME_FIELDS.get(resource_type, ()):
                if field in body:
                    names.add((resource_type, body[field]))
    return names


def test_every_iam_and_s3_resource_type_is_classified(scratch_stacks) -> None:
    types = {t for t in scratch_stacks["prod"]["resource"] if t.startswith(("aws_iam_", "aws_s3_"))}
    unclassified = types - set(GLOBAL_NAME_FIELDS) - SCOPED_TO_A_GLOBAL_PARENT
    assert unclassified == set(), "say whether its name is global, then check it below"


def test_no_global_name_of_prod_eu_collides_with_prods(scratch_stacks) -> None:
    prod, prod_eu = global_names(scratch_stacks["prod"]), global_names(scratch_stacks["prod-eu"])
    assert len({n for n in prod if n[0] == "aws_iam_role"}) >= 4, "the roles are found"
    assert len({n for n in prod if n[0] == "aws_s3_bucket"}) >= 2, "the buckets are found"
    assert len(prod_eu) == len(prod)
    assert prod & prod_eu == set()
    assert ("aws_iam_role", "fraud-api-task-prod-eu") in prod_eu


def test_every_limited_name_fits_the_longest_environment_name(scratch_stacks) -> None:
    stack = scratch_stacks[LONGEST_NAME]
    checked = 0
    for (resource_type, field), limit in NAME_LIMITS.items():
        for body in stack["resource"].get(resource_type, {}).values():
            assert len(body[field]) <= limit, f"{resource_type}.{field} {body[field]!r}"
            checked += 1
    assert checked >= len(NAME_LIMITS)
    groups = {b["name"] for b in stack["resource"]["aws_lb_target_group"].values()}
    assert len(groups) == 2 and all(name.startswith("fraud-tg-") for name in groups)


def test_names_that_fit_are_kept_as_they_are(scratch_stacks) -> None:
    """Today's names must not change: a renamed target group is a replacement in an account."""
    groups = {
        b["name"] for b in scratch_stacks["prod-eu"]["resource"]["aws_lb_target_group"].values()
    }
    assert groups == {"fraud-tg-blue-prod-eu", "fraud-tg-green-prod-eu"}
