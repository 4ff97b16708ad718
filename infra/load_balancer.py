"""Public Application Load Balancer: TLS 1.2+ on 443, 80 redirects, blue/green target groups.

`fraud-tg-blue-<env>` is active and `fraud-tg-green-<env>` on standby: the HTTPS listener
forwards by weight (100/0), so a cut-over is a reviewed change of two numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf_cdktf_provider_aws.data_aws_acm_certificate import DataAwsAcmCertificate
from cdktf_cdktf_provider_aws.data_aws_elb_service_account import DataAwsElbServiceAccount
from cdktf_cdktf_provider_aws.lb import Lb, LbAccessLogs
from cdktf_cdktf_provider_aws.lb_listener import (
    LbListener,
    LbListenerDefaultAction,
    LbListenerDefaultActionForward,
    LbListenerDefaultActionForwardTargetGroup,
    LbListenerDefaultActionRedirect,
)
from cdktf_cdktf_provider_aws.lb_target_group import LbTargetGroup, LbTargetGroupHealthCheck
from constructs import Construct

from infra.log_bucket import LogBucket, LogBucketProps
from infra.naming import ELB_NAME_LIMIT, Naming
from infra.policy_document import statement

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
"""TLS 1.3 and 1.2 only, forward-secret ciphers."""
ACCESS_LOG_PREFIX = "alb"
DEREGISTRATION_DELAY_SECONDS = 30
NAME_LIMIT = ELB_NAME_LIMIT


@dataclass(frozen=True)
class LoadBalancerProps:
    naming: Naming
    account_id: str
    vpc_id: str
    subnet_ids: Sequence[str]
    """Public subnets, one per AZ."""
    security_group_id: str
    domain_name: str
    """The HTTPS listener presents the newest ISSUED ACM certificate for this domain."""
    target_port: int
    health_check_path: str
    access_log_expiry_days: int
    deletion_protection: bool = True
    """Left out, the load balancer refuses deletion; dev files turn it off."""
    active_color: str = "blue"
    """Which target group takes the traffic; the other stands by for the next release."""

    def __post_init__(self) -> None:
        if self.active_color not in ("blue", "green"):
            raise ValueError(
                f"LoadBalancerProps.active_color {self.active_color!r}: use 'blue' or 'green'"
            )


class LoadBalancer(Construct):
    def __init__(self, scope: Construct, id: str, props: LoadBalancerProps) -> None:
        super().__init__(scope, id)
        naming = props.naming
        bucket_name = f"{naming.name('alb-logs')}-{props.account_id}"
        log_objects = f"arn:aws:s3:::{bucket_name}/{ACCESS_LOG_PREFIX}/AWSLogs/{props.account_id}/*"
        elb_account = DataAwsElbServiceAccount(self, "elb-account")
        self.access_logs = LogBucket(
            self,
            "access-logs",
            LogBucketProps(
                bucket_name=bucket_name,
                expiry_days=props.access_log_expiry_days,
                kms_key_arn=None,  # ALB access logs can only be written with SSE-S3
                writer_statements=(
                    statement(
                        "ElbWritesAccessLogs",
                        ["s3:PutObject"],
                        [log_objects],
                        principal={"AWS": elb_account.arn},
                    ),
                ),
            ),
        )
        self.load_balancer = Lb(
            self,
            "alb",
            name=naming.load_balancer(),
            load_balancer_type="application",
            internal=False,
            security_groups=[props.security_group_id],
            subnets=list(props.subnet_ids),
            drop_invalid_header_fields=True,
            desync_mitigation_mode="strictest",
            enable_deletion_protection=props.deletion_protection,
            access_logs=LbAccessLogs(
                bucket=self.access_logs.bucket.id, prefix=ACCESS_LOG_PREFIX, enabled=True
            ),
            tags=naming.tags("alb"),
            # The load balancer checks at creation that it may write its access logs, so it
            # waits for the bucket policy that allows it.
            depends_on=[self.access_logs.policy],
        )
        self.target_groups = {
            color: LbTargetGroup(
                self,
                f"tg-{color}",
                name=naming.bounded(NAME_LIMIT, "tg", color),
                vpc_id=props.vpc_id,
                target_type="ip",
                port=props.target_port,
                protocol="HTTP",
                deregistration_delay=str(DEREGISTRATION_DELAY_SECONDS),
                health_check=LbTargetGroupHealthCheck(
                    enabled=True,
                    path=props.health_check_path,
                    matcher="200",
                    interval=15,
                    healthy_threshold=2,
                    unhealthy_threshold=3,
                ),
                tags={
                    **naming.tags("tg", color),
                    "Role": "active" if color == props.active_color else "standby",
                },
            )
            for color in ("blue", "green")
        }
        self.active_target_group = self.target_groups[props.active_color]
        self.certificate = certificate = DataAwsAcmCertificate(
            self, "certificate", domain=props.domain_name, statuses=["ISSUED"], most_recent=True
        )
        self.https_listener = LbListener(
            self,
            "https",
            load_balancer_arn=self.load_balancer.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=TLS_POLICY,
            certificate_arn=certificate.arn,
            default_action=[
                LbListenerDefaultAction(
                    type="forward",
                    forward=LbListenerDefaultActionForward(
                        target_group=[
                            LbListenerDefaultActionForwardTargetGroup(
                                arn=group.arn, weight=100 if color == props.active_color else 0
                            )
                            for color, group in self.target_groups.items()
                        ]
                    ),
                )
            ],
            tags=naming.tags("https"),
        )
        LbListener(
            self,
            "http-redirect",
            load_balancer_arn=self.load_balancer.arn,
            port=80,
            protocol="HTTP",
            default_action=[
                LbListenerDefaultAction(
                    type="redirect",
                    redirect=LbListenerDefaultActionRedirect(
                        protocol="HTTPS", port="443", status_code="HTTP_301"
                    ),
                )
            ],
            tags=naming.tags("http"),
        )
