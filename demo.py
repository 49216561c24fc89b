"""`make demo`: the example stack's custom resource through a whole lifecycle on the local cloud.

Synthesized provider asset under awslambdaric, Service Catalog emulator (playing the real service's
rules: one plan per product, eventual consistency), CloudFormation driver: seed a product and a
plan, Create; delete the executed plan and create the second one (as a user must on the real
service), Update; Delete; then a spec
deployment (spec mode: the stack plans the product itself): Create from a spec -> Update with new
parameters -> Delete. Prints each request, each record status change as it happens, and a summary
table per deployment. Exits 1 on any failure.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

from local_cloud.cloud import RESOURCE_TYPE, LocalCloud
from local_cloud.cloudformation import (
    CustomResource,
    ProgressEvent,
    Stack,
    StackResult,
    custom_resources_in_assembly,
)
from local_cloud.servicecatalog import ProvisioningScript, SeededProduct, ServiceCatalogEmulator

CDK_OUT = Path(__file__).resolve().parent / "cdk.out"
PRODUCT_NAME = "demo-bucket"
PROVISIONED_PRODUCT_NAME = "demo-bucket-pp"
SPEC_PROVISIONED_PRODUCT_NAME = "demo-spec-bucket-pp"
PLAN_PROPERTIES = ("PlanId",)
EXPECTED = {"create": "CREATE_COMPLETE", "update": "UPDATE_COMPLETE", "delete": "DELETE_COMPLETE"}


T0 = time.monotonic()


def say(message: str) -> None:
    print(f"[{time.monotonic() - T0:6.2f}s] {message}", flush=True)


class RecordWatcher(threading.Thread):
    """Prints every Service Catalog record status change as the emulator reaches it."""

    def __init__(self, sc: ServiceCatalogEmulator) -> None:
        super().__init__(daemon=True)
        self._sc = sc
        self._seen: dict[str, str] = {}
        self._stopping = threading.Event()

    def run(self) -> None:
        while not self._stopping.wait(0.1):
            for record in self._sc.records():
                if self._seen.get(record.id) != record.status:
                    self._seen[record.id] = record.status
                    say(f"  Service Catalog: record {record.id} ({record.record_type}) is {record.status}")

    def stop(self) -> None:
        self._stopping.set()
        self.join()


def on_progress(event: ProgressEvent) -> None:
    say(f"CloudFormation: {event.message}")


def spec_deployment(
    cloud: LocalCloud, synthesized: CustomResource, product: SeededProduct
) -> tuple[Stack, dict[str, StackResult], list[str]]:
    """Spec mode: the same resource declaring the product instead of a plan id."""
    sc = cloud.servicecatalog
    say("Spec mode: the template declares the product; every deployment plans, gates and executes it")

    def from_spec(size: str) -> CustomResource:
        settings = {k: v for k, v in synthesized.properties.items() if k not in PLAN_PROPERTIES}
        spec = {
            "ProductId": product.id,
            "ProvisioningArtifactId": product.artifact_id("v1"),
            "ProvisionedProductName": SPEC_PROVISIONED_PRODUCT_NAME,
            "ProvisioningParameters": [{"Key": "Size", "Value": size}],
        }
        return replace(synthesized, properties={**settings, **spec})

    stack = cloud.stack("ServiceCatalogSpecDemo")
    deleted_before = set(sc.deleted_plans())  # the plan-mode deployment's plans are not this one's
    results = {"create": stack.create(from_spec("small"))}
    results["update"] = stack.update(from_spec("large"))
    product_id = stack.resources[synthesized.logical_id].physical_resource_id
    parameters = sc.current_parameters(product_id) if product_id else {}
    deleted = [plan_id for plan_id in sc.deleted_plans() if plan_id not in deleted_before]
    say(
        f"Spec deployment: product {product_id} now runs with {parameters}; "
        f"plans deleted: {len(deleted)} ({', '.join(deleted)})"
    )
    results["delete"] = stack.delete()
    failures = [] if parameters == {"Size": "large"} else [f"spec update left the product with {parameters}"]
    return stack, results, failures


def main(cdk_out: Path = CDK_OUT, *, time_scale: float = 1.0) -> int:
    """`time_scale` shortens the emulated product's durations (tests); 1 is the demo as documented."""
    resources = custom_resources_in_assembly(cdk_out, RESOURCE_TYPE)
    if not resources:
        raise SystemExit(f"no {RESOURCE_TYPE} in {cdk_out}: run `make synth` first")
    synthesized = resources[0]
    say(
        f"Synthesized custom resource {synthesized.logical_id} ({RESOURCE_TYPE}); each deployment sends it "
        "with the seeded plan's id as its PlanId"
    )
    with LocalCloud(cdk_out, progress=on_progress, time_scale=time_scale) as cloud:
        sc = cloud.servicecatalog
        say(
            f"Service Catalog emulator on {sc.endpoint_url}; provider function "
            f"{cloud.spec.function_name} from {cdk_out.name}/{cloud.spec.asset_dir.name}"
        )
        product = sc.add_product(
            PRODUCT_NAME,
            ProvisioningScript(
                plan_duration=1, duration=4, outputs={"BucketName": "demo-bucket-v1"}, terminate_duration=2
            ),
        )
        first = sc.create_plan(product.id, product.artifact_id("v1"), PROVISIONED_PRODUCT_NAME)
        say(f"Seeded product {product.id} and plan {first.id} ({first.status})")

        def definition(step: str, plan_id: str) -> CustomResource:
            resource = replace(synthesized, properties={**synthesized.properties, "PlanId": plan_id})
            say(f"{step} {resource.logical_id} with properties {resource.properties}")
            return resource

        watcher = RecordWatcher(sc)
        watcher.start()
        stack = cloud.stack("ServiceCatalogPlanDemo")
        results = {"create": stack.create(definition("Create", first.id))}
        sc.set_script(
            product.artifact_id("v1"),
            ProvisioningScript(duration=3, outputs={"BucketName": "demo-bucket-v2"}, terminate_duration=2),
        )
        # One plan per provisioned product: the executed plan goes before the next one is created.
        sc.client().delete_provisioned_product_plan(PlanId=first.id, IgnoreErrors=True)
        second = sc.create_plan(product.id, product.artifact_id("v1"), PROVISIONED_PRODUCT_NAME)
        say(f"Deleted the executed plan {first.id}; seeded the second plan {second.id} for the same product")
        results["update"] = stack.update(definition("Update", second.id))
        results["delete"] = stack.delete()
        print()
        print(stack.summary())
        print()

        spec_stack, spec_results, spec_failures = spec_deployment(cloud, synthesized, product)
        watcher.stop()

        print()
        print(spec_stack.summary())
        failures = [f"{step}: {result.status}" for step, result in results.items() if result.status != EXPECTED[step]]
        failures += [
            f"spec {step}: {result.status}" for step, result in spec_results.items() if result.status != EXPECTED[step]
        ]
        failures += spec_failures
        left = [p.id for p in sc.provisioned_products()]
        if left:
            failures.append(f"provisioned products left behind: {left}")
        plans = [p.id for p in sc.plans() if p.id != second.id]  # the second plan is the user's to keep
        if plans:
            failures.append(f"plans left behind: {plans}")
    if failures:
        print("DEMO FAILED: " + "; ".join(failures), file=sys.stderr)
        return 1
    print("Demo passed: Create -> Update -> Delete from plans, then from a spec, on the local cloud.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
