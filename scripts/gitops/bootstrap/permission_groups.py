"""The ARN patterns and action groups several rows of the apply role's permission table share
(gitops.bootstrap.permission_table). `{region}` and `{account}` are filled per environment;
writes are held to `fraud-` names wherever the ARN carries a name."""

from __future__ import annotations

EC2 = ("arn:aws:ec2:{region}:{account}:*",)
EC2_TAGS = ("ec2:CreateTags", "ec2:DeleteTags")
SECURITY_GROUP_RULES = (
    "ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupEgress", "ec2:RevokeSecurityGroupIngress",
    "ec2:ModifySecurityGroupRules", "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
    "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
)  # fmt: skip
API_GATEWAY = ("arn:aws:apigateway:{region}::/*",)
API_GATEWAY_WRITE = ("apigateway:POST", "apigateway:PUT", "apigateway:PATCH", "apigateway:DELETE")
API_GATEWAY_READ = ("apigateway:GET",)
AUTOSCALING = ("arn:aws:application-autoscaling:{region}:{account}:scalable-target/*",)
LOG_GROUPS = (
    "arn:aws:logs:{region}:{account}:log-group:/ecs/fraud-*",
    "arn:aws:logs:{region}:{account}:log-group:/aws/apigateway/fraud-*",
    "arn:aws:logs:{region}:{account}:log-group:aws-waf-logs-fraud-*",
)
ROLES = ("arn:aws:iam::{account}:role/fraud-*",)
BUCKETS = ("arn:aws:s3:::fraud-*-logs-*-{account}",)
"""The stack's log buckets (`fraud-alb-logs-<env>-<account>`, `fraud-flow-logs-...`): never the
state bucket, whose listing the roles get only for their own key."""
LOAD_BALANCING = (
    "arn:aws:elasticloadbalancing:{region}:{account}:loadbalancer/app/fraud-*",
    "arn:aws:elasticloadbalancing:{region}:{account}:listener/app/fraud-*",
    "arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/fraud-*",
)
ELB_TAGS = ("elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags")
RDS = (
    "arn:aws:rds:{region}:{account}:cluster:fraud-*",
    "arn:aws:rds:{region}:{account}:db:fraud-*",
    "arn:aws:rds:{region}:{account}:cluster-pg:fraud-*",
    "arn:aws:rds:{region}:{account}:subgrp:fraud-*",
    "arn:aws:rds:{region}:{account}:cluster-snapshot:fraud-*",
)
RDS_TAGS = ("rds:AddTagsToResource", "rds:RemoveTagsFromResource")
KMS_KEYS = ("arn:aws:kms:{region}:{account}:key/*",)
WAF = (
    "arn:aws:wafv2:{region}:{account}:regional/webacl/fraud-*/*",
    "arn:aws:wafv2:{region}:{account}:regional/managedruleset/*/*",
)
