"""A project's CloudWatch dashboard: its pipelines, its stage endpoints, its monitors.

Widgets, top to bottom:

1. a text header naming the project, with a console link to each CodePipeline's
   execution history (CodePipeline publishes no CloudWatch metrics);
2. with a SageMaker pipeline (``AWS/Sagemaker/ModelBuildingPipeline``, by ``PipelineName``):
   executions started, succeeded and failed; execution duration; and each step's duration
   (a search over ``StepDuration`` by ``PipelineName`` and ``StepName``, so new steps appear);
3. per stage endpoint ``<name>-<id>-<stage>`` (``AWS/SageMaker``, by ``EndpointName`` and
   ``VariantName``): invocations and 5xx errors; model latency (average and p90, in
   milliseconds); and instances (the count of ``CPUUtilization`` samples per minute in
   ``/aws/sagemaker/Endpoints``: SageMaker publishes no instance-count metric, every
   instance reports one sample a minute);
4. the monitors' section: a placeholder until a monitor adds its widgets
   (:meth:`ProjectDashboard.add_monitor_widgets`).
"""

from __future__ import annotations

from typing import Optional, Sequence

from aws_cdk import Duration, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from constructs import Construct

from ..project.identity import ProjectIdentity

#: The SageMaker pipeline metrics' namespace (Amazon SageMaker AI metrics in CloudWatch).
PIPELINE_NAMESPACE = "AWS/Sagemaker/ModelBuildingPipeline"
#: Endpoint invocation metrics, by EndpointName and VariantName.
ENDPOINT_NAMESPACE = "AWS/SageMaker"
#: Endpoint instance metrics, by EndpointName and VariantName.
ENDPOINT_INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
#: Where Model Monitor publishes each monitor's metrics (real-time endpoints), by dimensions
#: ``Endpoint`` and ``MonitoringSchedule``.
MONITOR_NAMESPACES = (
    "aws/sagemaker/Endpoints/data-metrics",
    "aws/sagemaker/Endpoints/model-metrics",
    "aws/sagemaker/Endpoints/bias-metrics",
    "aws/sagemaker/Endpoints/explainability-metrics",
)
#: The monitors' section's header when the project has monitors.
MONITOR_TEXT = (
    "## Monitors\nWhat each stage's monitoring jobs publish (hourly maximum). Only the endpoints in this account appear; "
    "a drift alarm notifies the project's topic."
)
#: What the monitors' section says until a monitor adds its widgets.
NO_MONITOR_TEXT = (
    "## Monitors\nNo model monitor in this project yet: a monitoring schedule's violations appear here when one is added."
)


class ProjectDashboard(Construct):
    """The project's dashboard ``sagemaker-<name>-<id>-dashboard``.

    :param project: the project.
    :param codepipeline_names: the project's CodePipelines (console links).
    :param sagemaker_pipeline_name: the SageMaker pipeline the project runs. Default: none.
    :param endpoint_stages: the deploy stages; each has an endpoint ``<name>-<id>-<stage>``.
        Default: none.
    :param variant_name: the endpoints' production variant. Default: ``AllTraffic`` (as
        ``InstanceVariant`` names it).
    :param monitor_stages: the stages whose endpoints Model Monitor watches: the monitors'
        section charts what each stage's monitors publish (a search by endpoint in the four
        Model Monitor namespaces, so every metric of every monitor appears). Default: none (a
        note in their place).
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        project: ProjectIdentity,
        codepipeline_names: Sequence[str] = (),
        sagemaker_pipeline_name: Optional[str] = None,
        endpoint_stages: Sequence[str] = (),
        variant_name: str = "AllTraffic",
        monitor_stages: Sequence[str] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        region = Stack.of(self).region
        #: The dashboard.
        self.dashboard = cloudwatch.Dashboard(
            self,
            "Dashboard",
            dashboard_name=project.resource_name("dashboard"),
            default_interval=Duration.days(7),
        )
        links = "\n".join(
            f"- [{name}](https://{region}.console.aws.amazon.com/codesuite/codepipeline/pipelines/{name}/executions?region={region})"
            for name in codepipeline_names
        )
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=f"# SageMaker project {project.project_name} ({project.project_id})\n"
                f"Pipeline executions (CodePipeline publishes no metrics: open its history):\n{links}",
                width=24,
                height=2 + len(codepipeline_names),
            )
        )
        if sagemaker_pipeline_name is not None:
            self.dashboard.add_widgets(*self._sagemaker_pipeline_widgets(sagemaker_pipeline_name))
        for stage in endpoint_stages:
            endpoint_name = f"{project.project_name}-{project.project_id}-{stage}"
            self.dashboard.add_widgets(*self._endpoint_widgets(stage, endpoint_name, variant_name))
        if not monitor_stages:
            self._monitors = cloudwatch.TextWidget(markdown=NO_MONITOR_TEXT, width=24, height=2)
            self.dashboard.add_widgets(self._monitors)
            return
        self._monitors = cloudwatch.TextWidget(markdown=MONITOR_TEXT, width=24, height=2)
        self.dashboard.add_widgets(self._monitors)
        for stage in monitor_stages:
            endpoint_name = f"{project.project_name}-{project.project_id}-{stage}"
            self.dashboard.add_widgets(self._monitor_widget(stage, endpoint_name))

    @staticmethod
    def _monitor_widget(stage: str, endpoint_name: str) -> cloudwatch.IWidget:
        searches = [
            cloudwatch.MathExpression(
                expression=f"SEARCH('{{{namespace},Endpoint,MonitoringSchedule}} Endpoint=\"{endpoint_name}\"', 'Maximum', 3600)",
                using_metrics={},
                label="",
                period=Duration.hours(1),
            )
            for namespace in MONITOR_NAMESPACES
        ]
        return cloudwatch.GraphWidget(title=f"Model Monitor metrics of the {stage} endpoint", left=searches, width=24)

    @staticmethod
    def _sagemaker_pipeline_widgets(pipeline_name: str) -> list[cloudwatch.IWidget]:
        def metric(name: str, statistic: str) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=PIPELINE_NAMESPACE,
                metric_name=name,
                dimensions_map={"PipelineName": pipeline_name},
                statistic=statistic,
                period=Duration.hours(1),
            )

        steps = cloudwatch.MathExpression(
            expression=(
                f"SEARCH('{{{PIPELINE_NAMESPACE},PipelineName,StepName}} MetricName=\"StepDuration\" "
                f"PipelineName=\"{pipeline_name}\"', 'Average', 3600)"
            ),
            using_metrics={},
            label="",
            period=Duration.hours(1),
        )
        return [
            cloudwatch.GraphWidget(
                title="SageMaker pipeline executions",
                left=[metric(name, "Sum") for name in ("ExecutionStarted", "ExecutionSucceeded", "ExecutionFailed")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="SageMaker pipeline execution duration (ms)",
                left=[metric("ExecutionDuration", "Average"), metric("ExecutionDuration", "Maximum")],
                width=8,
            ),
            cloudwatch.GraphWidget(title="SageMaker pipeline step durations (ms)", left=[steps], width=8),
        ]

    @staticmethod
    def _endpoint_widgets(stage: str, endpoint_name: str, variant_name: str) -> list[cloudwatch.IWidget]:
        dimensions = {"EndpointName": endpoint_name, "VariantName": variant_name}

        def metric(name: str, statistic: str, namespace: str = ENDPOINT_NAMESPACE) -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace=namespace,
                metric_name=name,
                dimensions_map=dimensions,
                statistic=statistic,
                period=Duration.minutes(1) if namespace == ENDPOINT_INSTANCE_NAMESPACE else Duration.minutes(5),
            )

        def latency_ms(statistic: str) -> cloudwatch.MathExpression:
            # Each expression's metric has an id of its own within the graph.
            name = "latency" + "".join(c for c in statistic if c.isalnum()).lower()
            return cloudwatch.MathExpression(
                expression=f"{name} / 1000",
                using_metrics={name: metric("ModelLatency", statistic)},
                label=f"ModelLatency {statistic} (ms)",
                period=Duration.minutes(5),
            )

        return [
            cloudwatch.GraphWidget(
                title=f"{stage} endpoint: invocations and server errors",
                left=[metric("Invocations", "Sum")],
                right=[metric("Invocation5XXErrors", "Sum")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title=f"{stage} endpoint: model latency (ms)",
                left=[latency_ms("Average"), latency_ms("p90")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title=f"{stage} endpoint: instances (CPU samples per minute)",
                # One sample per instance per minute: over a range that raises the period (CloudWatch
                # shows at most 1,440 points), divide by the period's minutes.
                left=[
                    cloudwatch.MathExpression(
                        expression="samples / (PERIOD(samples) / 60)",
                        using_metrics={"samples": metric("CPUUtilization", "SampleCount", ENDPOINT_INSTANCE_NAMESPACE)},
                        label="instances",
                        period=Duration.minutes(1),
                    )
                ],
                width=8,
            ),
        ]

    def add_monitor_widgets(self, *widgets: cloudwatch.IWidget) -> None:
        """Add a monitor's widgets (its violations) to the monitors' section."""
        self.dashboard.add_widgets(*widgets)
