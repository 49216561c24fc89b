"""The provider without CDK: a code zip and a CloudFormation template that takes its S3 location.

StackSets and plain `aws cloudformation deploy` cannot use CDK assets (those live in a bootstrapped
account's staging bucket), so `make package` writes `dist/` with

- `sc-plan-provider-<version>-<sha256[:12]>.zip`: the function's code, bundled by the same
  `LocalPipBundling` as the construct's asset and zipped reproducibly (sorted entries, fixed
  timestamps and modes), so the same sources give the same bytes and the same key;
- `sc-plan-provider.template.json`: `PlanExecutionProviderStack` itself, synthesized with the code
  from `Code.from_bucket` on the `CodeS3Bucket`/`CodeS3Key` parameters and the export name from
  `ExportName`, the provider options from `KmsKeyArn`, `SubnetIds`/`SecurityGroupIds`,
  `ReservedConcurrentExecutions` and `AlarmTopicArn` (each empty by default, each switching its
  option on through a Condition), by a synthesizer that adds no bootstrap rule, no asset
  parameters and no CDK metadata. One definition of the provider serves both ways of deploying it.

Run `python -m sc_plan_execution.standalone dist [--cdk-json cdk.json]`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_cdk import (
    Acknowledgment,
    App,
    BootstraplessSynthesizer,
    CfnCondition,
    CfnParameter,
    CfnRule,
    CfnRuleAssertion,
    DockerImage,
    Fn,
    Token,
    Validations,
)
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from sc_plan_execution.bundling import UNUSED_IMAGE, LocalPipBundling
from sc_plan_execution.provider_options import Conditional, ParameterizedOptions, VpcConfig
from sc_plan_execution.provider_stack import DEFAULT_EXPORT_NAME, PlanExecutionProviderStack
from sc_plan_provider import __version__

ZIP_PREFIX = "sc-plan-provider"
TEMPLATE_NAME = f"{ZIP_PREFIX}.template.json"
STACK_ID = "ServiceCatalogPlanProvider"
CODE_BUCKET_PARAMETER = "CodeS3Bucket"
CODE_KEY_PARAMETER = "CodeS3Key"
EXPORT_NAME_PARAMETER = "ExportName"
KMS_KEY_PARAMETER = "KmsKeyArn"
SUBNETS_PARAMETER = "SubnetIds"
SECURITY_GROUPS_PARAMETER = "SecurityGroupIds"
CONCURRENCY_PARAMETER = "ReservedConcurrentExecutions"
ALARM_TOPIC_PARAMETER = "AlarmTopicArn"
DRIFT_CHECK_SCHEDULE_PARAMETER = "DriftCheckSchedule"
OPTION_PARAMETERS = (
    KMS_KEY_PARAMETER,
    SUBNETS_PARAMETER,
    SECURITY_GROUPS_PARAMETER,
    CONCURRENCY_PARAMETER,
    ALARM_TOPIC_PARAMETER,
    DRIFT_CHECK_SCHEDULE_PARAMETER,
)
# The conditions that switch the options on (each true when its parameter is not empty).
HAS_KEY_CONDITION = "HasEncryptionKey"
IN_VPC_CONDITION = "InVpc"
HAS_CONCURRENCY_CONDITION = "HasReservedConcurrency"
HAS_ALARM_TOPIC_CONDITION = "HasAlarmTopic"
HAS_DRIFT_CHECK_CONDITION = "HasDriftCheckSchedule"

# ZIP cannot store dates before 1980; a fixed one makes the archive depend on content only.
ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
EXECUTABLE_MODE = 0o755
_UNIX = 3  # ZipInfo.create_system: the modes in external_attr are Unix modes


@dataclass(frozen=True)
class StandalonePackage:
    """What `package` wrote."""

    code_zip: Path
    template: Path


class StandaloneProviderStack(PlanExecutionProviderStack):
    """The provider stack with its code and export name as CloudFormation parameters, no assets."""

    def __init__(self, scope: Construct | None, construct_id: str, *, default_code_key: str | None = None) -> None:
        self._default_code_key = default_code_key
        super().__init__(
            scope,
            construct_id,
            description=f"Shared provider for Custom::ServiceCatalogPlanExecution resources ({__version__})",
            # No bootstrap version rule or parameter, no asset support: deployable anywhere.
            synthesizer=BootstraplessSynthesizer(),
            analytics_reporting=False,
        )

    def function_code(self) -> lambda_.Code:
        bucket = CfnParameter(
            self,
            CODE_BUCKET_PARAMETER,
            description=(
                "S3 bucket holding the provider's code zip, in this stack's Region and readable by "
                "the identity that deploys the stack"
            ),
            allowed_pattern=r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$",
        )
        key = CfnParameter(
            self,
            CODE_KEY_PARAMETER,
            description=f"S3 key of the code zip ({ZIP_PREFIX}-<version>-<hash>.zip from `make package`)",
            min_length=1,
            default=self._default_code_key,
        )
        code_bucket = s3.Bucket.from_bucket_name(self, "CodeBucket", bucket.value_as_string)
        Validations.of(code_bucket).acknowledge(
            Acknowledgment(
                id="Annotation::@aws-cdk/aws-lambda:codeFromBucketObjectVersionNotSpecified",
                reason=(
                    "The key names the zip's version and content hash, so new code always comes with a "
                    "new CodeS3Key (and so a function update); an object version would add nothing."
                ),
            )
        )
        return lambda_.Code.from_bucket(code_bucket, key.value_as_string)

    def parameterized_options(self) -> ParameterizedOptions:
        """Every provider option as a parameter, empty by default (the documented defaults)."""
        key_arn = CfnParameter(
            self,
            KMS_KEY_PARAMETER,
            description=(
                "ARN of a customer-managed KMS key for both tables, the log group, the function's environment "
                "and the dead-letter queue; its key policy must let logs.<region>.amazonaws.com use it "
                "(docs/operations.md). "
                "Empty: AWS-owned keys"
            ),
            default="",
            allowed_pattern=r"^(arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+)?$",
        ).value_as_string
        subnets = CfnParameter(
            self,
            SUBNETS_PARAMETER,
            type="CommaDelimitedList",
            description=(
                "Subnets to run the function in (they need VPC endpoints or NAT to Service Catalog, DynamoDB, "
                "Lambda, X-Ray and S3: docs/operations.md). Empty: no VPC"
            ),
            default="",
        ).value_as_list
        groups = CfnParameter(
            self,
            SECURITY_GROUPS_PARAMETER,
            type="CommaDelimitedList",
            description="Security groups of the function in those subnets (required with SubnetIds)",
            default="",
        ).value_as_list
        concurrency = CfnParameter(
            self,
            CONCURRENCY_PARAMETER,
            description="Reserved concurrent executions of the function. Empty: no reservation",
            default="",
            allowed_pattern=r"^([1-9][0-9]*)?$",
        ).value_as_string
        topic_arn = CfnParameter(
            self,
            ALARM_TOPIC_PARAMETER,
            description="SNS topic the provider's alarms notify. Empty: alarms without an action",
            default="",
            allowed_pattern=r"^(arn:aws[a-z-]*:sns:[a-z0-9-]+:[0-9]{12}:[A-Za-z0-9_-]+)?$",
        ).value_as_string
        schedule = CfnParameter(
            self,
            DRIFT_CHECK_SCHEDULE_PARAMETER,
            description=(
                "EventBridge schedule expression of the drift check, e.g. rate(1 hour) or cron(0 6 * * ? *) "
                "(docs/drift.md). Empty: no scheduled check"
            ),
            default="",
            allowed_pattern=r"^((rate|cron)\(.+\))?$",
        ).value_as_string
        given_subnets = Fn.condition_not(Fn.condition_each_member_equals(subnets, ""))
        given_groups = Fn.condition_not(Fn.condition_each_member_equals(groups, ""))
        CfnRule(
            self,
            "SubnetsWithSecurityGroups",
            rule_condition=Fn.condition_or(given_subnets, given_groups),
            assertions=[
                CfnRuleAssertion(
                    assert_=Fn.condition_and(given_subnets, given_groups),
                    assert_description="SubnetIds and SecurityGroupIds go together: give both or neither.",
                )
            ],
        )
        return ParameterizedOptions(
            encryption_key=Conditional(
                kms.Key.from_key_arn(self, "EncryptionKey", key_arn), self._given(HAS_KEY_CONDITION, key_arn)
            ),
            vpc_config=Conditional(
                VpcConfig(subnet_ids=subnets, security_group_ids=groups),
                CfnCondition(
                    self, IN_VPC_CONDITION, expression=Fn.condition_not(Fn.condition_equals(Fn.join("", subnets), ""))
                ),
            ),
            reserved_concurrent_executions=Conditional(
                Token.as_number(concurrency), self._given(HAS_CONCURRENCY_CONDITION, concurrency)
            ),
            alarm_topic=Conditional(
                sns.Topic.from_topic_arn(self, "AlarmTopic", topic_arn),
                self._given(HAS_ALARM_TOPIC_CONDITION, topic_arn),
            ),
            drift_check_schedule=Conditional(
                events.Schedule.expression(schedule), self._given(HAS_DRIFT_CHECK_CONDITION, schedule)
            ),
        )

    def _given(self, condition_id: str, value: str) -> CfnCondition:
        return CfnCondition(self, condition_id, expression=Fn.condition_not(Fn.condition_equals(value, "")))

    def service_token_export_name(self) -> str:
        return CfnParameter(
            self,
            EXPORT_NAME_PARAMETER,
            description="Export name of the function ARN (templates use ServiceToken: !ImportValue <this>)",
            default=DEFAULT_EXPORT_NAME,
            min_length=1,
        ).value_as_string


def zip_directory(source: Path, target: Path) -> None:
    """Zip `source`'s files into `target` reproducibly: sorted paths, fixed dates, normalized modes."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        files = {path.relative_to(source).as_posix(): path for path in source.rglob("*") if path.is_file()}
        for name, path in sorted(files.items()):
            info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
            executable = path.stat().st_mode & stat.S_IXUSR
            info.external_attr = (stat.S_IFREG | (EXECUTABLE_MODE if executable else FILE_MODE)) << 16
            info.create_system = _UNIX
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes(), compresslevel=9)


def build_code_zip(out_dir: Path, bundler: LocalPipBundling | None = None) -> Path:
    """Bundle the function as the construct does and zip it as `<prefix>-<version>-<hash>.zip`."""
    bundler = bundler or LocalPipBundling()
    with tempfile.TemporaryDirectory(prefix="sc-plan-provider-") as work:
        bundle = Path(work) / "bundle"
        bundle.mkdir()
        bundler.try_bundle(str(bundle), image=DockerImage.from_registry(UNUSED_IMAGE))
        unnamed = Path(work) / "code.zip"
        zip_directory(bundle, unnamed)
        digest = hashlib.sha256(unnamed.read_bytes()).hexdigest()[:12]
        out_dir.mkdir(parents=True, exist_ok=True)
        target = out_dir / f"{ZIP_PREFIX}-{__version__}-{digest}.zip"
        shutil.move(unnamed, target)
    return target


def standalone_template(
    *, default_code_key: str | None = None, context: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Synthesize `StandaloneProviderStack` and return its template. `context` carries feature flags
    (an app's cdk.json context), so the template matches what that app deploys."""
    with tempfile.TemporaryDirectory(prefix="sc-plan-provider-synth-") as outdir:
        app = App(outdir=outdir, context=context or {}, analytics_reporting=False)
        StandaloneProviderStack(app, STACK_ID, default_code_key=default_code_key)
        template: dict[str, Any] = app.synth().get_stack_by_name(STACK_ID).template
    return template


def package(dist: Path, *, context: dict[str, Any] | None = None) -> StandalonePackage:
    """Write the code zip and the template into `dist` (older zips of this prefix are removed)."""
    dist.mkdir(parents=True, exist_ok=True)
    for old in dist.glob(f"{ZIP_PREFIX}-*.zip"):
        old.unlink()
    code_zip = build_code_zip(dist)
    template_path = dist / TEMPLATE_NAME
    template = standalone_template(default_code_key=code_zip.name, context=context)
    template_path.write_text(json.dumps(template, indent=1, sort_keys=False) + "\n", encoding="utf-8")
    return StandalonePackage(code_zip=code_zip, template=template_path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write the provider's code zip and standalone template.")
    parser.add_argument("dist", type=Path, help="output folder, e.g. dist")
    parser.add_argument("--cdk-json", type=Path, help="take feature flags from this cdk.json's context")
    args = parser.parse_args(argv)
    context = json.loads(args.cdk_json.read_text())["context"] if args.cdk_json else None
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")
    result = package(args.dist, context=context)
    print(f"{result.code_zip}\n{result.template}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
