"""What a Jenkins server is known by: its address, a job's name, the secret with its API
token, and the AWS principal Jenkins runs as. Each check names the setting, shows the value
and says what is expected; tokens (CloudFormation parameters) are left to the parameters'
``AllowedPattern``, which is the same pattern."""

from __future__ import annotations

from typing import Callable

from ..._internal.validation import check_pattern, invalid, is_unresolved

#: Jenkins's https address, without a trailing slash (``https://jenkins.example.com``,
#: ``https://ci.example.com:8443/jenkins``): the trigger calls ``<url>/job/<job>/buildWithParameters``.
JENKINS_URL_PATTERN = r"https://[A-Za-z0-9](-*[A-Za-z0-9.])*(:[0-9]{1,5})?(/[A-Za-z0-9._~-]+)*"
JENKINS_URL_EXPECTED = "an https address of Jenkins without a trailing slash, e.g. https://jenkins.example.com or https://ci.example.com:8443/jenkins"

#: A Jenkins job name that is also a URL path segment without escaping. Jenkins refuses
#: ``/ \\ : ? * " < > |`` (and ``% ! @ # $ ^ & [ ] ;``), ``.``, ``..`` and any name ending in
#: ``.`` (``Jenkins.checkGoodName``); spaces and other characters it allows would have to be
#: percent-encoded in the job's URL, which an EventBridge API destination's endpoint does not do:
#: letters, digits, ``.``, ``_`` and ``-`` only. A top-level job: a job in a folder
#: (``/job/<folder>/job/<name>``) is not supported. The lookahead is also the CloudFormation
#: parameter's ``AllowedPattern`` (Java regular expressions, which have lookaheads).
JOB_NAME_PATTERN = r"(?!.*\.$)[A-Za-z0-9._-]{1,100}"
JOB_NAME_EXPECTED = (
    "a top-level Jenkins job name (not in a folder) of 1-100 letters, digits, '.', '_' or '-' (none of "
    "/ \\ : ? * \" < > | or spaces; not ending in '.', so not '.' or '..')"
)

#: A Secrets Manager secret's complete ARN (with the 6-character suffix Secrets Manager adds).
SECRET_ARN_PATTERN = r"arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@-]{1,512}-[A-Za-z0-9]{6}"
SECRET_ARN_EXPECTED = (
    "the complete ARN of a Secrets Manager secret, arn:aws:secretsmanager:<region>:<account>:secret:<name>-<6 characters>"
)

#: An IAM role's ARN (the Jenkins controller's or agents' instance, task or pod role).
PRINCIPAL_ROLE_ARN_PATTERN = r"arn:aws[a-z-]*:iam::[0-9]{12}:role/([\w+=,.@-]+/)*[\w+=,.@-]{1,64}"
#: An IAM OIDC identity provider's ARN; what follows ``oidc-provider/`` is its issuer without ``https://``.
OIDC_PROVIDER_ARN_PATTERN = r"arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~-]+)*"
#: Why an OIDC principal is refused: the jobs assume the role through an AWS config profile whose
#: source is the agent's own AWS role; a web identity token from Jenkins's OpenID Connect Provider
#: plugin is bound once per step with a fixed lifetime (the SDK could not renew the session after
#: it expires during a model build that waits hours), its ``sub`` differs per job (the trust would
#: need both jobs' subjects) and the Jenkinsfiles do not bind it.
OIDC_REFUSED = (
    "no value: the OIDC variant is not supported yet (the Jenkinsfiles assume the role with the agents' own "
    "AWS role through an AWS config profile and bind no OIDC token; a token's fixed lifetime would cut off a "
    "model build that waits hours, and each job has its own sub claim); run the Jenkins agents with an IAM "
    "role (instance profile, ECS task or EKS Pod Identity role) and give it as jenkins_role_arn / trusted_role_arn"
)

#: The ``sub`` claim of the tokens Jenkins presents (no wildcards: exactly one subject).
OIDC_SUBJECT_PATTERN = r"[^*?\s]{1,255}"

#: How the trigger reaches Jenkins: EventBridge's API destination over the internet, or a
#: function in the given subnets.
REACHABILITY = ("public", "vpc")
#: Which principal may assume the Jenkins role.
TRUST = ("role", "oidc")


def check_jenkins_url(setting: str, value: str) -> str:
    return check_pattern(setting, value, JENKINS_URL_PATTERN, JENKINS_URL_EXPECTED)


def check_job_name(setting: str, value: str) -> str:
    return check_pattern(setting, value, JOB_NAME_PATTERN, JOB_NAME_EXPECTED)


def check_secret_arn(setting: str, value: str) -> str:
    return check_pattern(setting, value, SECRET_ARN_PATTERN, SECRET_ARN_EXPECTED)


def check_principal_role_arn(setting: str, value: str) -> str:
    return check_pattern(
        setting,
        value,
        PRINCIPAL_ROLE_ARN_PATTERN,
        "the ARN of the IAM role Jenkins runs as, arn:aws:iam::<account>:role/<path/name> (not a user: no keys)",
    )


def check_oidc_provider_arn(setting: str, value: str) -> str:
    if is_unresolved(value):
        raise invalid(setting, "<a CloudFormation token>", "a value known at synth (IAM condition keys name the issuer)")
    return check_pattern(
        setting,
        value,
        OIDC_PROVIDER_ARN_PATTERN,
        "the ARN of an IAM OIDC identity provider, arn:aws:iam::<account>:oidc-provider/<issuer host and path>",
    )


def check_oidc_subject(setting: str, value: str) -> str:
    return check_pattern(setting, value, OIDC_SUBJECT_PATTERN, "the exact sub claim of Jenkins's tokens (no * or ?, no spaces)")


def check_ids(kind: str, prefix: str) -> Callable[[str, object], tuple[str, ...]]:
    """A check of a tuple of EC2 ids (``subnet-...``, ``sg-...``)."""

    def check(setting: str, value: object) -> tuple[str, ...]:
        if isinstance(value, str) or not isinstance(value, (tuple, list)) or not value:
            raise invalid(setting, value, f"a non-empty tuple of {kind} ids, e.g. ('{prefix}-0123456789abcdef0',)")
        for item in value:
            check_pattern(setting, item, rf"{prefix}-[0-9a-f]{{8,17}}", f"{kind} ids such as '{prefix}-0123456789abcdef0'")
        return tuple(value)

    return check


def oidc_issuer(provider_arn: str) -> str:
    """The issuer (host and path, no scheme) of a resolved OIDC provider ARN: the prefix of its condition keys."""
    return provider_arn.split(":oidc-provider/", 1)[1]
