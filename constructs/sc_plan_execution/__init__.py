"""CDK construct that executes AWS Service Catalog provisioned product plans from CloudFormation.

Installed as the `sc_plan_execution` package (`pip install servicecatalog-plan-execution`); in this
repository its source lives in `constructs/sc_plan_execution/`, which must never get a
`constructs/__init__.py`: that would shadow the jsii `constructs` library.
"""

from sc_plan_execution.bundling import LocalPipBundling, provider_code
from sc_plan_execution.plan_execution import RESOURCE_TYPE, ProvisionedProductPlanExecution
from sc_plan_execution.provider import SERVICE_CATALOG_ACTIONS, PlanExecutionProvider
from sc_plan_execution.provider_stack import DEFAULT_EXPORT_NAME, PlanExecutionProviderStack
from sc_plan_provider import __version__
from sc_plan_provider.polling_policy import PollingPolicy
from sc_plan_provider.product_spec import ProductSpec
from sc_plan_provider.property_values import InvalidPropertyError

__all__ = [
    "DEFAULT_EXPORT_NAME",
    "RESOURCE_TYPE",
    "SERVICE_CATALOG_ACTIONS",
    "InvalidPropertyError",
    "LocalPipBundling",
    "PlanExecutionProvider",
    "PlanExecutionProviderStack",
    "PollingPolicy",
    "ProductSpec",
    "ProvisionedProductPlanExecution",
    "__version__",
    "provider_code",
]
