"""Which test proves each IAM role sufficient (and no broader than needed): one claim per role.

``tests/test_role_coverage.py`` fails for a role of any synthesized template (see
``role_checks.all_templates``) that no claim matches, or that two claims match, and for a
claim whose test does not exist or that matches no role. To add a role: write the check
(evaluate what runs with the role against its policy with ``iam_eval``; for code, record its
calls with ``call_recorder``; for a service, derive its calls from the AWS docs), then add a
``Claim`` naming the role's logical id pattern, the templates it covers and the test.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Template names (``role_checks.all_templates``) by group, as regular expressions.
PROJECTS = r"(studio/)?(model-build|model-deploy|build-deploy|build-deploy-git|image-build-deploy|build-deploy-jenkins|build-deploy-monitor)"
BUILDING = r"(studio/)?(model-build|build-deploy|build-deploy-git|image-build-deploy|build-deploy-jenkins|build-deploy-monitor)"
DEPLOYING = r"(studio/)?(model-deploy|build-deploy|build-deploy-git|image-build-deploy|build-deploy-jenkins|build-deploy-monitor)"
IMAGES = r"(studio/)?image-build-deploy"
MONITORING = r"(studio/)?build-deploy-monitor"
_IMAGE_TYPE = r"(Processing|Training|Inference)"
_ID = r"[0-9A-F]{8}"


@dataclass(frozen=True)
class Claim:
    #: The role's logical id, a regular expression matched in full.
    role: str
    #: The names of the templates the test covers the role in, a regular expression matched in full.
    templates: str
    #: ``<path from the repository root>::<test function>``.
    test: str
    #: What the test checks the role against, in one line.
    description: str


_CUSTOM = "tests/test_custom_resource_roles.py::"
_SERVICE = "tests/test_service_roles.py::"
_SEED = "tests/seed/test_role_sufficiency.py::"
_PRODUCTS = "tests/test_role_coverage.py::test_the_studio_products_roles_are_the_checked_templates_roles"
_TARGETS = "tests/unit/constructs/targets/"
_IMAGES = "tests/test_image_template_roles.py::"
_MONITOR = "tests/test_monitor_template_roles.py::"

CLAIMS = [
    Claim(
        rf"RetainedResourceCheckHandlerRole{_ID}", PROJECTS,
        _CUSTOM + "test_the_retained_resource_check_role_may_make_every_call_of_its_function",
        "the retained-name check's handler run in moto (Create/Update/Delete, names free and taken), calls recorded",
    ),
    Claim(
        rf"MonitorTeardownHandlerRole{_ID}", MONITORING,
        _CUSTOM + "test_the_stage_teardown_role_may_make_every_call_of_its_function",
        "the monitor stage teardown's handler run in moto (monitor stage stacks present and absent), calls recorded",
    ),
    Claim(
        rf"StageTeardownHandlerRole{_ID}", DEPLOYING,
        _CUSTOM + "test_the_stage_teardown_role_may_make_every_call_of_its_function",
        "the stage teardown's handler run in moto (stage stacks present and absent), calls recorded",
    ),
    Claim(
        rf"RepositorySeederHandlerRole{_ID}", r"(studio/)?build-deploy-(git|jenkins)",
        _CUSTOM + "test_the_seeding_handler_role_may_start_wait_for_and_stop_the_build",
        "seeding.py's CodeBuild calls (StartBuild, BatchGetBuilds, StopBuild) on the seeding project, and its logs",
    ),
    Claim(
        rf"RepositorySeederBuildRole{_ID}", r"(studio/)?build-deploy-(git|jenkins)",
        _CUSTOM + "test_the_seeding_build_role_may_read_the_seeds_and_push_through_the_connection",
        "the seeding build: its S3 source and logs, aws s3 cp of each seed, git pull and push through the connection",
    ),
    Claim(
        rf"DatasetRole{_ID}", BUILDING,
        _CUSTOM + "test_the_data_set_copy_role_may_copy_the_data_set",
        "the data set's CopyObject from its AwsCustomResource parameters (SSE-S3 and SSE-KMS asset buckets)",
    ),
    Claim(
        rf"StudioS3TemplatesRole{_ID}", "studio",
        _CUSTOM + "test_the_s3_templates_role_may_copy_tag_and_delete_every_template",
        "each S3 template's CopyObject (tags replaced) and DeleteObject from the AwsCustomResource parameters",
    ),
    Claim(
        rf"CustomCDKBucketDeployment[0-9A-F]{{32}}512MiBServiceRole{_ID}", "studio",
        _CUSTOM + "test_the_bucket_deployment_role_may_copy_every_product_asset",
        "aws-cdk-lib's bucket deployment of the product assets: each source read, written to the template bucket",
    ),
    Claim(
        rf"ModelBuildExecutionRole{_ID}", BUILDING,
        "tests/seed/test_execution_role.py::test_the_execution_role_may_do_what_sagemaker_does_for_every_step",
        "what SageMaker does with it for each step of the seed pipeline's definition (SageMaker execution role docs)",
    ),
    Claim(
        rf"ModelBuildRole{_ID}", "model-build|build-deploy|build-deploy-git",
        _SEED + "test_the_model_build_role_may_make_every_call_of_run_pipeline",
        "run_pipeline.py's calls in moto (create, then update and start the pipeline), recorded",
    ),
    Claim(
        rf"ModelDeployBuildRole{_ID}", "model-deploy|build-deploy|build-deploy-git",
        _SEED + "test_the_deploy_build_role_may_make_every_call_of_build_py",
        "build.py's calls in moto for each deploy scenario, recorded",
    ),
    Claim(
        rf"ModelDeployTestStagingRole{_ID}", "model-deploy|build-deploy|build-deploy-git",
        _SEED + "test_the_staging_test_role_may_make_every_call_of_test_endpoint_py",
        "test_endpoint.py's calls in moto against the deployed staging endpoint, recorded",
    ),
    Claim(
        rf"ModelDeployRecordChangeProdRole{_ID}", "model-deploy|build-deploy|build-deploy-git",
        _SEED + "test_the_change_record_role_may_make_every_call_of_change_record_py",
        "change_record.py's calls in moto after the prod deployment, recorded",
    ),
    Claim(
        rf"ModelDeployDeployerRole{_ID}", "model-deploy|build-deploy|build-deploy-git|build-deploy-jenkins",
        "tests/unit/constructs/deploy/test_deployer_role.py::test_deployer_allows_every_handler_permission_of_the_stage_template",
        "the CloudFormation handler permissions of the stage template's resources (cfn-lint's schemas)",
    ),
    Claim(
        rf"(ModelBuildRole|ModelDeployBuildRole|ModelDeployTestStagingRole|ModelDeployRecordChangeProdRole|ModelDeployDeployerRole){_ID}",
        r"studio/(model-build|model-deploy|build-deploy|build-deploy-git)",
        _PRODUCTS,
        "resolved with the same parameters, the same policies as in the standalone template, where they are checked",
    ),
    Claim(
        rf"JenkinsRole{_ID}", "build-deploy-jenkins",
        _SEED + "test_the_jenkins_role_may_make_every_call_of_the_jenkinsfiles",
        "run_pipeline.py, build.py and test_endpoint.py's recorded calls, and aws cloudformation deploy's, as Jenkins runs them",
    ),
    Claim(
        rf"JenkinsTriggerDestinationEventsRole{_ID}", "build-deploy-jenkins",
        _SERVICE + "test_the_jenkins_trigger_role_may_invoke_its_api_destination_only",
        "EventBridge invoking the rule's API destination (EventBridge docs: events:InvokeApiDestination)",
    ),
    Claim(
        rf"(JenkinsRole|JenkinsTriggerDestinationEventsRole|ModelDeployDeployerRole){_ID}",
        r"studio/build-deploy-jenkins",
        _PRODUCTS,
        "resolved with the same parameters, the same policies as in the standalone template, where they are checked",
    ),
    Claim(
        rf"StudioLaunchRole{_ID}", "studio",
        "tests/unit/studio/test_studio_launch_role.py::test_role_holds_every_handler_permission_the_product_templates_need",
        "the CloudFormation handler permissions of the product templates' resources (cfn-lint's schemas)",
    ),
    Claim(
        rf"(ModelBuildRole|ModelDeployBuildRole|ModelDeployTestStagingRole|ModelDeployRecordChangeProdRole|ModelDeployDeployerRole){_ID}",
        IMAGES,
        _IMAGES + "test_the_build_deploy_roles_have_build_deploys_policies_in_the_image_template",
        "resolved with the same parameters, the same policies as in build-deploy, where they are checked",
    ),
    Claim(
        rf"{_IMAGE_TYPE}ImageRole{_ID}", IMAGES,
        _IMAGES + "test_the_image_roles_may_read_their_repository_only",
        "what SageMaker may do with an image's role: log in to ECR, pull and describe its own repository's images",
    ),
    Claim(
        rf"{_IMAGE_TYPE}ImageBuildRole{_ID}", IMAGES,
        _IMAGES + "test_the_image_build_roles_may_push_and_record_their_image",
        "the buildspec's docker login, pull and push, and record_image_version.py's calls, per image type",
    ),
    Claim(
        rf"(ModelBuildRole|ModelDeployBuildRole|ModelDeployTestStagingRole|ModelDeployRecordChangeProdRole|ModelDeployDeployerRole){_ID}",
        MONITORING,
        _MONITOR + "test_the_build_deploy_roles_have_build_deploys_policies_in_the_monitor_template",
        "resolved with the same parameters, the same policies as in build-deploy, where they are checked",
    ),
    Claim(
        rf"ModelMonitorDeployerRole{_ID}", MONITORING,
        _MONITOR + "test_the_monitor_deployer_allows_every_handler_permission_of_the_monitor_stage_template",
        "the CloudFormation handler permissions of the monitor stage template's resources (cfn-lint's schemas)",
    ),
    Claim(
        rf"ModelMonitorBuildRole{_ID}", MONITORING,
        "tests/seed/test_role_sufficiency_monitor.py::test_the_monitor_build_role_may_make_every_call_of_build_py",
        "the monitor seed's build.py calls, recorded in moto, evaluated against the role",
    ),
    Claim(
        rf"(ModelBuild|ModelDeploy|ModelMonitor|{_IMAGE_TYPE}ImageBuild)PipelineRole{_ID}", PROJECTS,
        _SERVICE + "test_the_codepipeline_and_eventbridge_roles_may_do_what_the_services_do",
        "CodePipeline's service role: assume each action's role, the artifact store (CodePipeline docs)",
    ),
    Claim(
        rf"(ModelBuild|ModelDeploy|ModelMonitor|{_IMAGE_TYPE}ImageBuild)Pipeline\w+CodePipelineActionRole{_ID}", PROJECTS,
        _SERVICE + "test_the_codepipeline_and_eventbridge_roles_may_do_what_the_services_do",
        "what the action's type calls (CodeCommit source, CodeBuild, CloudFormation, approval; CodePipeline docs)",
    ),
    Claim(
        rf"(ModelBuild|ModelDeploy|ModelMonitor|{_IMAGE_TYPE}ImageBuild)PipelineEventsRole{_ID}", PROJECTS,
        _SERVICE + "test_the_codepipeline_and_eventbridge_roles_may_do_what_the_services_do",
        "EventBridge starting the target pipeline of each rule that uses the role",
    ),
    Claim(
        rf"EndpointRole{_ID}", "endpoint-stage",
        _SERVICE + "test_the_endpoint_model_role_may_do_what_sagemaker_does_with_it",
        "what SageMaker does with the model's role: image, ModelDataUrl, captured data, logs, metrics, rollback alarms",
    ),
    Claim(
        rf"MonitorsRole{_ID}", "monitor-stage",
        "tests/unit/stacks/test_monitor_stage.py::test_the_monitoring_role_may_do_what_model_monitor_does_with_it",
        "what Model Monitor's jobs do with the role: captured data, baselines, ground truth, reports, logs, metrics, Clarify's shadow endpoint",
    ),
    Claim(
        rf"EndpointRole{_ID}", "async-stage",
        "tests/unit/stacks/test_serving_stages.py::test_async_model_role_reads_requests_writes_answers_and_publishes",
        "an asynchronous endpoint's queue: read requests, write answers and failures, publish to both topics, the key (iam_eval)",
    ),
    Claim(
        rf"Transform(Role|StarterRole|TriggerRole){_ID}", "batch-stage",
        "tests/unit/stacks/test_serving_stages.py::test_batch_roles_are_least_privilege",
        "the transform job's reads and writes, the state machine's CreateTransformJob on the project's jobs, "
        "EventBridge's StartExecution (iam_eval)",
    ),
    Claim(
        rf"ActionsRole{_ID}", "target-account",
        _TARGETS + "test_target_roles.py::test_the_actions_role_may_do_what_the_tooling_pipelines_do_here",
        "CodePipeline's CloudFormation action in each mode, the staging tests and the change record's snapshot (iam_eval)",
    ),
    Claim(
        rf"DeployerRole{_ID}", "target-account",
        _TARGETS + "test_target_deployer_role.py::test_deployer_allows_every_handler_permission_of_the_stage_template",
        "the CloudFormation handler permissions of the endpoint, asynchronous, batch and monitor stage templates' resources "
        "(cfn-lint's schemas)",
    ),
    Claim(
        rf"EndpointRole{_ID}", "target-account",
        _TARGETS + "test_target_roles.py::test_the_endpoint_role_may_do_what_sagemaker_does_with_it",
        "what SageMaker does with a model's role: tooling image and artifacts, captured data here, logs, metrics, alarms; "
        "Model Monitor's jobs of the monitor stage stacks",
    ),
    Claim(
        rf"TransformRole{_ID}", "target-account",
        _TARGETS + "test_target_roles.py::test_the_transform_role_may_do_what_a_batch_stages_state_machine_does",
        "Step Functions' createTransformJob.sync for batch stages here: transform jobs, the endpoint role passed to "
        "SageMaker, its events rule, volume key grants (iam_eval)",
    ),
    Claim(
        rf"TriggerRole{_ID}", "target-account",
        _TARGETS + "test_target_roles.py::test_the_trigger_role_only_starts_batch_stages_state_machines",
        "EventBridge starting batch stages' state machines '<project id>-<stage>-transform' (iam_eval)",
    ),
]
