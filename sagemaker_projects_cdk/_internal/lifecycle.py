"""The function behind the project's lifecycle custom resources (stage teardown, retained-name check).

One small Python function per custom resource, from ``lifecycle_function/index.py``: its own
role (what the caller grants, and its log group), its log group encrypted with the project key
and retained, and CloudFormation as its only caller. It answers CloudFormation itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional

from aws_cdk import CustomResource, Duration
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, IConstruct

from ..compliance import acknowledge, acknowledge_deployment_function
from .logs import encrypted_log_group

#: The folder shipped as the functions' code (package data).
CODE_DIRECTORY = Path(__file__).parent / "lifecycle_function"
#: How long one invocation may wait (Lambda's maximum); the handler answers a minute before.
TIMEOUT = Duration.minutes(15)

def _code_excludes(handler: str) -> list[str]:
    """What a function of ``handler`` leaves out of the folder: caches, and the modules it does not run."""
    module = handler.split(".")[0] if "." in handler else "index"
    others = sorted(f.name for f in CODE_DIRECTORY.glob("*.py") if f.stem not in {"index", module, "__init__"})
    return ["__pycache__", "*.pyc", "__init__.py", *others]


class LifecycleFunction(Construct):
    """A function running ``index.<handler>`` of ``lifecycle_function/`` for custom resources.

    :param handler: the entry point in ``index.py`` (``teardown``, ``precheck``), or
        ``<module>.<function>`` in another module of the folder (``seeding.seed``). The
        function's code leaves out the folder's other modules (``index.py`` stays: it holds
        the custom resource protocol).
    :param description: what it does (the role's and the function's description).
    :param encryption_key: encrypts its log group.
    """

    def __init__(
        self, scope: Construct, construct_id: str, *, handler: str, description: str, encryption_key: kms.IKey
    ) -> None:
        super().__init__(scope, construct_id)
        #: Its log group (retained, encrypted with the project key).
        self.log_group = encrypted_log_group(self, encryption_key=encryption_key)
        #: Its role: writes its log group, and what the owner adds.
        self.role = iam.Role(
            self, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=description
        )
        self.role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[self.log_group.log_group_arn]
            )
        )
        #: The function.
        self.function = lambda_.Function(
            self,
            "Function",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler=handler if "." in handler else f"index.{handler}",
            code=lambda_.Code.from_asset(str(CODE_DIRECTORY), exclude=_code_excludes(handler)),
            timeout=TIMEOUT,
            role=self.role,
            log_group=self.log_group,
            description=description,
        )
        acknowledge_deployment_function(
            self.function,
            purpose="runs only when CloudFormation creates, updates or deletes the project stack, and answers "
            "CloudFormation itself",
        )
        acknowledge(
            self.role.node.find_child("DefaultPolicy"),
            "the inline policy belongs to this one role and is deleted with it",
            "HIPAA.Security-IAMNoInlinePolicy",
            "NIST.800.53.R5-IAMNoInlinePolicy",
        )

    @property
    def policy(self) -> IConstruct:
        """The role's inline policy (where acknowledgements of its grants go)."""
        return self.role.node.find_child("DefaultPolicy")

    def custom_resource(
        self,
        scope: Construct,
        construct_id: str,
        *,
        resource_type: str,
        properties: Optional[Mapping[str, Any]] = None,
    ) -> CustomResource:
        """A custom resource of ``resource_type`` served by this function; it depends on the
        role's policy, so CloudFormation deletes it while the function may still act."""
        resource = CustomResource(
            scope,
            construct_id,
            service_token=self.function.function_arn,
            resource_type=resource_type,
            properties=dict(properties or {}),
            # The function answers within its timeout; a lost answer fails soon, not after an hour.
            service_timeout=TIMEOUT.plus(Duration.minutes(5)),
        )
        resource.node.add_dependency(self.role)
        return resource
