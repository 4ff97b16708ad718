"""An in-memory GitHub REST API, served on loopback, for tests and the offline rehearsal.

It covers only what the pipeline calls (comments, issues, refs, contents, pull requests, workflow
runs), with GitHub's field names, status codes and pagination, so the real HTTP client code runs
unchanged without a network or a token. Every request is recorded, so tests can assert on what
was sent.

`server` serves it and seeds it, `routes` answers each REST call (`actions`: the Actions side),
`repository` holds the state, `records` and `request_fields` are the shapes and the request
readers they share.
"""

from gitops.github.standin.records import ApiError, RecordedRequest
from gitops.github.standin.request_fields import blob_sha
from gitops.github.standin.server import GitHubStandIn

__all__ = ["ApiError", "GitHubStandIn", "RecordedRequest", "blob_sha"]
