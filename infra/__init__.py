"""The cdktf app describing the fraud-detection API's AWS infrastructure.

Importing this package registers the lazy AWS provider package first, so every module below
can import resource classes the normal way (`from cdktf_cdktf_provider_aws.vpc import Vpc`)
while paying only for the submodules it uses.
"""

from infra import lazy_provider

lazy_provider.install()
