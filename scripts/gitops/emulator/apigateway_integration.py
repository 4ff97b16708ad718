"""API Gateway's `UpdateIntegration` in the emulator, which moto 5.2.5 lacks (it answers 500).

Terraform updates an integration in place when its request parameters change, as they do when
the origin-header value rotates (infra/origin_verification.py): without this, the emulator
could plan a rotation but never apply one. The operation takes a JSON Patch-like list
(`op`, `path`, `value`), as AWS documents for `UpdateIntegration`: `add`, `replace` and `remove`
of a top-level field (`/uri`, `/timeoutInMillis`, ...) or of one key of a map or list field
(`/requestParameters/integration.request.header.x`, with `~1` standing for `/`).
"""

from __future__ import annotations

import json
from typing import Any

from moto.apigateway.exceptions import BadRequestException, NoIntegrationDefined
from moto.apigateway.models import Integration
from moto.apigateway.responses import APIGatewayResponse

FIELDS = {
    "uri": "uri",
    "httpMethod": "http_method",
    "passthroughBehavior": "passthrough_behaviour",
    "timeoutInMillis": "timeout_in_millis",
    "contentHandling": "content_handling",
    "credentials": "credentials",
    "connectionType": "connection_type",
    "cacheNamespace": "cache_namespace",
}
"""Fields patched as a whole: AWS name -> moto's attribute."""
MAPS = {"requestParameters": "request_parameters", "requestTemplates": "request_templates"}
"""Fields patched one key at a time."""


def apply_patch(integration: Integration, operations: list[dict[str, Any]]) -> None:
    """Apply `operations` in order, or raise BadRequestException naming the one refused."""
    for operation in operations:
        op, path = operation.get("op"), str(operation.get("path", ""))
        field, _, key = path.lstrip("/").partition("/")
        key = key.replace("~1", "/").replace("~0", "~")
        value = operation.get("value")
        if op not in ("add", "replace", "remove"):
            raise BadRequestException(f"Invalid patch operation {op!r} on {path}")
        if field in FIELDS and not key:
            setattr(integration, FIELDS[field], None if op == "remove" else value)
        elif field in MAPS and key:
            entries = dict(getattr(integration, MAPS[field]) or {})
            if op == "remove":
                entries.pop(key, None)
            else:
                entries[key] = value
            setattr(integration, MAPS[field], entries)
        elif field == "cacheKeyParameters" and key:
            keys = [k for k in integration.cache_key_parameters if k != key]
            integration.cache_key_parameters = keys if op == "remove" else [*keys, key]
        elif path == "/tlsConfig/insecureSkipVerification":
            integration.tls_config = {"insecureSkipVerification": str(value).lower() == "true"}
        else:
            raise BadRequestException(f"Invalid patch path {path}")


def _update_integration(self: APIGatewayResponse) -> str:
    parts = self.path.split("/")  # /restapis/{api}/resources/{resource}/methods/{method}/...
    integration = self.backend.get_integration(parts[2], parts[4], parts[6])
    if integration is None:
        raise NoIntegrationDefined()
    apply_patch(integration, self._get_param("patchOperations") or [])
    return json.dumps(integration.to_json())


def install() -> None:
    """Add `UpdateIntegration` to moto's API Gateway (idempotent)."""
    setattr(APIGatewayResponse, "update_integration", _update_integration)  # noqa: B010
