"""VPC flow logs (all traffic) delivered to an encrypted S3 bucket that expires them."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.flow_log import FlowLog
from constructs import Construct

from infra.log_bucket import LogBucket, LogBucketProps
from infra.naming import Naming
from infra.policy_document import statement


@dataclass(frozen=True)
class FlowLogsProps:
    naming: Naming
    account_id: str
    region: str
    vpc_id: str
    kms_key_arn: str
    expiry_days: int
    """Flow log objects are deleted this many days after delivery (the brief: 90)."""
    traffic_type: str = "ALL"
    """Left out, accepted and rejected traffic are both logged (an audit needs both)."""


class FlowLogs(Construct):
    def __init__(self, scope: Construct, id: str, props: FlowLogsProps) -> None:
        super().__init__(scope, id)
        bucket_name = f"{props.naming.name('flow-logs')}-{props.account_id}"
        bucket_arn = f"arn:aws:s3:::{bucket_name}"
        source = {
            "StringEquals": {"aws:SourceAccount": props.account_id},
            "ArnLike": {"aws:SourceArn": f"arn:aws:logs:{props.region}:{props.account_id}:*"},
        }
        delivery = {"Service": "delivery.logs.amazonaws.com"}
        self.bucket = LogBucket(
            self,
            "bucket",
            LogBucketProps(
                bucket_name=bucket_name,
                expiry_days=props.expiry_days,
                kms_key_arn=props.kms_key_arn,
                writer_statements=(
                    statement(
                        "LogDeliveryWrite",
                        ["s3:PutObject"],
                        [f"{bucket_arn}/AWSLogs/{props.account_id}/*"],
                        principal=delivery,
                        condition=source,
                    ),
                    statement(
                        "LogDeliveryCheck",
                        ["s3:GetBucketAcl", "s3:ListBucket"],
                        [bucket_arn],
                        principal=delivery,
                        condition=source,
                    ),
                ),
            ),
        )
        self.flow_log = FlowLog(
            self,
            "flow-log",
            vpc_id=props.vpc_id,
            traffic_type=props.traffic_type,
            log_destination_type="s3",
            log_destination=self.bucket.bucket.arn,
            max_aggregation_interval=60,
            tags=props.naming.tags("flow-log"),
        )
