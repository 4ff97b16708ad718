"""What Terraform's AWS provider (5.100.0) calls per resource type: reads (plan), writes
(create, update, delete, tag: apply), and the ARNs the writes touch. One row per resource type
(`data.<type>`, `ephemeral.<type>` for the others); a stack type without a row fails
`gitops roles` naming it, types built into Terraform (`terraform_data`) too: their rows grant
nothing, and say so. Writes are held to `fraud-` names where the ARN carries a name, else
to the account and region; policy_sentry decides which actions can only take `*`. Rows were
checked against the emulator's action log of a plan, deploy, re-plan and destroy."""

from __future__ import annotations

from dataclasses import dataclass

from gitops.bootstrap.permission_groups import (
    API_GATEWAY,
    API_GATEWAY_READ,
    API_GATEWAY_WRITE,
    AUTOSCALING,
    BUCKETS,
    EC2,
    EC2_TAGS,
    ELB_TAGS,
    KMS_KEYS,
    LOAD_BALANCING,
    LOG_GROUPS,
    RDS,
    RDS_TAGS,
    ROLES,
    SECURITY_GROUP_RULES,
    WAF,
)


@dataclass(frozen=True)
class Permissions:
    """The permissions one resource type needs: reads for both roles, writes for apply only."""

    read: tuple[str, ...]
    write: tuple[str, ...] = ()
    arns: tuple[str, ...] = ()
    """ARNs the write actions are scoped to; empty only for types with no writes."""
    read_arns: tuple[str, ...] = ("*",)
    """ARNs the read actions are scoped to (`*`: the service's Describe/List have no ARN form)."""


ROLE_REMOVALS = frozenset({"iam:DeleteRole", "iam:DeleteRolePolicy", "iam:DetachRolePolicy"})
"""What a deploy does to a role the code no longer has: it can grant nothing."""

ONLY_FOR_AWS_SERVICES = {"kms:CreateGrant": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}
"""Writes the apply role needs only so that an AWS service can act for it: RDS and Secrets
Manager create grants on the stack's keys as the cluster is made. A grant the role asks for
itself (to itself, or to another account's principal) is refused."""

# fmt: off

TABLE: dict[str, Permissions] = {
    # --- network ---
    "aws_vpc": Permissions(
        read=("ec2:DescribeVpcs", "ec2:DescribeVpcAttribute", "ec2:DescribeNetworkAcls",
              "ec2:DescribeRouteTables", "ec2:DescribeSecurityGroups"),
        write=("ec2:CreateVpc", "ec2:DeleteVpc", "ec2:ModifyVpcAttribute", *EC2_TAGS),
        arns=EC2),
    "aws_subnet": Permissions(
        read=("ec2:DescribeSubnets",),
        write=("ec2:CreateSubnet", "ec2:DeleteSubnet", "ec2:ModifySubnetAttribute", *EC2_TAGS),
        arns=EC2),
    "aws_internet_gateway": Permissions(
        read=("ec2:DescribeInternetGateways",),
        write=("ec2:CreateInternetGateway", "ec2:AttachInternetGateway",
               "ec2:DetachInternetGateway", "ec2:DeleteInternetGateway", *EC2_TAGS),
        arns=EC2),
    "aws_eip": Permissions(
        read=("ec2:DescribeAddresses", "ec2:DescribeAddressesAttribute"),
        write=("ec2:AllocateAddress", "ec2:ReleaseAddress", "ec2:DisassociateAddress", *EC2_TAGS),
        arns=EC2),
    "aws_nat_gateway": Permissions(
        read=("ec2:DescribeNatGateways",),
        write=("ec2:CreateNatGateway", "ec2:DeleteNatGateway", *EC2_TAGS),
        arns=EC2),
    "aws_route_table": Permissions(
        read=("ec2:DescribeRouteTables",),
        write=("ec2:CreateRouteTable", "ec2:DeleteRouteTable", *EC2_TAGS),
        arns=EC2),
    "aws_route": Permissions(
        read=("ec2:DescribeRouteTables",),
        write=("ec2:CreateRoute", "ec2:ReplaceRoute", "ec2:DeleteRoute"),
        arns=EC2),
    "aws_route_table_association": Permissions(
        read=("ec2:DescribeRouteTables",),
        write=("ec2:AssociateRouteTable", "ec2:DisassociateRouteTable",
               "ec2:ReplaceRouteTableAssociation"),
        arns=EC2),
    "aws_security_group": Permissions(
        read=("ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules",
              "ec2:DescribeNetworkInterfaces"),
        write=("ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup", *SECURITY_GROUP_RULES,
               *EC2_TAGS),
        arns=EC2),
    "aws_default_security_group": Permissions(
        read=("ec2:DescribeSecurityGroups",),
        write=(*SECURITY_GROUP_RULES, *EC2_TAGS),
        arns=EC2),
    "aws_vpc_security_group_ingress_rule": Permissions(
        read=("ec2:DescribeSecurityGroupRules",),
        write=(*SECURITY_GROUP_RULES, *EC2_TAGS),
        arns=EC2),
    "aws_vpc_security_group_egress_rule": Permissions(
        read=("ec2:DescribeSecurityGroupRules",),
        write=(*SECURITY_GROUP_RULES, *EC2_TAGS),
        arns=EC2),
    "aws_vpc_endpoint": Permissions(
        read=("ec2:DescribeVpcEndpoints", "ec2:DescribePrefixLists"),
        # Private DNS associates an AWS-managed hosted zone with the VPC (AWS PrivateLink docs).
        write=("ec2:CreateVpcEndpoint", "ec2:ModifyVpcEndpoint", "ec2:DeleteVpcEndpoints",
               "route53:AssociateVPCWithHostedZone", *EC2_TAGS),
        arns=(*EC2, "arn:aws:route53:::hostedzone/*")),
    "aws_flow_log": Permissions(
        read=("ec2:DescribeFlowLogs",),
        write=("ec2:CreateFlowLogs", "ec2:DeleteFlowLogs", *EC2_TAGS),
        arns=EC2),
    "data.aws_availability_zones": Permissions(read=("ec2:DescribeAvailabilityZones",)),
    # --- storage: log buckets (the state bucket is bootstrap's, never the stack's) ---
    "aws_s3_bucket": Permissions(
        read=("s3:ListBucket", "s3:GetBucketAcl", "s3:GetBucketCORS", "s3:GetBucketWebsite",
              "s3:GetBucketVersioning", "s3:GetAccelerateConfiguration",
              "s3:GetBucketRequestPayment", "s3:GetBucketLogging", "s3:GetLifecycleConfiguration",
              "s3:GetReplicationConfiguration", "s3:GetEncryptionConfiguration",
              "s3:GetBucketObjectLockConfiguration", "s3:GetBucketTagging", "s3:GetBucketPolicy"),
        write=("s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucketTagging"),
        arns=BUCKETS,
        read_arns=BUCKETS),
    "aws_s3_bucket_policy": Permissions(
        read=("s3:GetBucketPolicy",),
        write=("s3:PutBucketPolicy", "s3:DeleteBucketPolicy"),
        arns=BUCKETS,
        read_arns=BUCKETS),
    "aws_s3_bucket_public_access_block": Permissions(
        read=("s3:GetBucketPublicAccessBlock",),
        write=("s3:PutBucketPublicAccessBlock",),
        arns=BUCKETS,
        read_arns=BUCKETS),
    "aws_s3_bucket_ownership_controls": Permissions(
        read=("s3:GetBucketOwnershipControls",),
        write=("s3:PutBucketOwnershipControls",),
        arns=BUCKETS,
        read_arns=BUCKETS),
    "aws_s3_bucket_versioning": Permissions(
        read=("s3:GetBucketVersioning",),
        write=("s3:PutBucketVersioning",),
        arns=BUCKETS,
        read_arns=BUCKETS),
    "aws_s3_bucket_server_side_encryption_configuration": Permissions(
        read=("s3:GetEncryptionConfiguration",),
        write=("s3:PutEncryptionConfiguration",),
        arns=BUCKETS,
        read_arns=BUCKETS),
    "aws_s3_bucket_lifecycle_configuration": Permissions(
        read=("s3:GetLifecycleConfiguration",),
        write=("s3:PutLifecycleConfiguration",),
        arns=BUCKETS,
        read_arns=BUCKETS),
    "aws_s3_bucket_notification": Permissions(
        read=("s3:GetBucketNotification",),
        write=("s3:PutBucketNotification",),
        arns=BUCKETS,
        read_arns=BUCKETS),
    # --- encryption ---
    "aws_kms_key": Permissions(
        read=("kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus",
              "kms:ListResourceTags"),
        write=("kms:CreateKey", "kms:PutKeyPolicy", "kms:EnableKeyRotation",
               "kms:DisableKeyRotation", "kms:ScheduleKeyDeletion", "kms:UpdateKeyDescription",
               "kms:TagResource", "kms:UntagResource"),
        arns=KMS_KEYS),
    "aws_kms_alias": Permissions(
        read=("kms:ListAliases",),
        write=("kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"),
        arns=("arn:aws:kms:{region}:{account}:alias/fraud-*", *KMS_KEYS)),
    # --- IAM: the stack's service roles (boundary and names enforced in roles.py) ---
    "aws_iam_role": Permissions(
        read=("iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies",
              "iam:ListInstanceProfilesForRole"),
        write=("iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy",
               "iam:TagRole", "iam:UntagRole", "iam:PutRolePermissionsBoundary"),
        arns=ROLES,
        read_arns=ROLES),
    "aws_iam_role_policy": Permissions(
        read=("iam:GetRolePolicy",),
        write=("iam:PutRolePolicy", "iam:DeleteRolePolicy"),
        arns=ROLES,
        read_arns=ROLES),
    "aws_iam_role_policy_attachment": Permissions(
        read=("iam:ListAttachedRolePolicies",),
        write=("iam:AttachRolePolicy", "iam:DetachRolePolicy"),
        arns=ROLES,
        read_arns=ROLES),
}
TABLE.update({
    # --- logs, registry, compute ---
    "aws_cloudwatch_log_group": Permissions(
        read=("logs:DescribeLogGroups", "logs:ListTagsForResource"),
        write=("logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy",
               "logs:DeleteRetentionPolicy", "logs:AssociateKmsKey", "logs:DisassociateKmsKey",
               "logs:TagResource", "logs:UntagResource"),
        arns=LOG_GROUPS),
    "aws_ecr_repository": Permissions(
        read=("ecr:DescribeRepositories", "ecr:ListTagsForResource"),
        write=("ecr:CreateRepository", "ecr:DeleteRepository", "ecr:PutImageScanningConfiguration",
               "ecr:PutImageTagMutability", "ecr:TagResource", "ecr:UntagResource"),
        arns=("arn:aws:ecr:{region}:{account}:repository/fraud-*",)),
    "aws_ecr_pull_through_cache_rule": Permissions(
        read=("ecr:DescribePullThroughCacheRules",),
        write=("ecr:CreatePullThroughCacheRule", "ecr:DeletePullThroughCacheRule"),
        arns=("arn:aws:ecr:{region}:{account}:repository/fraud-*",)),
    "aws_ecr_lifecycle_policy": Permissions(
        read=("ecr:GetLifecyclePolicy",),
        write=("ecr:PutLifecyclePolicy", "ecr:DeleteLifecyclePolicy"),
        arns=("arn:aws:ecr:{region}:{account}:repository/fraud-*",)),
    "aws_ecs_cluster": Permissions(
        read=("ecs:DescribeClusters", "ecs:ListTagsForResource"),
        write=("ecs:CreateCluster", "ecs:DeleteCluster", "ecs:UpdateCluster", "ecs:TagResource",
               "ecs:UntagResource"),
        arns=("arn:aws:ecs:{region}:{account}:cluster/fraud-*",)),
    "aws_ecs_task_definition": Permissions(
        read=("ecs:DescribeTaskDefinition",),
        write=("ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition", "ecs:TagResource",
               "ecs:UntagResource"),
        arns=("arn:aws:ecs:{region}:{account}:task-definition/fraud-*",)),
    "aws_ecs_service": Permissions(
        read=("ecs:DescribeServices", "ecs:ListTagsForResource"),
        write=("ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService", "ecs:TagResource",
               "ecs:UntagResource"),
        arns=("arn:aws:ecs:{region}:{account}:service/fraud-*",)),
    "aws_appautoscaling_target": Permissions(
        read=("application-autoscaling:DescribeScalableTargets",
              "application-autoscaling:ListTagsForResource"),
        write=("application-autoscaling:RegisterScalableTarget",
               "application-autoscaling:DeregisterScalableTarget",
               "application-autoscaling:TagResource", "application-autoscaling:UntagResource"),
        arns=AUTOSCALING),
    "aws_appautoscaling_policy": Permissions(
        read=("application-autoscaling:DescribeScalingPolicies",),
        write=("application-autoscaling:PutScalingPolicy",
               "application-autoscaling:DeleteScalingPolicy"),
        arns=AUTOSCALING),
    # --- load balancing ---
    "aws_lb": Permissions(
        read=("elasticloadbalancing:DescribeLoadBalancers",
              "elasticloadbalancing:DescribeLoadBalancerAttributes",
              "elasticloadbalancing:DescribeCapacityReservation",
              "elasticloadbalancing:DescribeTags"),
        write=("elasticloadbalancing:CreateLoadBalancer",
               "elasticloadbalancing:DeleteLoadBalancer",
               "elasticloadbalancing:ModifyLoadBalancerAttributes",
               "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
               *ELB_TAGS),
        arns=LOAD_BALANCING),
    "aws_lb_target_group": Permissions(
        read=("elasticloadbalancing:DescribeTargetGroups",
              "elasticloadbalancing:DescribeTargetGroupAttributes",
              "elasticloadbalancing:DescribeTags"),
        write=("elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:DeleteTargetGroup",
               "elasticloadbalancing:ModifyTargetGroup",
               "elasticloadbalancing:ModifyTargetGroupAttributes", *ELB_TAGS),
        arns=LOAD_BALANCING),
    "aws_lb_listener": Permissions(
        read=("elasticloadbalancing:DescribeListeners",
              "elasticloadbalancing:DescribeListenerAttributes",
              "elasticloadbalancing:DescribeTags"),
        write=("elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
               "elasticloadbalancing:ModifyListener",
               "elasticloadbalancing:ModifyListenerAttributes", *ELB_TAGS),
        arns=LOAD_BALANCING),
    "data.aws_elb_service_account": Permissions(read=()),
    "data.aws_acm_certificate": Permissions(
        read=("acm:ListCertificates", "acm:DescribeCertificate", "acm:GetCertificate",
              "acm:ListTagsForCertificate")),
    # --- database ---
    "aws_db_subnet_group": Permissions(
        read=("rds:DescribeDBSubnetGroups", "rds:ListTagsForResource"),
        write=("rds:CreateDBSubnetGroup", "rds:ModifyDBSubnetGroup", "rds:DeleteDBSubnetGroup",
               *RDS_TAGS),
        arns=RDS),
    "aws_rds_cluster_parameter_group": Permissions(
        read=("rds:DescribeDBClusterParameterGroups", "rds:DescribeDBClusterParameters",
              "rds:ListTagsForResource"),
        write=("rds:CreateDBClusterParameterGroup", "rds:ModifyDBClusterParameterGroup",
               "rds:ResetDBClusterParameterGroup", "rds:DeleteDBClusterParameterGroup", *RDS_TAGS),
        arns=RDS),
    "aws_rds_cluster": Permissions(
        read=("rds:DescribeDBClusters", "rds:DescribeGlobalClusters", "rds:ListTagsForResource"),
        write=("rds:CreateDBCluster", "rds:ModifyDBCluster", "rds:DeleteDBCluster", *RDS_TAGS,
               "secretsmanager:CreateSecret", "secretsmanager:TagResource", "kms:CreateGrant",
               "kms:DescribeKey"),
        arns=(*RDS, "arn:aws:secretsmanager:{region}:{account}:secret:rds!cluster-*", *KMS_KEYS)),
    "aws_rds_cluster_instance": Permissions(
        read=("rds:DescribeDBInstances", "rds:ListTagsForResource"),
        write=("rds:CreateDBInstance", "rds:ModifyDBInstance", "rds:DeleteDBInstance", *RDS_TAGS),
        arns=RDS),
    "aws_secretsmanager_secret_rotation": Permissions(
        read=("secretsmanager:DescribeSecret",),
        write=("secretsmanager:RotateSecret", "secretsmanager:CancelRotateSecret"),
        arns=("arn:aws:secretsmanager:{region}:{account}:secret:rds!cluster-*",)),
    # --- API ---
    **dict.fromkeys(
        ("aws_api_gateway_rest_api", "aws_api_gateway_resource", "aws_api_gateway_method",
         "aws_api_gateway_integration", "aws_api_gateway_request_validator",
         "aws_api_gateway_deployment", "aws_api_gateway_stage",
         "aws_api_gateway_method_settings", "aws_api_gateway_usage_plan",
         "aws_api_gateway_usage_plan_key", "aws_api_gateway_api_key",
         "aws_api_gateway_account"),
        Permissions(read=API_GATEWAY_READ, write=API_GATEWAY_WRITE, arns=API_GATEWAY),
    ),
    # --- edge protection, tracing, monitoring ---
    "aws_wafv2_web_acl": Permissions(
        read=("wafv2:GetWebACL", "wafv2:ListTagsForResource"),
        write=("wafv2:CreateWebACL", "wafv2:UpdateWebACL", "wafv2:DeleteWebACL",
               "wafv2:TagResource", "wafv2:UntagResource"),
        arns=WAF),
    "aws_wafv2_web_acl_association": Permissions(
        read=("wafv2:GetWebACLForResource",),
        write=("wafv2:AssociateWebACL", "wafv2:DisassociateWebACL",
               "elasticloadbalancing:SetWebAcl", "apigateway:SetWebACL"),
        arns=(*WAF, *LOAD_BALANCING, *API_GATEWAY)),
    "aws_wafv2_web_acl_logging_configuration": Permissions(
        read=("wafv2:GetLoggingConfiguration",),
        write=("wafv2:PutLoggingConfiguration", "wafv2:DeleteLoggingConfiguration",
               "logs:CreateLogDelivery", "logs:DeleteLogDelivery", "logs:PutResourcePolicy",
               "logs:DescribeResourcePolicies"),
        arns=(*WAF, *LOG_GROUPS)),
    "aws_xray_sampling_rule": Permissions(
        read=("xray:GetSamplingRules", "xray:ListTagsForResource"),
        write=("xray:CreateSamplingRule", "xray:UpdateSamplingRule", "xray:DeleteSamplingRule",
               "xray:TagResource", "xray:UntagResource"),
        arns=("arn:aws:xray:{region}:{account}:sampling-rule/fraud-*",)),
    "aws_cloudwatch_dashboard": Permissions(
        read=("cloudwatch:GetDashboard",),
        write=("cloudwatch:PutDashboard", "cloudwatch:DeleteDashboards"),
        arns=("arn:aws:cloudwatch::{account}:dashboard/fraud-*",)),
    "aws_cloudwatch_metric_alarm": Permissions(
        read=("cloudwatch:DescribeAlarms", "cloudwatch:ListTagsForResource"),
        write=("cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms", "cloudwatch:TagResource",
               "cloudwatch:UntagResource"),
        arns=("arn:aws:cloudwatch:{region}:{account}:alarm:fraud-*",)),
    "aws_sns_topic": Permissions(
        read=("sns:GetTopicAttributes", "sns:ListTagsForResource"),
        write=("sns:CreateTopic", "sns:DeleteTopic", "sns:SetTopicAttributes", "sns:TagResource",
               "sns:UntagResource"),
        arns=("arn:aws:sns:{region}:{account}:fraud-*",)),
    "aws_sns_topic_policy": Permissions(
        read=("sns:GetTopicAttributes",),
        write=("sns:SetTopicAttributes",),
        arns=("arn:aws:sns:{region}:{account}:fraud-*",)),
    "aws_sns_topic_subscription": Permissions(
        read=("sns:GetSubscriptionAttributes",),
        write=("sns:Subscribe", "sns:Unsubscribe", "sns:SetSubscriptionAttributes"),
        arns=("arn:aws:sns:{region}:{account}:fraud-*",)),
})  # fmt: skip
TABLE.update({
    # --- blue/green releases (CodeDeploy) ---
    "aws_codedeploy_app": Permissions(
        read=("codedeploy:GetApplication", "codedeploy:ListTagsForResource"),
        write=("codedeploy:CreateApplication", "codedeploy:DeleteApplication",
               "codedeploy:TagResource", "codedeploy:UntagResource"),
        arns=("arn:aws:codedeploy:{region}:{account}:application:fraud-*",)),
    "aws_codedeploy_deployment_config": Permissions(
        read=("codedeploy:GetDeploymentConfig",),
        write=("codedeploy:CreateDeploymentConfig", "codedeploy:DeleteDeploymentConfig"),
        arns=("arn:aws:codedeploy:{region}:{account}:deploymentconfig:fraud-*",)),
    "aws_codedeploy_deployment_group": Permissions(
        read=("codedeploy:GetDeploymentGroup", "codedeploy:ListTagsForResource"),
        write=("codedeploy:CreateDeploymentGroup", "codedeploy:UpdateDeploymentGroup",
               "codedeploy:DeleteDeploymentGroup", "codedeploy:TagResource",
               "codedeploy:UntagResource"),
        arns=("arn:aws:codedeploy:{region}:{account}:deploymentgroup:fraud-*/*",)),
    # --- the origin-verification secret (the ALB's web ACL checks API Gateway's header) ---
    "aws_wafv2_ip_set": Permissions(
        read=("wafv2:GetIPSet", "wafv2:ListTagsForResource"),
        write=("wafv2:CreateIPSet", "wafv2:UpdateIPSet", "wafv2:DeleteIPSet", "wafv2:TagResource",
               "wafv2:UntagResource"),
        arns=("arn:aws:wafv2:{region}:{account}:regional/ipset/fraud-*/*",)),
})
TABLE.update({
    # --- built into Terraform: no provider, no AWS call ---
    "terraform_data": Permissions(read=()),  # the origin-verification values and their markers
})
# fmt: on
