"""What the origin check needs from the emulator, live: moto 5.2.5 serves the check without a
patch; a rotation needs `UpdateIntegration` (gitops.emulator.apigateway_integration).

`make local` deploys the mechanism and re-plans empty; these pin the behaviours it relies on,
so a moto upgrade that changes one fails here first, with a name. (The values themselves are
Terraform's own `terraform_data`: nothing of Secrets Manager's version stages or random
passwords is relied on any more.)
"""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

pytestmark = pytest.mark.slow


def test_a_byte_match_on_a_header_round_trips_in_a_blocking_web_acl(aws) -> None:
    waf = aws("wafv2")
    visibility = {"SampledRequestsEnabled": True, "CloudWatchMetricsEnabled": True,
                  "MetricName": "m"}  # fmt: skip
    match = {"ByteMatchStatement": {
        "FieldToMatch": {"SingleHeader": {"Name": "x-origin-verify"}},
        "PositionalConstraint": "EXACTLY", "SearchString": b"Secret123",
        "TextTransformations": [{"Priority": 0, "Type": "NONE"}]}}  # fmt: skip
    rule = {"Name": "origin", "Priority": 0, "Action": {"Allow": {}},
            "Statement": match, "VisibilityConfig": visibility}  # fmt: skip
    summary = waf.create_web_acl(
        Name=f"acl-{uuid.uuid4().hex[:8]}", Scope="REGIONAL", DefaultAction={"Block": {}},
        Rules=[rule], VisibilityConfig=visibility,
    )["Summary"]  # fmt: skip
    acl = waf.get_web_acl(Name=summary["Name"], Scope="REGIONAL", Id=summary["Id"])["WebACL"]
    assert acl["DefaultAction"] == {"Block": {}}
    (stored,) = acl["Rules"]
    assert stored["Statement"]["ByteMatchStatement"]["SearchString"] == b"Secret123"
    ip_set = waf.create_ip_set(Name=f"ops-{uuid.uuid4().hex[:8]}", Scope="REGIONAL",
                               IPAddressVersion="IPV4", Addresses=[])["Summary"]  # fmt: skip
    assert (
        waf.get_ip_set(Name=ip_set["Name"], Scope="REGIONAL", Id=ip_set["Id"])["IPSet"]["Addresses"]
        == []
    )


def test_an_integration_keeps_its_static_header_parameter(aws) -> None:
    api = aws("apigateway")
    rest = api.create_rest_api(name=f"api-{uuid.uuid4().hex[:8]}")
    root = api.get_resources(restApiId=rest["id"])["items"][0]["id"]
    api.put_method(restApiId=rest["id"], resourceId=root, httpMethod="GET",
                   authorizationType="NONE", apiKeyRequired=True)  # fmt: skip
    parameter = {"integration.request.header.x-origin-verify": "'Secret123'"}
    api.put_integration(restApiId=rest["id"], resourceId=root, httpMethod="GET",
                        type="HTTP_PROXY", integrationHttpMethod="GET",
                        uri="https://api.example.com/", requestParameters=parameter)  # fmt: skip
    integration = api.get_integration(restApiId=rest["id"], resourceId=root, httpMethod="GET")
    assert integration["requestParameters"] == parameter


def test_an_integration_takes_a_new_header_value_in_place(aws) -> None:
    """UpdateIntegration, as the provider sends it when the origin value rotates: remove the
    old parameter, add the new one (moto 5.2.5 alone answers 500)."""
    api, key = aws("apigateway"), "integration.request.header.x-origin-verify"
    rest = api.create_rest_api(name=f"api-{uuid.uuid4().hex[:8]}")
    root = api.get_resources(restApiId=rest["id"])["items"][0]["id"]
    api.put_method(restApiId=rest["id"], resourceId=root, httpMethod="POST",
                   authorizationType="NONE")  # fmt: skip
    api.put_integration(restApiId=rest["id"], resourceId=root, httpMethod="POST",
                        type="HTTP_PROXY", integrationHttpMethod="POST",
                        uri="https://api.example.com/", timeoutInMillis=29000,
                        requestParameters={key: "'old'",
                                           "integration.request.header.y": "'y'"})  # fmt: skip
    target = {"restApiId": rest["id"], "resourceId": root, "httpMethod": "POST"}
    updated = api.update_integration(**target, patchOperations=[
        {"op": "remove", "path": f"/requestParameters/{key}"},
        {"op": "add", "path": f"/requestParameters/{key}", "value": "'new'"},
        {"op": "remove", "path": "/requestParameters/integration.request.header.y"},
        {"op": "replace", "path": "/timeoutInMillis", "value": "10000"},
        {"op": "add", "path": "/requestTemplates/application~1json", "value": "{}"},
    ])  # fmt: skip
    assert updated["requestParameters"] == {key: "'new'"}
    read = api.get_integration(**target)
    assert read["requestParameters"] == {key: "'new'"} and read["timeoutInMillis"] == 10000
    assert read["requestTemplates"] == {"application/json": "{}"}
    assert read["uri"] == "https://api.example.com/", "fields not patched are kept"
    with pytest.raises(ClientError, match="Invalid patch path /nonsense"):
        api.update_integration(**target, patchOperations=[{"op": "replace", "path": "/nonsense"}])
