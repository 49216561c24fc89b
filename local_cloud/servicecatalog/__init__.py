"""Stateful Service Catalog emulator speaking botocore's wire protocol on 127.0.0.1.

Usage::

    with ServiceCatalogEmulator(rules=ServiceRules.real()) as sc:
        product = sc.add_product("bucket", ProvisioningScript(duration=1, outputs={"BucketName": "b"}))
        client = sc.client()  # or any boto3 client with endpoint_url=sc.endpoint_url
"""

from local_cloud.servicecatalog.api import Call
from local_cloud.servicecatalog.emulator import ENDPOINT_ENV_VAR, ServiceCatalogEmulator
from local_cloud.servicecatalog.errors import (
    InvalidParametersException,
    InvalidStateException,
    ResourceNotFoundException,
    ServiceCatalogError,
    ThrottlingException,
    ValidationException,
)
from local_cloud.servicecatalog.model import (
    NO_CHANGES_MESSAGE,
    NO_UPDATES_MESSAGE,
    Plan,
    ProductVersion,
    ProvisionedProduct,
    ProvisioningScript,
    Record,
    RecordError,
    SeededProduct,
)
from local_cloud.servicecatalog.rules import PROFILE_ENV_VAR, ServiceRules
from local_cloud.servicecatalog.validation import validate_output

__all__ = [
    "ENDPOINT_ENV_VAR",
    "NO_CHANGES_MESSAGE",
    "NO_UPDATES_MESSAGE",
    "PROFILE_ENV_VAR",
    "Call",
    "InvalidParametersException",
    "InvalidStateException",
    "Plan",
    "ProductVersion",
    "ProvisionedProduct",
    "ProvisioningScript",
    "Record",
    "RecordError",
    "ResourceNotFoundException",
    "SeededProduct",
    "ServiceCatalogEmulator",
    "ServiceCatalogError",
    "ServiceRules",
    "ThrottlingException",
    "ValidationException",
    "validate_output",
]
