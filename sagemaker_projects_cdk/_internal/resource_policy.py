"""Statements a resource policy holds only under a CloudFormation condition.

IAM has no optional statement, and aws-cdk-lib's ``PolicyDocument`` renders every statement it
holds. A deploy target given as a template parameter (``StagingAccountId``) may be this
account or another one, decided at deployment, so its grants in the tooling account's bucket,
key and group policies must exist only when it is another account. :class:`ConditionalStatements`
appends them to the rendered ``Statement`` list of one L1 property as
``{"Fn::If": [<condition>, <statement>, {"Ref": "AWS::NoValue"}]}`` (unconditionally when the
condition is None), after every statement aws-cdk-lib put there, so a template whose targets
are all this account is unchanged.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import jsii
from aws_cdk import Aws, CfnCondition, CfnResource, Fn, IResolvable, IResolveContext, ResolutionTypeHint, Stack, Token
from aws_cdk import aws_iam as iam


class ConditionalStatements:
    """The statements appended to ``resource``'s policy document at ``property_path``.

    :param resource: the L1 resource holding the policy (``AWS::S3::BucketPolicy``,
        ``AWS::KMS::Key``, ``AWS::SageMaker::ModelPackageGroup``).
    :param property_path: the document's property (``PolicyDocument``, ``KeyPolicy``,
        ``ModelPackageGroupPolicy``).
    :param document: the document aws-cdk-lib renders there (a ``PolicyDocument``), or None
        when the property is empty: a whole document is then written when a statement is
        added, present only under ``document_condition``.
    :param document_condition: with no ``document``, the condition under which the written
        document exists (it must hold whenever one of the added statements' conditions does:
        a policy without statements is invalid). Default: always.
    """

    def __init__(
        self,
        resource: CfnResource,
        property_path: str,
        document: Optional[Any],
        *,
        document_condition: Optional[CfnCondition] = None,
    ) -> None:
        self._resource = resource
        self._path = property_path
        self._document = document
        self._document_condition = document_condition
        self._added: list[tuple[Optional[CfnCondition], iam.PolicyStatement]] = []
        self._otherwise: dict[int, iam.PolicyStatement] = {}

    def add(
        self,
        statement: iam.PolicyStatement,
        condition: Optional[CfnCondition] = None,
        *,
        otherwise: Optional[iam.PolicyStatement] = None,
    ) -> None:
        """Append ``statement``, kept only when ``condition`` holds (always when None); when it
        does not, ``otherwise`` takes its place (default: nothing)."""
        if otherwise is not None:
            self._otherwise[len(self._added)] = otherwise
        if not self._added:
            if self._document is not None:
                self._resource.add_property_override(f"{self._path}.Statement", _Produce(self.render))
            else:
                self._resource.add_property_override(self._path, _Produce(self.render_document))
        self._added.append((condition, statement))

    def render(self) -> list[Any]:
        """The full ``Statement`` list: aws-cdk-lib's, then the added ones."""
        existing: list[Any] = []
        if self._document is not None:
            rendered = Stack.of(self._resource).resolve(self._document)
            existing = list(rendered.get("Statement", [])) if isinstance(rendered, dict) else []
        return existing + [
            statement.to_statement_json()
            if condition is None
            else Fn.condition_if(
                condition.logical_id,
                statement.to_statement_json(),
                self._otherwise[index].to_statement_json() if index in self._otherwise else Aws.NO_VALUE,
            )
            for index, (condition, statement) in enumerate(self._added)
        ]

    def render_document(self) -> Any:
        """A whole document of the added statements (absent unless ``document_condition`` holds)."""
        document = {"Version": "2012-10-17", "Statement": self.render()}
        if self._document_condition is None:
            return document
        return Fn.condition_if(self._document_condition.logical_id, document, Aws.NO_VALUE)

    @property
    def statements(self) -> Sequence[tuple[Optional[CfnCondition], iam.PolicyStatement]]:
        """The added statements, with their conditions."""
        return tuple(self._added)


@jsii.implements(IResolvable)
class _Produce:
    """A value computed when the template is rendered (after every construct is added)."""

    def __init__(self, produce: Callable[[], Any]) -> None:
        self._produce = produce

    @property
    def creation_stack(self) -> list[str]:
        return []

    @property
    def type_hint(self) -> Optional[ResolutionTypeHint]:
        return None

    def resolve(self, context: IResolveContext) -> Any:
        return self._produce()

    def to_string(self) -> str:
        return Token.as_string(self)
