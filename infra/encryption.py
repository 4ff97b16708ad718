"""Customer-managed KMS keys: one for data at rest, one for telemetry (logs, alarms)."""

from __future__ import annotations

from dataclasses import dataclass

from cdktf_cdktf_provider_aws.kms_alias import KmsAlias
from cdktf_cdktf_provider_aws.kms_key import KmsKey
from constructs import Construct

from infra.naming import Naming
from infra.policy_document import document, statement

KEY_DELETION_WINDOW_DAYS = 30


@dataclass(frozen=True)
class EncryptionProps:
    naming: Naming
    account_id: str
    region: str


class EncryptionKeys(Construct):
    """Two rotating keys. Each key policy names the AWS services that may use it, no more.

    - `data`: Aurora storage, Performance Insights, the database secret, ECR images.
    - `telemetry`: CloudWatch log groups, the flow-log bucket, WAF logs, the alarm topic.
    """

    def __init__(self, scope: Construct, id: str, props: EncryptionProps) -> None:
        super().__init__(scope, id)
        root = f"arn:aws:iam::{props.account_id}:root"
        account_admin = statement("AccountAdministersKey", ["kms:*"], "*", principal={"AWS": root})
        self.data = KmsKey(
            self,
            "data",
            description=f"Data at rest of {props.naming.name('data')}",
            enable_key_rotation=True,
            deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
            policy=document(account_admin),
            tags=props.naming.tags("data"),
        )
        KmsAlias(
            self,
            "data-alias",
            name=f"alias/{props.naming.name('data')}",
            target_key_id=self.data.key_id,
        )

        use = [
            "kms:Encrypt*",
            "kms:Decrypt*",
            "kms:ReEncrypt*",
            "kms:GenerateDataKey*",
            "kms:Describe*",
        ]
        self.telemetry = KmsKey(
            self,
            "telemetry",
            description=f"Logs and alarms of {props.naming.name('telemetry')}",
            enable_key_rotation=True,
            deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
            policy=document(
                account_admin,
                statement(
                    "CloudWatchLogsEncryptsThisAccountsLogGroups",
                    use,
                    "*",
                    principal={"Service": f"logs.{props.region}.amazonaws.com"},
                    condition={
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": (
                                f"arn:aws:logs:{props.region}:{props.account_id}:log-group:*"
                            )
                        }
                    },
                ),
                statement(
                    "LogDeliveryWritesFlowLogsAndWafLogs",
                    ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
                    "*",
                    principal={"Service": "delivery.logs.amazonaws.com"},
                    condition={"StringEquals": {"aws:SourceAccount": props.account_id}},
                ),
                statement(
                    "CloudWatchAlarmsPublishToTheEncryptedTopic",
                    ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "*",
                    principal={"Service": "cloudwatch.amazonaws.com"},
                    condition={"StringEquals": {"aws:SourceAccount": props.account_id}},
                ),
            ),
            tags=props.naming.tags("telemetry"),
        )
        KmsAlias(
            self,
            "telemetry-alias",
            name=f"alias/{props.naming.name('telemetry')}",
            target_key_id=self.telemetry.key_id,
        )
