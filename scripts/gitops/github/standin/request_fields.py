"""Reading a request as GitHub does: token, JSON body, query numbers and typed body fields.

Each reader raises the `ApiError` GitHub answers for the same mistake.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from gitops.github.standin.records import ApiError


def blob_sha(data: bytes) -> str:
    """Git's blob id, which GitHub's contents API calls `sha`."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() not in ("bearer", "token"):
        return None
    return token.strip() or None


def parse_json(raw: bytes) -> tuple[Any, bool]:
    """(parsed body, whether it parsed); an empty body is None and fine."""
    if not raw.strip():
        return None, True
    try:
        return json.loads(raw), True
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None, False


def int_param(query: dict[str, str], name: str, default: int, high: int | None = None) -> int:
    try:
        value = max(1, int(query.get(name, default)))
    except ValueError:
        value = default
    return min(value, high) if high is not None else value


def json_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise ApiError(400, "Problems parsing JSON: the body must be a JSON object")
    return body


def required_str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value:
        raise ApiError(422, f"Validation Failed: {key} is required")
    return value


def optional_str(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise ApiError(422, f"Validation Failed: {key} must be a string")
    return value


def label_names(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise ApiError(422, "Validation Failed: labels must be a list of names")
    return list(dict.fromkeys(value))


def decoded_content(body: dict[str, Any]) -> str:
    """The base64 `content` as text; the stand-in stores UTF-8 text only."""
    encoded = body.get("content")
    if not isinstance(encoded, str):
        raise ApiError(422, "Validation Failed: content is required")
    try:
        return base64.b64decode(encoded, validate=False).decode()
    except (binascii.Error, UnicodeDecodeError) as error:
        raise ApiError(422, "Validation Failed: content is not base64 UTF-8 text") from error
