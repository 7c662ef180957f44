// Job DSL seed script: creates this SageMaker project's two Jenkins pipeline jobs, each running
// the Jenkinsfile of its Git repository, with the project's values filled in as the jobs'
// parameters (Jenkins passes them to the steps as environment variables):
//
//   <project name>-<project id>-model-build   model-build repository, Jenkinsfile
//   <project name>-<project id>-model-deploy  model-deploy repository, Jenkinsfile; parameter
//                                             MODEL_PACKAGE_ARN, which the project's EventBridge
//                                             rule passes when a model version is approved
//
// Run it from a freestyle "seed" job whose build step is "Process Job DSLs" (plugin "Job DSL")
// with this file (seed_job.groovy, at the root of the model-deploy repository). Job DSL gives the
// seed job's parameters and environment variables to this script as variables; set these (the
// project stack's outputs list the values; see seed_code/jenkins/README.md):
//
//   required: SAGEMAKER_PROJECT_NAME, SAGEMAKER_PROJECT_ID, AWS_REGION, ARTIFACT_BUCKET,
//             ARTIFACT_KMS_KEY_ARN, MODEL_PACKAGE_GROUP_NAME, JENKINS_ROLE_ARN (the role the jobs
//             assume), SAGEMAKER_PIPELINE_ROLE_ARN, DEPLOYER_ROLE_ARN,
//             MODEL_BUILD_REPOSITORY_URL, MODEL_DEPLOY_REPOSITORY_URL, GIT_CREDENTIALS_ID
//   optional: MODEL_BUILD_BRANCH, MODEL_DEPLOY_BRANCH (default main), BUILD_JOB_NAME,
//             DEPLOY_JOB_NAME (default above), PROD_APPROVERS (users or groups who may approve
//             prod, comma-separated; default: anyone who may build the job),
//             AWS_SESSION_SECONDS (default 3600), AWS_CREDENTIAL_SOURCE (the agents' own AWS
//             identity: Ec2InstanceMetadata, the default, or EcsContainer), PROCESSING_INSTANCE_TYPE,
//             TRAINING_INSTANCE_TYPE (the model build's; default: the stack's outputs, else
//             run_pipeline's ml.m5.xlarge), PIPELINE_STEP_CACHE_EXPIRY (the SageMaker pipeline's
//             step caching: a duration such as P30D, the default, or off), SCM_POLL_SCHEDULE (default H/5 * * * *;
//             a Git webhook to /git/notifyCommit also starts the jobs)

/** The value of seed job variable name, or defaultValue when it is unset or blank. */
String setting(String name, String defaultValue = null) {
    def value = binding.variables.get(name)?.toString()?.trim()
    return value ? value : defaultValue
}

def required = [
    'SAGEMAKER_PROJECT_NAME', 'SAGEMAKER_PROJECT_ID', 'AWS_REGION', 'ARTIFACT_BUCKET', 'ARTIFACT_KMS_KEY_ARN',
    'MODEL_PACKAGE_GROUP_NAME', 'JENKINS_ROLE_ARN', 'SAGEMAKER_PIPELINE_ROLE_ARN', 'DEPLOYER_ROLE_ARN',
    'MODEL_BUILD_REPOSITORY_URL', 'MODEL_DEPLOY_REPOSITORY_URL', 'GIT_CREDENTIALS_ID',
]
def missing = required.findAll { name -> setting(name) == null }
if (missing) {
    throw new IllegalArgumentException("missing seed job parameter(s) ${missing.join(', ')}: set them to the project stack's outputs (see seed_code/jenkins/README.md)")
}

// Every value is read here, once: the DSL blocks below use these locals only, so no name in
// them is looked up on a Job DSL context.
def projectName = setting('SAGEMAKER_PROJECT_NAME')
def projectId = setting('SAGEMAKER_PROJECT_ID')
def region = setting('AWS_REGION')
def artifactBucket = setting('ARTIFACT_BUCKET')
def artifactKeyArn = setting('ARTIFACT_KMS_KEY_ARN')
def modelPackageGroupName = setting('MODEL_PACKAGE_GROUP_NAME')
def jenkinsRoleArn = setting('JENKINS_ROLE_ARN')
def sessionSeconds = setting('AWS_SESSION_SECONDS', '3600')
def credentialSource = setting('AWS_CREDENTIAL_SOURCE', 'Ec2InstanceMetadata')
def pipelineRoleArn = setting('SAGEMAKER_PIPELINE_ROLE_ARN')
def deployerRoleArn = setting('DEPLOYER_ROLE_ARN')
def prodApprovers = setting('PROD_APPROVERS', '')
def gitCredentialsId = setting('GIT_CREDENTIALS_ID')
def buildRepositoryUrl = setting('MODEL_BUILD_REPOSITORY_URL')
def buildBranch = setting('MODEL_BUILD_BRANCH', 'main')
def deployRepositoryUrl = setting('MODEL_DEPLOY_REPOSITORY_URL')
def deployBranch = setting('MODEL_DEPLOY_BRANCH', 'main')
def buildJobName = setting('BUILD_JOB_NAME', "${projectName}-${projectId}-model-build")
def deployJobName = setting('DEPLOY_JOB_NAME', "${projectName}-${projectId}-model-deploy")
def pollSchedule = setting('SCM_POLL_SCHEDULE', 'H/5 * * * *')
def processingInstanceType = setting('PROCESSING_INSTANCE_TYPE', '')
def trainingInstanceType = setting('TRAINING_INSTANCE_TYPE', '')
def stepCacheExpiry = setting('PIPELINE_STEP_CACHE_EXPIRY', 'P30D')

/** The parameters both jobs share: the project's values, the role they assume, its session length and source. */
def projectParameters = { context ->
    context.with {
        stringParam('SAGEMAKER_PROJECT_NAME', projectName, 'The SageMaker project name.')
        stringParam('SAGEMAKER_PROJECT_ID', projectId, 'The SageMaker project id.')
        stringParam('AWS_REGION', region, "The project's AWS region.")
        stringParam('ARTIFACT_BUCKET', artifactBucket, "The project's artifact bucket.")
        stringParam('ARTIFACT_KMS_KEY_ARN', artifactKeyArn, "The ARN of the artifact bucket's KMS key.")
        stringParam('MODEL_PACKAGE_GROUP_NAME', modelPackageGroupName, "The project's model package group.")
        stringParam('JENKINS_ROLE_ARN', jenkinsRoleArn, "The project's Jenkins role, assumed through an AWS config profile with the agent's own AWS identity.")
        stringParam('AWS_SESSION_SECONDS', sessionSeconds, "How long each role session lasts, in seconds (at most 3600: the agent's identity is a role session); the SDK renews it.")
        stringParam('AWS_CREDENTIAL_SOURCE', credentialSource, "The agent's own AWS identity the role is assumed with: Ec2InstanceMetadata (instance profile) or EcsContainer (ECS task or EKS Pod Identity role).")
    }
}

/** Pipeline from the Jenkinsfile at the root of repository repositoryUrl, branch branchName. */
def fromRepository = { context, String repositoryUrl, String branchName ->
    context.with {
        cpsScm {
            scm {
                git {
                    remote {
                        url(repositoryUrl)
                        credentials(gitCredentialsId)
                    }
                    branch(branchName)
                }
            }
            scriptPath('Jenkinsfile')
            lightweight(true)
        }
    }
}

/** Polls the job's repository (SCMTrigger); a push webhook to /git/notifyCommit polls at once. */
def pollRepository = { context ->
    context.with {
        pipelineTriggers {
            triggers {
                pollSCM {
                    scmpoll_spec(pollSchedule)
                }
            }
        }
    }
}

pipelineJob(buildJobName) {
    description("SageMaker project ${projectName} (${projectId}): model build. Runs the model-build repository's tests, then creates or updates, starts and waits for the project's SageMaker pipeline. Created by the seed job (seed_job.groovy).")
    parameters {
        projectParameters(delegate)
        stringParam('SAGEMAKER_PIPELINE_ROLE_ARN', pipelineRoleArn, "The SageMaker pipeline's execution role.")
        stringParam('PROCESSING_INSTANCE_TYPE', processingInstanceType, "The processing steps' instance type (run_pipeline reads it). Empty: ml.m5.xlarge.")
        stringParam('TRAINING_INSTANCE_TYPE', trainingInstanceType, "The training step's instance type (run_pipeline reads it). Empty: ml.m5.xlarge.")
        stringParam('PIPELINE_STEP_CACHE_EXPIRY', stepCacheExpiry, 'How long the preprocessing and training steps reuse an earlier run with the same arguments (an ISO 8601 duration such as P30D), or off (run_pipeline reads it).')
    }
    properties {
        pollRepository(delegate)
    }
    definition {
        fromRepository(delegate, buildRepositoryUrl, buildBranch)
    }
}

pipelineJob(deployJobName) {
    description("SageMaker project ${projectName} (${projectId}): model deploy. Deploys an approved model version to staging, tests it, and after a person's approval deploys it to prod. Created by the seed job (seed_job.groovy).")
    parameters {
        stringParam('MODEL_PACKAGE_ARN', '', "The model version to deploy: an approved version of the project's model package group (the approval rule passes it). Empty: the newest approved version.")
        projectParameters(delegate)
        stringParam('DEPLOYER_ROLE_ARN', deployerRoleArn, 'The role CloudFormation deploys the stage stacks as.')
        stringParam('PROD_APPROVERS', prodApprovers, 'Who may approve the prod deployment (Jenkins users or groups, comma-separated). Empty: anyone who may build this job.')
    }
    properties {
        pollRepository(delegate)
    }
    definition {
        fromRepository(delegate, deployRepositoryUrl, deployBranch)
    }
}
