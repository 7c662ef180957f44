"""An EventBridge rule on "SageMaker Image Version State Change" for a project's images.

SageMaker sends the event with ``detail.ImageArn``, ``detail.ImageVersionArn``,
``detail.ImageVersionStatus`` and ``detail.Version``. The status is spelled two ways: the
SageMaker API (``DescribeImageVersion``) uses ``CREATING | CREATED | CREATE_FAILED | DELETING |
DELETE_FAILED``, while the EventBridge example in the SageMaker Developer Guide ("Events that
Amazon SageMaker AI sends to Amazon EventBridge", image version state change) shows
``"ImageVersionStatus": "Creating"``. A pattern that names one spelling may never fire, so
each status is matched with ``equals-ignore-case`` in both its API spelling and its
capitalised one (``CREATE_FAILED`` and ``CreateFailed``). The image ARN is matched the same
way: SageMaker lower-cases names in ARNs (the names here are lower case already).
"""

from __future__ import annotations

from typing import Optional, Sequence

from aws_cdk import aws_events as events
from constructs import Construct

from ..._internal.validation import invalid
from .image import SageMakerImage

DETAIL_TYPE = "SageMaker Image Version State Change"
#: ``ImageVersionStatus`` as the SageMaker API spells it.
IMAGE_VERSION_STATUSES = ("CREATING", "CREATED", "CREATE_FAILED", "DELETING", "DELETE_FAILED")


def status_spellings(status: str) -> list[str]:
    """``CREATE_FAILED`` -> ``["CREATE_FAILED", "CreateFailed"]``; ``CREATED`` -> ``["CREATED"]``
    (``Created`` is the same ignoring case)."""
    capitalised = "".join(part.capitalize() for part in status.split("_"))
    return [status] if capitalised.lower() == status.lower() else [status, capitalised]


def image_version_state_change_pattern(image_arns: Sequence[str], statuses: Sequence[str] = ("CREATED",)) -> events.EventPattern:
    """The events of ``image_arns``' versions reaching one of ``statuses`` (API spelling), in any case."""
    return events.EventPattern(
        source=["aws.sagemaker"],
        detail_type=[DETAIL_TYPE],
        detail={
            "ImageArn": [{"equals-ignore-case": arn} for arn in image_arns],
            "ImageVersionStatus": [
                {"equals-ignore-case": spelling} for status in statuses for spelling in status_spellings(status)
            ],
        },
    )


class ImageVersionRule(Construct):
    """Starts ``targets`` when a version of one of ``images`` reaches one of ``statuses``.

    In the image template, a new version (``CREATED``) of any of the project's images starts
    the model-build pipeline, which then uses the newest version of each image.

    :param images: the project's SageMaker images (one or more).
    :param statuses: which statuses fire the rule, as the API spells them. Default: ``CREATED``.
    :param targets: what the rule starts, e.g. ``aws_events_targets.CodePipeline(pipeline)``.
        Default: none; add some with ``rule.add_target``.
    :param description: Default: a sentence naming the statuses.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        images: Sequence[SageMakerImage],
        statuses: Sequence[str] = ("CREATED",),
        targets: Sequence[events.IRuleTarget] = (),
        description: Optional[str] = None,
    ) -> None:
        super().__init__(scope, construct_id)
        images = list(images)
        if not images:
            raise invalid("images", images, "one or more SageMakerImage")
        statuses = [s.upper() if isinstance(s, str) else s for s in statuses]
        unknown = [s for s in statuses if s not in IMAGE_VERSION_STATUSES]
        if not statuses or unknown or len(set(statuses)) != len(statuses):
            raise invalid("statuses", list(statuses), "one or more distinct of " + ", ".join(IMAGE_VERSION_STATUSES))
        #: The event pattern (handy for tests that route sample events).
        self.event_pattern = image_version_state_change_pattern([i.image_arn for i in images], statuses)
        #: The EventBridge rule.
        self.rule = events.Rule(
            self,
            "Rule",
            description=description
            or f"Fires when a version of the project's images becomes {' or '.join(statuses)}",
            event_pattern=self.event_pattern,
            targets=list(targets),
        )
