"""CDK construct that executes AWS Service Catalog provisioned product plans from CloudFormation.

Imported as `sc_plan_execution`: the top-level `constructs/` folder must not become a package,
or it would shadow the jsii `constructs` library.
"""

from sc_plan_execution.bundling import LocalPipBundling, provider_code
from sc_plan_execution.plan_execution import RESOURCE_TYPE, ProvisionedProductPlanExecution
from sc_plan_execution.provider import SERVICE_CATALOG_ACTIONS, PlanExecutionProvider
from sc_plan_provider.polling_policy import PollingPolicy
from sc_plan_provider.properties import InvalidPropertyError

__all__ = [
    "RESOURCE_TYPE",
    "SERVICE_CATALOG_ACTIONS",
    "InvalidPropertyError",
    "LocalPipBundling",
    "PlanExecutionProvider",
    "PollingPolicy",
    "ProvisionedProductPlanExecution",
    "provider_code",
]
