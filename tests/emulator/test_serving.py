"""gitops.emulator.serving: one request at a time, and an SDK retry gets its first answer."""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError
from gitops.emulator import serving
from moto.moto_server.werkzeug_app import DomainDispatcherApplication

OK, FAILED = "200 OK", "500 Internal Server Error"


class FakeMoto:
    """Stands in for moto's dispatch: counts the requests it really ran."""

    def __init__(self, status: str = OK, delay: float = 0.0) -> None:
        self.status, self.delay, self.ran, self.active, self.most = status, delay, 0, 0, 0
        self.counter = threading.Lock()

    def __call__(self, app: Any, environ: dict[str, Any], start: Any) -> list[bytes]:
        with self.counter:
            self.ran += 1
            self.active += 1
            self.most = max(self.most, self.active)
        time.sleep(self.delay)
        with self.counter:
            self.active -= 1
        start(self.status, [("Content-Type", "text/xml")])
        return [f"answer {self.ran}".encode()]


@pytest.fixture
def fake(monkeypatch) -> FakeMoto:
    moto = FakeMoto()
    monkeypatch.setattr(serving, "_original_call", moto)
    monkeypatch.setattr(serving, "_answers", serving.OrderedDict())
    return moto


def call(invocation: str | None = None, method: str = "POST") -> tuple[str, bytes]:
    environ = {"REQUEST_METHOD": method}
    if invocation:
        environ["HTTP_AMZ_SDK_INVOCATION_ID"] = invocation
    started: list[str] = []
    body = b"".join(
        serving._serve(None, environ, lambda status, headers, *_: started.append(status))
    )  # type: ignore[arg-type]
    return started[0], body


def test_concurrent_requests_run_one_after_another(fake) -> None:
    fake.delay = 0.02
    threads = [threading.Thread(target=call, args=(str(n),)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert fake.most == 1 and fake.ran == 8


def test_a_retry_gets_the_first_answer_and_runs_nothing(fake) -> None:
    assert call("one") == (OK, b"answer 1")
    assert call("one") == (OK, b"answer 1")
    assert call("two") == (OK, b"answer 2")
    assert call() == (OK, b"answer 3") and call() == (OK, b"answer 4"), "no id: always run"
    assert fake.ran == 4


def test_server_errors_and_reads_are_run_again(fake) -> None:
    fake.status = FAILED
    assert call("one") == (FAILED, b"answer 1")
    fake.status = OK
    assert call("one") == (OK, b"answer 2"), "a retry after a 500 runs"
    assert call("state", method="GET") == (OK, b"answer 3")
    assert call("state", method="GET") == (OK, b"answer 4")


def test_install_puts_it_in_front_of_every_service(monkeypatch) -> None:
    monkeypatch.setattr(DomainDispatcherApplication, "__call__", serving._original_call)
    serving.install()
    assert DomainDispatcherApplication.__call__ is serving._serve


@pytest.mark.slow
def test_a_retried_create_is_answered_once_by_the_live_emulator(aws) -> None:
    """The retry Terraform's SDK sends when an answer is lost: the same invocation id. The rule
    is created once and both attempts get its id; a new call (a new id) is still a duplicate."""
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.97.0.0/16")["Vpc"]["VpcId"]
    group = ec2.create_security_group(GroupName="retries", Description="retries", VpcId=vpc)
    invocation = str(uuid.uuid4())

    def same_invocation(request: Any, **_: Any) -> None:
        request.headers["amz-sdk-invocation-id"] = invocation

    rule = {"GroupId": group["GroupId"], "IpPermissions": [
        {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    ]}  # fmt: skip
    ec2.meta.events.register("before-send.ec2.AuthorizeSecurityGroupIngress", same_invocation)
    first = ec2.authorize_security_group_ingress(**rule)["SecurityGroupRules"]
    retried = ec2.authorize_security_group_ingress(**rule)["SecurityGroupRules"]
    assert [r["SecurityGroupRuleId"] for r in retried] == [r["SecurityGroupRuleId"] for r in first]
    ec2.meta.events.unregister("before-send.ec2.AuthorizeSecurityGroupIngress", same_invocation)
    with pytest.raises(ClientError, match=r"InvalidPermission\.Duplicate"):
        ec2.authorize_security_group_ingress(**rule)
