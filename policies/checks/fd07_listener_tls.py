"""CKV_FD_7: HTTPS/TLS listeners use a TLS 1.2+ policy; plain-HTTP listeners never forward.

TLS 1.2+ policies are the ELBSecurityPolicy families that drop TLS 1.0/1.1: TLS13-1-2-*,
TLS13-1-3-* (TLS 1.3 only), TLS-1-2-* and FS-1-2-*. An HTTPS listener without `ssl_policy` gets
AWS's default ELBSecurityPolicy-2016-08 (TLS 1.0) and fails. An HTTP listener, and any
aws_lb_listener_rule attached to one in the same stack, may only `redirect` (to HTTPS) or answer
with a `fixed-response`.
"""

from __future__ import annotations

from checkov.common.models.enums import CheckCategories, CheckResult
from fd_common import StackAwareCheck, blocks, first, ref, stack_resources

TLS12_POLICY_PREFIXES = tuple(
    f"ELBSecurityPolicy-{family}-" for family in ("TLS13-1-2", "TLS13-1-3", "TLS-1-2", "FS-1-2")
)
HTTP_ACTIONS = frozenset({"redirect", "fixed-response"})


def plain_http_action_problems(actions: list[dict]) -> list[str]:
    problems = []
    for action in actions:
        kind = first(action, "type")
        if kind not in HTTP_ACTIONS:
            problems.append(f"plain HTTP action {kind!r} (only redirect or fixed-response)")
        elif kind == "redirect":
            redirect = first(action, "redirect") or {}
            if str(first(redirect, "protocol", "")).upper() != "HTTPS":
                problems.append("plain HTTP redirect does not go to HTTPS")
    return problems


class ListenerTls(StackAwareCheck):
    def __init__(self) -> None:
        super().__init__(
            name="HTTPS listeners use a TLS 1.2+ security policy and HTTP listeners only "
            "redirect to HTTPS or answer fixed responses",
            id="CKV_FD_7",
            categories=[CheckCategories.ENCRYPTION],
            supported_resources=["aws_lb_listener", "aws_alb_listener", "aws_lb_listener_rule"],
        )

    def scan_resource_conf(self, conf):  # type: ignore[no-untyped-def]
        if self.entity_type == "aws_lb_listener_rule":
            return self._scan_rule(conf)
        self.evaluated_keys = ["protocol", "ssl_policy", "default_action"]
        protocol = str(first(conf, "protocol", "")).upper()
        if protocol in ("HTTPS", "TLS"):
            policy = str(first(conf, "ssl_policy") or "")
            if not policy.startswith(TLS12_POLICY_PREFIXES):
                self.details.append(f"ssl_policy {policy or '(default, TLS 1.0)'} allows < TLS 1.2")
        elif protocol == "HTTP":
            self.details.extend(plain_http_action_problems(blocks(conf, "default_action")))
        else:
            return CheckResult.UNKNOWN
        return CheckResult.FAILED if self.details else CheckResult.PASSED

    def _scan_rule(self, conf):  # type: ignore[no-untyped-def]
        self.evaluated_keys = ["listener_arn", "action"]
        stack = self.stack()
        if stack is None:
            return self.unverifiable()
        listener = first(conf, "listener_arn")
        http_listeners = {
            ref(kind, name, "arn")
            for kind, name, body in stack_resources(stack, "aws_lb_listener", "aws_alb_listener")
            if str(body.get("protocol", "")).upper() == "HTTP"
        }
        if listener not in http_listeners:
            return CheckResult.UNKNOWN
        self.details.extend(plain_http_action_problems(blocks(conf, "action")))
        return CheckResult.FAILED if self.details else CheckResult.PASSED


check = ListenerTls()
