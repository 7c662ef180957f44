"""Bad input to a template stack is refused at synth with a ValueError naming the setting, the value and the rule."""

from __future__ import annotations

import pytest

from sagemaker_projects_cdk.stacks import ModelBuildStack
from support import new_app


def build(**kwargs):
    return ModelBuildStack(new_app(), "Stack", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"project_name": "a" * 33}, "invalid project_name 'a{33}': expected 1 to 32 characters"),
        ({"project_name": ""}, "invalid project_name '': expected 1 to 32 characters"),
        ({"project_name": "1churn"}, r"invalid project_name '1churn': expected .*\^\[a-zA-Z\]"),
        ({"project_name": "churn_model"}, "invalid project_name 'churn_model'"),
        ({"project_name": "churn-"}, "invalid project_name 'churn-'"),
        ({"project_id": "p" * 21}, "invalid project_id 'p{21}': expected 1 to 20 characters"),
        # SageMaker lower-cases names in ARNs: an id with capitals would match no IAM pattern.
        ({"project_id": "P-ABC123def456"}, r"invalid project_id 'P-ABC123def456': expected .*lower-case.*\^\[a-z0-9\]"),
        # The endpoint '<name>-<id>-<stage>' has at most 63 characters, stage names up to 15.
        (
            {"project_name": "n" * 32, "project_id": "p-" + "a" * 18},
            "invalid project_name and project_id 'n{32}-p-a{18}': expected '<project_name>-<project_id>' of at most 47",
        ),
        # A name given as a parameter counts as its 32 characters.
        ({"project_id": "p-" + "a" * 13}, "invalid project_name and project_id '<parameter SageMakerProjectName"),
        ({"branch": ""}, "invalid branch '': expected a Git branch name"),
        ({"branch": "feature..x"}, r"invalid branch 'feature\.\.x'"),
        ({"branch": "has space"}, "invalid branch 'has space'"),
        ({"branch": "release/"}, "invalid branch 'release/'"),
        ({"training_instance_type": "m5.xlarge"}, "invalid training_instance_type 'm5.xlarge': expected a SageMaker instance type"),
        ({"processing_instance_type": "ml.zz9.large"}, "invalid processing_instance_type 'ml.zz9.large'"),
        ({"compute_type": "BUILD_GENERAL1_HUGE"}, "invalid compute_type 'BUILD_GENERAL1_HUGE': expected one of 'BUILD_GENERAL1_SMALL'"),
        ({"model_read_account_ids": ("12345",)}, "invalid model_read_account_ids '12345': expected a 12-digit AWS account id"),
    ],
)
def test_stack_refuses(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build(**kwargs)


# ----------------------------------------------------------------- build-deploy-jenkins

ROLE = "arn:aws:iam::111122223333:role/jenkins-controller"
OIDC = "arn:aws:iam::111122223333:oidc-provider/jenkins.example.com/oidc"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"jenkins_url": "http://jenkins.example.com"}, "invalid jenkins_url 'http://jenkins.example.com': expected an https address"),
        ({"jenkins_url": "https://jenkins.example.com/"}, "invalid jenkins_url 'https://jenkins.example.com/': expected .*without a trailing slash"),
        ({"jenkins_url": "https://jenkins.example.com?x=1"}, r"invalid jenkins_url 'https://jenkins\.example\.com\?x=1'"),
        ({"jenkins_deploy_job_name": "deploy/prod"}, "invalid jenkins_deploy_job_name 'deploy/prod': expected a top-level Jenkins job name"),
        ({"jenkins_deploy_job_name": ".."}, r"invalid jenkins_deploy_job_name '\.\.': expected a top-level Jenkins job name"),
        ({"jenkins_deploy_job_name": "."}, r"invalid jenkins_deploy_job_name '\.'"),
        # Jenkins refuses a name ending in '.' (Jenkins.checkGoodName).
        ({"jenkins_deploy_job_name": "model-deploy."}, r"invalid jenkins_deploy_job_name 'model-deploy\.': expected a top-level Jenkins job name"),
        ({"jenkins_deploy_job_name": 'a"b'}, "invalid jenkins_deploy_job_name"),
        ({"jenkins_deploy_job_name": "model deploy"}, "invalid jenkins_deploy_job_name 'model deploy'"),
        ({"jenkins_deploy_job_name": "a:b"}, "invalid jenkins_deploy_job_name 'a:b'"),
        (
            {"jenkins_credentials_secret_arn": "jenkins/token"},
            "invalid jenkins_credentials_secret_arn 'jenkins/token': expected the complete ARN of a Secrets Manager secret",
        ),
        (
            {"jenkins_credentials_secret_arn": "arn:aws:secretsmanager:us-east-1:111122223333:secret:jenkins"},
            "invalid jenkins_credentials_secret_arn .*: expected the complete ARN",
        ),
        (
            {"jenkins_credentials_secret_arn": "arn:aws:ssm:us-east-1:111122223333:parameter/jenkins-AbCdEf"},
            "invalid jenkins_credentials_secret_arn",
        ),
        ({"jenkins_role_arn": "arn:aws:iam::111122223333:user/jenkins"}, "invalid jenkins_role_arn .*: expected the ARN of the IAM role Jenkins runs as"),
        ({"jenkins_oidc_provider_arn": OIDC}, "invalid jenkins_oidc_subject None: expected the exact sub claim"),
        ({"jenkins_oidc_provider_arn": OIDC, "jenkins_oidc_subject": "job/*"}, r"invalid jenkins_oidc_subject 'job/\*'"),
        (
            {"jenkins_oidc_provider_arn": OIDC, "jenkins_oidc_subject": "jenkins", "jenkins_role_arn": ROLE},
            "invalid jenkins_role_arn .*: expected no value with jenkins_oidc_provider_arn",
        ),
        ({"jenkins_oidc_subject": "jenkins"}, "invalid jenkins_oidc_subject 'jenkins': expected no value without jenkins_oidc_provider_arn"),
        ({"jenkins_oidc_provider_arn": "arn:aws:iam::111122223333:role/x", "jenkins_oidc_subject": "j"}, "invalid jenkins_oidc_provider_arn"),
        ({"jenkins_reachability": "private"}, "invalid jenkins_reachability 'private': expected one of 'public', 'vpc'"),
        ({"jenkins_reachability": "vpc"}, "invalid jenkins_subnet_ids None: expected the ids the trigger's function runs in"),
        ({"jenkins_subnet_ids": ("subnet-0123456789abcdef0",)}, "invalid jenkins_subnet_ids .*: expected no value unless jenkins_reachability is 'vpc'"),
        (
            {"jenkins_reachability": "vpc", "jenkins_subnet_ids": ("sn-1",), "jenkins_security_group_ids": ("sg-0123456789abcdef0",)},
            "invalid jenkins_subnet_ids 'sn-1': expected subnet ids",
        ),
        (
            {"jenkins_reachability": "vpc", "jenkins_subnet_ids": "subnet-0123456789abcdef0", "jenkins_security_group_ids": ("sg-0123456789abcdef0",)},
            "invalid jenkins_subnet_ids 'subnet-0123456789abcdef0': expected a non-empty tuple of subnet ids",
        ),
        ({"source": object()}, "invalid source"),
    ],
)
def test_the_jenkins_template_refuses(kwargs, message):
    from sagemaker_projects_cdk.stacks import BuildDeployJenkinsStack

    with pytest.raises(ValueError, match=message):
        BuildDeployJenkinsStack(new_app(), "Jenkins", **kwargs)
