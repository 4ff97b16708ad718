"""CloudWatch dashboard and alarms, all alarms to one KMS-encrypted SNS topic."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from cdktf_cdktf_provider_aws.cloudwatch_dashboard import CloudwatchDashboard
from cdktf_cdktf_provider_aws.cloudwatch_metric_alarm import (
    CloudwatchMetricAlarm,
    CloudwatchMetricAlarmMetricQuery,
    CloudwatchMetricAlarmMetricQueryMetric,
)
from cdktf_cdktf_provider_aws.sns_topic import SnsTopic
from cdktf_cdktf_provider_aws.sns_topic_policy import SnsTopicPolicy
from cdktf_cdktf_provider_aws.sns_topic_subscription import SnsTopicSubscription
from constructs import Construct

from infra.naming import Naming

PERIOD_SECONDS = 60
EVALUATION_PERIODS = 3


@dataclass(frozen=True)
class MonitoringProps:
    naming: Naming
    region: str
    kms_key_arn: str
    api_name: str
    api_stage: str
    load_balancer_arn_suffix: str
    target_group_arn_suffixes: tuple[str, str]
    """Blue and green: the healthy ECS tasks are the healthy hosts of both together, since
    CodeDeploy moves the tasks from one to the other with every release."""
    cluster_name: str
    service_name: str
    db_cluster_identifier: str
    api_latency_ms: int
    min_healthy_tasks: int
    max_db_connections: int
    max_target_5xx_per_minute: int
    notification_email: str | None = None
    """Left out, the topic has no subscriber (subscribe on-call tooling outside the stack)."""


class Monitoring(Construct):
    def __init__(self, scope: Construct, id: str, props: MonitoringProps) -> None:
        super().__init__(scope, id)
        naming = self._naming = props.naming
        self.topic = SnsTopic(
            self,
            "alarms",
            name=naming.name("alarms"),
            kms_master_key_id=props.kms_key_arn,
            tags=naming.tags("alarms"),
        )
        if props.notification_email:
            SnsTopicSubscription(
                self, "email", topic_arn=self.topic.arn, protocol="email",
                endpoint=props.notification_email,
            )  # fmt: skip

        api = {"ApiName": props.api_name, "Stage": props.api_stage}
        self.alarms = {
            "api-latency": self._alarm(
                "api-latency",
                f"API latency above {props.api_latency_ms} ms",
                namespace="AWS/ApiGateway",
                metric="Latency",
                dimensions=api,
                statistic="Average",
                comparison="GreaterThanThreshold",
                threshold=props.api_latency_ms,
            ),
            "healthy-tasks": self._healthy_tasks_alarm(props),
            "target-5xx": self._alarm(
                "target-5xx",
                f"API tasks answered more than {props.max_target_5xx_per_minute} 5xx in a minute",
                namespace="AWS/ApplicationELB",
                metric="HTTPCode_Target_5XX_Count",
                dimensions={"LoadBalancer": props.load_balancer_arn_suffix},
                statistic="Sum",
                comparison="GreaterThanThreshold",
                threshold=props.max_target_5xx_per_minute,
                evaluation_periods=1,
            ),
            "db-connections": self._alarm(
                "db-connections",
                f"Aurora connections above {props.max_db_connections}",
                namespace="AWS/RDS",
                metric="DatabaseConnections",
                dimensions={"DBClusterIdentifier": props.db_cluster_identifier},
                statistic="Maximum",
                comparison="GreaterThanThreshold",
                threshold=props.max_db_connections,
            ),
        }
        self.topic_policy = self._only_these_alarms_publish()
        self.dashboard = CloudwatchDashboard(
            self,
            "dashboard",
            dashboard_name=naming.name("api"),
            dashboard_body=json.dumps(self._dashboard(props, api)),
        )
        self.dashboard_url = (
            f"https://{props.region}.console.aws.amazon.com/cloudwatch/home?region="
            f"{props.region}#dashboards:name={naming.name('api')}"
        )

    def _only_these_alarms_publish(self) -> SnsTopicPolicy:
        """Replaces SNS's default policy, which lets every principal of the account publish,
        subscribe and re-permission the topic: only this stack's alarms publish (CloudWatch,
        with the alarm as `aws:SourceArn`); the pipeline manages it through its own role."""
        statement = {
            "Sid": "OnlyThisEnvironmentsAlarmsPublish",
            "Effect": "Allow",
            "Principal": {"Service": "cloudwatch.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": self.topic.arn,
            "Condition": {"ArnLike": {"aws:SourceArn": [a.arn for a in self.alarms.values()]}},
        }
        return SnsTopicPolicy(
            self,
            "alarms-policy",
            arn=self.topic.arn,
            policy=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
        )

    def _alarm(
        self,
        key: str,
        description: str,
        *,
        namespace: str,
        metric: str,
        dimensions: dict[str, str],
        statistic: str,
        comparison: str,
        threshold: float,
        missing: str = "notBreaching",
        evaluation_periods: int = EVALUATION_PERIODS,
    ) -> CloudwatchMetricAlarm:
        return CloudwatchMetricAlarm(
            self,
            key,
            alarm_name=self._naming.name(key),
            alarm_description=description,
            namespace=namespace,
            metric_name=metric,
            dimensions=dimensions,
            statistic=statistic,
            period=PERIOD_SECONDS,
            evaluation_periods=evaluation_periods,
            comparison_operator=comparison,
            threshold=threshold,
            treat_missing_data=missing,
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
        )

    def _healthy_tasks_alarm(self, props: MonitoringProps) -> CloudwatchMetricAlarm:
        """Healthy hosts of blue and green summed: right whichever group serves the release."""
        key = "healthy-tasks"
        queries = [
            CloudwatchMetricAlarmMetricQuery(
                id=f"{color}",
                metric=CloudwatchMetricAlarmMetricQueryMetric(
                    namespace="AWS/ApplicationELB",
                    metric_name="HealthyHostCount",
                    dimensions={
                        "TargetGroup": suffix,
                        "LoadBalancer": props.load_balancer_arn_suffix,
                    },
                    period=PERIOD_SECONDS,
                    stat="Minimum",
                ),
            )
            for color, suffix in zip(
                ("blue", "green"), props.target_group_arn_suffixes, strict=True
            )
        ]
        queries.append(
            CloudwatchMetricAlarmMetricQuery(
                id="healthy",
                expression="FILL(blue, 0) + FILL(green, 0)",
                label="Healthy API tasks",
                return_data=True,
            )
        )
        return CloudwatchMetricAlarm(
            self,
            key,
            alarm_name=self._naming.name(key),
            alarm_description=f"Fewer than {props.min_healthy_tasks} healthy API task(s)",
            metric_query=queries,
            evaluation_periods=EVALUATION_PERIODS,
            comparison_operator="LessThanThreshold",
            threshold=props.min_healthy_tasks,
            treat_missing_data="breaching",
            alarm_actions=[self.topic.arn],
            ok_actions=[self.topic.arn],
        )

    @staticmethod
    def _dashboard(props: MonitoringProps, api: dict[str, str]) -> dict[str, Any]:
        def widget(title: str, metrics: list[list[Any]], x: int, y: int) -> dict[str, Any]:
            return {
                "type": "metric",
                "x": x,
                "y": y,
                "width": 12,
                "height": 6,
                "properties": {
                    "title": title,
                    "region": props.region,
                    "period": PERIOD_SECONDS,
                    "view": "timeSeries",
                    "metrics": metrics,
                },
            }

        api_dims = ["ApiName", api["ApiName"], "Stage", api["Stage"]]
        ecs_dims = ["ClusterName", props.cluster_name, "ServiceName", props.service_name]
        return {
            "widgets": [
                widget(
                    "API latency (ms)",
                    [["AWS/ApiGateway", "Latency", *api_dims, {"stat": "Average"}],
                     ["AWS/ApiGateway", "Latency", *api_dims, {"stat": "p99"}]],
                    0, 0,
                ),
                widget(
                    "API errors (4xx, 5xx)",
                    [["AWS/ApiGateway", "4XXError", *api_dims, {"stat": "Sum"}],
                     ["AWS/ApiGateway", "5XXError", *api_dims, {"stat": "Sum"}]],
                    12, 0,
                ),
                widget(
                    "Aurora connections",
                    [["AWS/RDS", "DatabaseConnections", "DBClusterIdentifier",
                      props.db_cluster_identifier, {"stat": "Maximum"}]],
                    0, 6,
                ),
                widget(
                    "ECS CPU and memory (%)",
                    [["AWS/ECS", "CPUUtilization", *ecs_dims, {"stat": "Average"}],
                     ["AWS/ECS", "MemoryUtilization", *ecs_dims, {"stat": "Average"}]],
                    12, 6,
                ),
            ]
        }  # fmt: skip
