"""Service Catalog error codes, raised by the emulator and rendered on the wire as JSON 1.1 errors.

botocore's JSON parser takes the error code from the body's ``__type`` and the message from
``message``; every error here is HTTP 400, as the real service answers client errors.
"""

from __future__ import annotations


class ServiceCatalogError(Exception):
    """An error the emulator returns to the caller as ``{"__type": code, "message": message}``."""

    code = "ServiceCatalogError"
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def to_wire(self) -> dict[str, str]:
        """The JSON body botocore parses into ``ClientError.response["Error"]``."""
        return {"__type": self.code, "message": self.message}


class InvalidParametersException(ServiceCatalogError):  # noqa: N818 - AWS's error code
    """One or more parameters break the API model's constraints (or the operation's own rules)."""

    code = "InvalidParametersException"


class ResourceNotFoundException(ServiceCatalogError):  # noqa: N818 - AWS's error code
    """The plan, record or provisioned product does not exist (or was terminated)."""

    code = "ResourceNotFoundException"


class InvalidStateException(ServiceCatalogError):  # noqa: N818 - AWS's error code
    """The resource exists but is in a state that does not allow the operation."""

    code = "InvalidStateException"


class ThrottlingException(ServiceCatalogError):  # noqa: N818 - AWS's error code
    """Injected throttling; the code is one botocore's standard retry mode treats as throttling."""

    code = "ThrottlingException"


class AccessDeniedException(ServiceCatalogError):  # noqa: N818 - AWS's error code
    """Injected: the caller's IAM policy does not allow the operation."""

    code = "AccessDeniedException"


class UnknownOperationException(ServiceCatalogError):  # noqa: N818 - AWS's error code
    """The X-Amz-Target names no operation this emulator serves."""

    code = "UnknownOperationException"


class ValidationException(ServiceCatalogError):  # noqa: N818 - AWS's error code
    """Malformed input as AWS's front end reports it, and CloudFormation errors passed through.

    Not in botocore's model for any Service Catalog operation, yet seen from the real service:
    "1 validation error detected: Value 'My Test Sandbox1' at 'provisionedProductName' failed to
    satisfy constraint: Member must satisfy regular expression pattern: ..." from ProvisionProduct
    (aws-ia/terraform-aws-control_tower_account_factory issue 103), and "Cannot delete ChangeSet in
    execution status EXECUTE_FAILED (Service: AmazonCloudFormation; ...)" from
    DeleteProvisionedProductPlan (awslabs/aws-service-catalog-puppet issue 378). botocore still
    parses it into a ClientError with this code.
    """

    code = "ValidationException"


class SerializationException(ServiceCatalogError):  # noqa: N818 - AWS's error code
    """The request body is not a JSON object, or a member has the wrong JSON type."""

    code = "SerializationException"
