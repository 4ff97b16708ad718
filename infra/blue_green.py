"""Zero-downtime releases: CodeDeploy blue/green over `fraud-tg-blue` and `fraud-tg-green`.

Everything that makes a release blue/green lives here, so moving to ECS's own blue/green
strategy (AWS provider 6.4+) is a change to this construct alone:

- the ECS service is switched to the `CODE_DEPLOY` deployment controller, and Terraform stops
  managing what CodeDeploy owns afterwards (the service's task definition and load balancer,
  the listeners' default actions), so a re-plan after a rollout is empty;
- task definitions are never deregistered on replacement (`skip_destroy`): a rollback always has
  the previous revision to return to;
- a test listener on the load balancer, open only to the networks the environment file lists,
  answers with the new release on the standby group before traffic moves;
- a CodeDeploy application, deployment group (traffic shift from the environment file, automatic
  rollback on failure and on the alarms given) and its least-privilege service role.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from cdktf import TerraformResourceLifecycle
from cdktf_cdktf_provider_aws.codedeploy_app import CodedeployApp
from cdktf_cdktf_provider_aws.codedeploy_deployment_config import (
    CodedeployDeploymentConfig,
    CodedeployDeploymentConfigTrafficRoutingConfig,
    CodedeployDeploymentConfigTrafficRoutingConfigTimeBasedCanary,
    CodedeployDeploymentConfigTrafficRoutingConfigTimeBasedLinear,
)
from cdktf_cdktf_provider_aws.codedeploy_deployment_group import (
    CodedeployDeploymentGroup,
    CodedeployDeploymentGroupAlarmConfiguration,
    CodedeployDeploymentGroupAutoRollbackConfiguration,
    CodedeployDeploymentGroupBlueGreenDeploymentConfig,
    CodedeployDeploymentGroupBlueGreenDeploymentConfigDeploymentReadyOption,
    CodedeployDeploymentGroupBlueGreenDeploymentConfigTerminateBlueInstancesOnDeploymentSuccess,
    CodedeployDeploymentGroupDeploymentStyle,
    CodedeployDeploymentGroupEcsService,
    CodedeployDeploymentGroupLoadBalancerInfo,
    CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfo,
    CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfoProdTrafficRoute,
    CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfoTargetGroup,
    CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfoTestTrafficRoute,
)
from cdktf_cdktf_provider_aws.ecs_service import EcsService
from cdktf_cdktf_provider_aws.ecs_task_definition import EcsTaskDefinition
from cdktf_cdktf_provider_aws.iam_role import IamRole
from cdktf_cdktf_provider_aws.iam_role_policy import IamRolePolicy
from cdktf_cdktf_provider_aws.lb_listener import (
    LbListener,
    LbListenerDefaultAction,
)
from cdktf_cdktf_provider_aws.vpc_security_group_ingress_rule import VpcSecurityGroupIngressRule
from constructs import Construct

from infra.blue_green_config import TrafficShift
from infra.load_balancer import TLS_POLICY
from infra.naming import Naming
from infra.policy_document import assume_role, document, statement

ROLLBACK_EVENTS = ("DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM")
SERVICE_OWNED_BY_CODEDEPLOY = ("task_definition", "load_balancer")
LOAD_BALANCER_READ_ACTIONS = (
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups",
)
"""What CodeDeploy reads of the load balancer; AWS grants these only on `*`."""


@dataclass(frozen=True)
class BlueGreenProps:
    naming: Naming
    account_id: str
    region: str
    service: EcsService
    """The service to put under CodeDeploy; its controller and lifecycle are set here."""
    cluster_name: str
    task_definition: EcsTaskDefinition
    passed_role_arns: Sequence[str]
    """The task's execution and task roles: CodeDeploy passes them to the new task set."""
    load_balancer_arn: str
    alb_security_group_id: str
    production_listener: LbListener
    certificate_arn: str
    blue_target_group_name: str
    green_target_group_name: str
    target_group_arns: Sequence[str]
    deployment_config: TrafficShift
    rollback_alarm_names: Sequence[str]
    """Any of these in ALARM stops the deployment and rolls it back."""
    test_listener_port: int = 8443
    test_listener_cidrs: Sequence[str] = ()
    """Left out or empty: the test listener exists but nothing may reach it."""
    ready_wait_minutes: int = 0
    """0: shift traffic once the new tasks are healthy; N: wait up to N minutes for a person."""
    termination_wait_minutes: int = 5

    def __post_init__(self) -> None:
        if not self.rollback_alarm_names:
            raise ValueError(
                "BlueGreenProps.rollback_alarm_names is empty: a release must be rolled back "
                "by at least one alarm"
            )
        if self.test_listener_port in (80, 443):
            raise ValueError(
                f"BlueGreenProps.test_listener_port {self.test_listener_port} is a production "
                "port; choose another (8443 by default)"
            )


class BlueGreen(Construct):
    def __init__(self, scope: Construct, id: str, props: BlueGreenProps) -> None:
        super().__init__(scope, id)
        naming = props.naming
        self._take_over_service(props)
        props.production_listener.lifecycle = TerraformResourceLifecycle(
            ignore_changes=["default_action"]
        )

        self.test_listener = LbListener(
            self,
            "test-listener",
            load_balancer_arn=props.load_balancer_arn,
            port=props.test_listener_port,
            protocol="HTTPS",
            ssl_policy=TLS_POLICY,
            certificate_arn=props.certificate_arn,
            default_action=[
                LbListenerDefaultAction(type="forward", target_group_arn=props.target_group_arns[1])
            ],
            lifecycle={"ignore_changes": ["default_action"]},
            tags=naming.tags("test"),
        )
        for index, cidr in enumerate(props.test_listener_cidrs):
            VpcSecurityGroupIngressRule(
                self,
                f"test-in-{index}",
                security_group_id=props.alb_security_group_id,
                description="Operators try a release on the test listener before traffic moves",
                ip_protocol="tcp",
                from_port=props.test_listener_port,
                to_port=props.test_listener_port,
                cidr_ipv4=cidr,
            )

        self.application = CodedeployApp(
            self, "app", name=naming.name("api"), compute_platform="ECS", tags=naming.tags("api")
        )
        self.role = self._service_role(props)
        self.deployment_config_name = self._deployment_config(props)
        self.deployment_group = CodedeployDeploymentGroup(
            self,
            "group",
            app_name=self.application.name,
            deployment_group_name=naming.name("api"),
            service_role_arn=self.role.arn,
            deployment_config_name=self.deployment_config_name,
            deployment_style=CodedeployDeploymentGroupDeploymentStyle(
                deployment_option="WITH_TRAFFIC_CONTROL", deployment_type="BLUE_GREEN"
            ),
            blue_green_deployment_config=CodedeployDeploymentGroupBlueGreenDeploymentConfig(
                deployment_ready_option=self._ready_option(props.ready_wait_minutes),
                terminate_blue_instances_on_deployment_success=(
                    CodedeployDeploymentGroupBlueGreenDeploymentConfigTerminateBlueInstancesOnDeploymentSuccess(
                        action="TERMINATE",
                        termination_wait_time_in_minutes=props.termination_wait_minutes,
                    )
                ),
            ),
            auto_rollback_configuration=CodedeployDeploymentGroupAutoRollbackConfiguration(
                enabled=True, events=list(ROLLBACK_EVENTS)
            ),
            alarm_configuration=CodedeployDeploymentGroupAlarmConfiguration(
                enabled=True, alarms=list(props.rollback_alarm_names)
            ),
            ecs_service=CodedeployDeploymentGroupEcsService(
                cluster_name=props.cluster_name, service_name=props.service.name
            ),
            load_balancer_info=CodedeployDeploymentGroupLoadBalancerInfo(
                target_group_pair_info=CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfo(
                    prod_traffic_route=(
                        CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfoProdTrafficRoute(
                            listener_arns=[props.production_listener.arn]
                        )
                    ),
                    test_traffic_route=(
                        CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfoTestTrafficRoute(
                            listener_arns=[self.test_listener.arn]
                        )
                    ),
                    target_group=[
                        CodedeployDeploymentGroupLoadBalancerInfoTargetGroupPairInfoTargetGroup(
                            name=name
                        )
                        for name in (props.blue_target_group_name, props.green_target_group_name)
                    ],
                )
            ),
            tags=naming.tags("api"),
        )

    @staticmethod
    def _take_over_service(props: BlueGreenProps) -> None:
        """CodeDeploy, not Terraform, decides which task definition and group serve traffic."""
        service = props.service
        service.add_override("deployment_controller", {"type": "CODE_DEPLOY"})
        # ECS refuses a circuit breaker on a CODE_DEPLOY service; CodeDeploy rolls back instead.
        service.reset_deployment_circuit_breaker()
        ignored = list((service.lifecycle and service.lifecycle.ignore_changes) or [])
        service.lifecycle = TerraformResourceLifecycle(
            ignore_changes=[*ignored, *(k for k in SERVICE_OWNED_BY_CODEDEPLOY if k not in ignored)]
        )
        props.task_definition.add_override("skip_destroy", True)

    @staticmethod
    def _ready_option(
        wait_minutes: int,
    ) -> CodedeployDeploymentGroupBlueGreenDeploymentConfigDeploymentReadyOption:
        if wait_minutes == 0:
            return CodedeployDeploymentGroupBlueGreenDeploymentConfigDeploymentReadyOption(
                action_on_timeout="CONTINUE_DEPLOYMENT"
            )
        return CodedeployDeploymentGroupBlueGreenDeploymentConfigDeploymentReadyOption(
            action_on_timeout="STOP_DEPLOYMENT", wait_time_in_minutes=wait_minutes
        )

    def _deployment_config(self, props: BlueGreenProps) -> str:
        """A predefined configuration by name, or our own canary/linear configuration."""
        shift = props.deployment_config
        if shift.predefined:
            return shift.predefined
        assert shift.kind and shift.percent and shift.minutes  # the schema guarantees it
        name = props.naming.name(f"{shift.kind}-{shift.percent}pct-{shift.minutes}min")
        if shift.kind == "canary":
            routing = CodedeployDeploymentConfigTrafficRoutingConfig(
                type="TimeBasedCanary",
                time_based_canary=CodedeployDeploymentConfigTrafficRoutingConfigTimeBasedCanary(
                    percentage=shift.percent, interval=shift.minutes
                ),
            )
        else:
            routing = CodedeployDeploymentConfigTrafficRoutingConfig(
                type="TimeBasedLinear",
                time_based_linear=CodedeployDeploymentConfigTrafficRoutingConfigTimeBasedLinear(
                    percentage=shift.percent, interval=shift.minutes
                ),
            )
        config = CodedeployDeploymentConfig(
            self,
            "config",
            deployment_config_name=name,
            compute_platform="ECS",
            traffic_routing_config=routing,
        )
        return config.deployment_config_name

    def _service_role(self, props: BlueGreenProps) -> IamRole:
        """What CodeDeploy's ECS blue/green needs, on this service, its listeners and alarms."""
        naming, account, region = props.naming, props.account_id, props.region
        service_arn = (
            f"arn:aws:ecs:{region}:{account}:service/{props.cluster_name}/{props.service.name}"
        )
        task_sets = (
            f"arn:aws:ecs:{region}:{account}:task-set/{props.cluster_name}/{props.service.name}/*"
        )
        alarms = [
            f"arn:aws:cloudwatch:{region}:{account}:alarm:{name}"
            for name in props.rollback_alarm_names
        ]
        role = IamRole(
            self,
            "role",
            name=naming.name("codedeploy"),
            assume_role_policy=assume_role("codedeploy.amazonaws.com", account_id=account),
            tags=naming.tags("codedeploy"),
        )
        IamRolePolicy(
            self,
            "role-policy",
            name=naming.name("codedeploy"),
            role=role.id,
            policy=document(
                # AWS authorizes CreateTaskSet and DeleteTaskSet on the task set, the other two
                # on the service (its reference); both ARNs are this one service's.
                statement(
                    "ShiftTheService",
                    [
                        "ecs:DescribeServices",
                        "ecs:CreateTaskSet",
                        "ecs:UpdateServicePrimaryTaskSet",
                        "ecs:DeleteTaskSet",
                    ],
                    [service_arn, task_sets],
                ),
                statement("ReadLoadBalancer", LOAD_BALANCER_READ_ACTIONS, "*"),
                statement(
                    "MoveTraffic",
                    ["elasticloadbalancing:ModifyListener"],
                    [props.production_listener.arn, self.test_listener.arn],
                ),
                statement("WatchRollbackAlarms", ["cloudwatch:DescribeAlarms"], alarms),
                statement(
                    "PassTaskRoles",
                    ["iam:PassRole"],
                    list(props.passed_role_arns),
                    condition={"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
                ),
            ),
        )
        return role
