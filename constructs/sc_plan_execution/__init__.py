"""CDK construct that executes AWS Service Catalog provisioned product plans from CloudFormation.

Installed as the `sc_plan_execution` package (`pip install servicecatalog-plan-execution`); in this
repository its source lives in `constructs/sc_plan_execution/`, which must never get a
`constructs/__init__.py`: that would shadow the jsii `constructs` library.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from sc_plan_provider import __version__

if TYPE_CHECKING:
    from sc_plan_execution.bundling import LocalPipBundling, provider_code
    from sc_plan_execution.pipelines import PlanReviewStep
    from sc_plan_execution.plan_execution import RESOURCE_TYPE, ProvisionedProductPlanExecution
    from sc_plan_execution.provider import SERVICE_CATALOG_ACTIONS, PlanExecutionProvider
    from sc_plan_execution.provider_options import ProviderOptions
    from sc_plan_execution.provider_stack import DEFAULT_EXPORT_NAME, PlanExecutionProviderStack
    from sc_plan_provider.properties.spec import ProductSpec
    from sc_plan_provider.properties.values import InvalidPropertyError
    from sc_plan_provider.waiting.policy import PollingPolicy

# Each export is imported when first used, so the review command (`python -m sc_plan_execution
# review`, a pipeline step) starts without aws_cdk and its Node.js runtime.
_EXPORTED_FROM = {
    "LocalPipBundling": "sc_plan_execution.bundling",
    "provider_code": "sc_plan_execution.bundling",
    "PlanReviewStep": "sc_plan_execution.pipelines",
    "RESOURCE_TYPE": "sc_plan_execution.plan_execution",
    "ProvisionedProductPlanExecution": "sc_plan_execution.plan_execution",
    "SERVICE_CATALOG_ACTIONS": "sc_plan_execution.provider",
    "PlanExecutionProvider": "sc_plan_execution.provider",
    "ProviderOptions": "sc_plan_execution.provider_options",
    "DEFAULT_EXPORT_NAME": "sc_plan_execution.provider_stack",
    "PlanExecutionProviderStack": "sc_plan_execution.provider_stack",
    "PollingPolicy": "sc_plan_provider.waiting.policy",
    "ProductSpec": "sc_plan_provider.properties.spec",
    "InvalidPropertyError": "sc_plan_provider.properties.values",
}


def __getattr__(name: str) -> Any:
    module = _EXPORTED_FROM.get(name)
    if module is None:
        raise AttributeError(f"module 'sc_plan_execution' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


__all__ = [
    "DEFAULT_EXPORT_NAME",
    "RESOURCE_TYPE",
    "SERVICE_CATALOG_ACTIONS",
    "InvalidPropertyError",
    "LocalPipBundling",
    "PlanExecutionProvider",
    "PlanExecutionProviderStack",
    "PlanReviewStep",
    "PollingPolicy",
    "ProductSpec",
    "ProviderOptions",
    "ProvisionedProductPlanExecution",
    "__version__",
    "provider_code",
]
