"""The Jenkins seed code (seed_code/jenkins): it parses as Groovy, runs the same entry points as
the buildspecs, in the deploy pipeline's order, and the seed job fills every value the jobs read.

Jenkins and Java are not here: the files are parsed with tree-sitter's Groovy grammar (the
``dekobon-tree-sitter-groovy`` wheel, which knows Jenkins's ``pipeline`` blocks), and the checks
read the parse trees. The negative tests break each file and show the parser reports it.
"""

from __future__ import annotations

import ast
import re
import shlex
import textwrap
from pathlib import Path
from typing import Iterator, Optional

import dekobon_tree_sitter_groovy
import pytest
import tree_sitter
import yaml

from model_deploy_support import load_build_module
from sagemaker_projects_cdk.constructs.deploy.stages import DEFAULT_STAGES

SEED_CODE = Path(__file__).resolve().parents[2] / "sagemaker_projects_cdk" / "seed_code"
JENKINS = SEED_CODE / "jenkins"
BUILD_JENKINSFILE = JENKINS / "model_build" / "Jenkinsfile"
DEPLOY_JENKINSFILE = JENKINS / "model_deploy" / "Jenkinsfile"
SEED_JOB = JENKINS / "model_deploy" / "seed_job.groovy"
GROOVY_FILES = (BUILD_JENKINSFILE, DEPLOY_JENKINSFILE, SEED_JOB)
PARSER = tree_sitter.Parser(tree_sitter.Language(dekobon_tree_sitter_groovy.language()))
Node = tree_sitter.Node

build = load_build_module()


# ----------------------------------------------------------------- reading the parse trees


def parse(source: str) -> Node:
    return PARSER.parse(source.encode()).root_node


def syntax_problems(root: Node) -> list[str]:
    """Every ERROR and MISSING node, as 'line:column: what'."""
    return [
        f"{node.start_point.row + 1}:{node.start_point.column + 1}: {'missing ' + node.type if node.is_missing else 'error at ' + text(node)[:40]!r}"
        for node in walk(root)
        if node.is_error or node.is_missing
    ]


def walk(node: Node) -> Iterator[Node]:
    """``node`` and everything below it, in document order."""
    yield node
    for child in node.children:
        yield from walk(child)


def text(node: Node) -> str:
    return (node.text or b"").decode()


def literal(node: Optional[Node]) -> Optional[str]:
    """The content of a string literal ('...', "...", '''...''', GString text as written), else None."""
    if node is None or node.type != "string_literal":
        return None
    raw = text(node)
    quote = 3 if raw[:3] in ("'''", '"""') else 1
    return raw[quote:-quote]


def calls(root: Node, name: str) -> Iterator[tuple[Node, list[Node]]]:
    """Each call of ``name`` below ``root`` (``name(...)`` or the command form ``name arg``), with its arguments."""
    for node in walk(root):
        if node.type == "method_invocation":
            function = node.child_by_field_name("function")
            arguments = node.child_by_field_name("arguments")
            if function is not None and function.type == "identifier" and text(function) == name and arguments is not None:
                yield node, list(arguments.named_children)
        elif node.type == "command_chain":
            receiver = node.child_by_field_name("receiver")
            if receiver is not None and receiver.type == "identifier" and text(receiver) == name:
                yield node, node.children_by_field_name("argument")


def named_arguments(arguments: list[Node]) -> dict[str, Node]:
    named = {}
    for argument in arguments:
        if argument.type == "named_argument":
            key, value = argument.child_by_field_name("key"), argument.child_by_field_name("value")
            assert key is not None and value is not None
            named[text(key)] = value
    return named


def sh_script(arguments: list[Node]) -> Optional[str]:
    """The script of an ``sh`` call: its string argument or its ``script:`` argument."""
    positional = [a for a in arguments if a.type != "named_argument"]
    return literal(positional[0]) if positional else literal(named_arguments(arguments).get("script"))


def shell_commands(script: str) -> list[str]:
    """The commands of a shell script, one per logical line (continuations joined), comments dropped."""
    joined = textwrap.dedent(script).replace("\\\n", " ")
    lines = (" ".join(line.split()) for line in joined.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def pipeline_block(root: Node) -> Node:
    (block,) = [node for node in root.named_children if node.type == "pipeline_statement"]
    return block


def sh_commands(root: Node) -> list[str]:
    """Every command the ``sh`` steps below ``root`` run, in document order."""
    commands = []
    for _, arguments in calls(root, "sh"):
        script = sh_script(arguments)
        assert script is not None, "an sh step without a literal script"
        commands += shell_commands(script)
    return commands


def method(root: Node, name: str) -> Node:
    (declaration,) = [
        node
        for node in root.named_children
        if node.type == "method_declaration" and text(node.child_by_field_name("name")) == name
    ]
    return declaration


def string_list(arguments: list[Node]) -> list[str]:
    (names,) = arguments
    assert names.type == "list_literal"
    return [literal(item) for item in names.named_children]  # type: ignore[misc]


def params_used(root: Node) -> set[str]:
    """The job parameters a Jenkinsfile reads (``params.NAME``)."""
    return {
        text(node.child_by_field_name("field"))
        for node in walk(root)
        if node.type == "field_access" and text(node.child_by_field_name("object")) == "params"
    }


def buildspec_commands(path: Path) -> list[str]:
    phases = yaml.safe_load(path.read_text())["phases"]
    return [
        " ".join(command.split())
        for phase in ("install", "pre_build", "build", "post_build")
        for command in phases.get(phase, {}).get("commands", [])
    ]


def tree(path: Path) -> Node:
    return parse(path.read_text())


# ----------------------------------------------------------------- parsing


@pytest.mark.parametrize("path", GROOVY_FILES, ids=lambda p: str(p.relative_to(JENKINS)))
def test_each_file_parses_as_groovy(path):
    root = tree(path)
    assert root.type == "source_file" and root.named_child_count > 0
    assert syntax_problems(root) == []


@pytest.mark.parametrize("path", GROOVY_FILES, ids=lambda p: str(p.relative_to(JENKINS)))
@pytest.mark.parametrize(
    "breakage",
    [
        pytest.param(lambda s: s[: s.rindex("}")], id="last brace removed"),
        pytest.param(lambda s: _drop_on_code_line(s, ")"), id="unbalanced call"),
        pytest.param(lambda s: s.replace("{", "{ )", 1), id="stray parenthesis"),
        pytest.param(lambda s: re.sub(r"'([A-Z_]+)'", r"'\1", s, count=1), id="unterminated string"),
    ],
)
def test_the_parser_reports_a_broken_file(path, breakage):
    source = path.read_text()
    broken = breakage(source)
    assert broken != source
    assert syntax_problems(parse(broken)), "the parser accepted a broken file: the parse check would prove nothing"


def _drop_on_code_line(source: str, character: str) -> str:
    """``source`` without the first ``character`` on a line that is not a comment."""
    lines = source.splitlines(keepends=True)
    for index, line in enumerate(lines):
        if character in line and not line.lstrip().startswith(("//", "/*", "*")):
            lines[index] = line.replace(character, "", 1)
            return "".join(lines)
    raise AssertionError(f"no {character!r} outside comments")


def test_the_parser_tells_jenkins_blocks_from_plain_groovy():
    # The grammar knows Declarative Pipeline's top-level block: the checks below read inside it.
    for path in (BUILD_JENKINSFILE, DEPLOY_JENKINSFILE):
        block = pipeline_block(tree(path))
        assert text(block).startswith("pipeline {")
    assert not [node for node in tree(SEED_JOB).named_children if node.type == "pipeline_statement"]


# ----------------------------------------------------------------- the same commands as the buildspecs


def test_the_model_build_job_runs_the_buildspecs_commands_in_order():
    jenkins = sh_commands(pipeline_block(tree(BUILD_JENKINSFILE)))
    buildspec = buildspec_commands(SEED_CODE / "model_build" / "buildspec.yml")
    assert buildspec == [
        'test -x "$BUILD_UV_DIR/bin/uv" || python -m pip install --quiet --upgrade --target "$BUILD_UV_DIR" "uv==0.13.9"',
        'PATH="$BUILD_UV_DIR/bin:$PATH" uv pip install --python "$(command -v python)" --quiet -r requirements.lock',
        "python -m pytest -q",
        "python -m pipelines.run_pipeline",
    ]
    # Besides them: the virtual environment CodeBuild does not need, and the commit run_pipeline records.
    extras = ["python3 -m venv .venv", "git rev-parse HEAD"]
    assert [command for command in jenkins if command not in extras] == buildspec
    assert jenkins == [extras[0], *buildspec[:3], extras[1], buildspec[3]]


def test_the_commit_is_passed_under_codebuilds_name_which_run_pipeline_reads():
    source = BUILD_JENKINSFILE.read_text()
    assert "env.CODEBUILD_RESOLVED_SOURCE_VERSION = sh(returnStdout: true, script: 'git rev-parse HEAD').trim()" in source
    config = (SEED_CODE / "model_build" / "pipelines" / "config.py").read_text()
    assert 'source_commit=get("CODEBUILD_RESOLVED_SOURCE_VERSION")' in config


def test_the_model_deploy_job_runs_the_buildspecs_commands():
    jenkins = sh_commands(pipeline_block(tree(DEPLOY_JENKINSFILE)))
    build_spec = buildspec_commands(SEED_CODE / "model_deploy" / "buildspec.yml")
    install, build_py, copy_tests, copy_change = build_spec
    assert (install, build_py) == ("python -m pip install --quiet -r requirements.txt", "python build.py --output-dir build")
    assert copy_tests.startswith("mkdir -p build/test && cp test/test_endpoint.py") and "change" in copy_change
    test_install, test_endpoint = buildspec_commands(SEED_CODE / "model_deploy" / "test" / "buildspec.yml")
    # The test action's ${STAGE_NAME:?...} fails when the pipeline forgets STAGE_NAME; the job sets it.
    test_endpoint = re.sub(r"\$\{STAGE_NAME:\?[^}]*\}", "${STAGE_NAME}", test_endpoint)
    assert test_endpoint == 'python test/test_endpoint.py --config "${STAGE_NAME}-test.json" --report test-report.json'
    # The tests install test/requirements.txt, the copy of requirements.txt the build makes: the
    # job's virtual environment has it already.
    assert (
        test_install == "python -m pip install --quiet -r test/requirements.txt" and "requirements.txt build/test/" in copy_tests
    )
    # The change records are the CodePipeline flow's (README: not done here).
    assert jenkins == ["python3 -m venv .venv", install, "rm -rf build", build_py, copy_tests, test_endpoint, "rm -rf build"]


def _deploy_command() -> list[str]:
    root = tree(DEPLOY_JENKINSFILE)
    commands = sh_commands(method(root, "deployStage"))
    (deploy,) = [command for command in commands if command.startswith("aws cloudformation deploy ")]
    return shlex.split(deploy)


def test_a_stage_deploys_what_the_pipelines_cloudformation_action_deploys():
    command = _deploy_command()
    options = _options(command[3:])
    assert options["--template-file"] == [f"build/{build.TEMPLATE_FILE}"]
    # build.py's <stage>-params.json, in CodePipeline's template configuration format
    # ({"Parameters": {...}}), which `aws cloudformation deploy` reads (AWS CLI v2).
    assert options["--parameter-overrides"] == ["file://build/${STAGE_NAME}-params.json"]
    assert options["--role-arn"] == ["$DEPLOYER_ROLE_ARN"]
    # The pipeline's action acknowledges CfnCapabilities.ANONYMOUS_IAM: CAPABILITY_IAM in its
    # configuration (tests/unit/stacks/test_model_deploy_stack.py).
    pipeline_source = (SEED_CODE.parent / "constructs" / "deploy" / "pipeline.py").read_text()
    assert "cfn_capabilities=[CfnCapabilities.ANONYMOUS_IAM]" in pipeline_source
    assert options["--capabilities"] == ["CAPABILITY_IAM"]
    assert options["--no-fail-on-empty-changeset"] == []
    # The stack the pipeline deploys (and the deployer role may change), named as build.py names it.
    stack_line = next(c for c in sh_commands(method(tree(DEPLOY_JENKINSFILE), "deployStage")) if c.startswith("stack="))
    names = {"SAGEMAKER_PROJECT_NAME": "${SAGEMAKER_PROJECT_NAME}", "SAGEMAKER_PROJECT_ID": "${SAGEMAKER_PROJECT_ID}"}
    assert stack_line == f'stack="{build.stage_stack_name(names, "${STAGE_NAME}")}"'
    assert options["--stack-name"] == ["$stack"]
    # The same stack tags as the parameter file's Tags (which the CLI does not read from it).
    tags = dict(tag.split("=", 1) for tag in options["--tags"])
    assert tags == {
        "sagemaker:project-name": "${SAGEMAKER_PROJECT_NAME}",
        "sagemaker:project-id": "${SAGEMAKER_PROJECT_ID}",
        "sagemaker:deployment-stage": "${STAGE_NAME}",
    }
    build_source = (SEED_CODE / "model_deploy" / "build.py").read_text()
    for key in tags:
        assert f'"{key}":' in build_source


def _options(words: list[str]) -> dict[str, list[str]]:
    options: dict[str, list[str]] = {}
    current = None
    for word in words:
        if word.startswith("--"):
            current = options.setdefault(word, [])
        else:
            assert current is not None, word
            current.append(word)
    return options


def test_the_stage_template_fits_a_template_body():
    # `aws cloudformation deploy` without --s3-bucket sends the template in the request: at most
    # 51,200 bytes. A bigger template needs --s3-bucket in the deploy job.
    assert (SEED_CODE / "model_deploy" / build.TEMPLATE_FILE).stat().st_size < 51_200


def test_the_deploy_job_follows_the_pipelines_stages_in_order():
    block = pipeline_block(tree(DEPLOY_JENKINSFILE))
    events: list[tuple] = []
    stage_env = None
    for node in walk(block):
        value = literal(node)
        if value is not None and value.startswith("STAGE_NAME="):
            stage_env = value.split("=", 1)[1]
        for name, arguments in _call_of(node):
            if name == "sh":
                for command in shell_commands(sh_script(arguments) or ""):
                    if command.startswith("python build.py"):
                        events.append(("build",))
                    elif command.startswith("python test/test_endpoint.py"):
                        events.append(("test", stage_env))
            elif name == "deployStage":
                stage, replace = arguments
                events.append(("deploy", literal(stage), text(replace) == "true"))
            elif name == "input":
                events.append(("approval",))
    expected: list[tuple] = [("build",)]
    for stage in DEFAULT_STAGES:
        if stage.approval:
            expected.append(("approval",))
        # A failed stack is replaced where the pipeline's action replaces it (staging), not in prod.
        expected.append(("deploy", stage.name, stage.replace_on_failure))
        if stage.test:
            expected.append(("test", stage.name))
    assert events == expected


def _call_of(node: Node) -> list[tuple[str, list[Node]]]:
    if node.type == "method_invocation":
        function = node.child_by_field_name("function")
        arguments = node.child_by_field_name("arguments")
        if function is not None and function.type == "identifier" and arguments is not None:
            return [(text(function), list(arguments.named_children))]
    if node.type == "command_chain":
        receiver = node.child_by_field_name("receiver")
        if receiver is not None and receiver.type == "identifier":
            return [(text(receiver), node.children_by_field_name("argument"))]
    return []


def test_build_py_gets_the_pipelines_stages():
    source = DEPLOY_JENKINSFILE.read_text()
    assert re.search(r"DEPLOY_STAGES = '([^']*)'", source).group(1) == ",".join(s.name for s in DEFAULT_STAGES)  # type: ignore[union-attr]
    assert re.search(r"TESTED_STAGES = '([^']*)'", source).group(1) == ",".join(s.name for s in DEFAULT_STAGES if s.test)  # type: ignore[union-attr]


def test_the_approval_is_an_input_step_with_its_approver_recorded_and_no_executor_held():
    root = tree(DEPLOY_JENKINSFILE)
    ((_, arguments),) = list(calls(pipeline_block(root), "input"))
    named = named_arguments(arguments)
    assert {"message", "ok", "submitter", "submitterParameter"} <= set(named)
    assert text(named["submitter"]) == "params.PROD_APPROVERS?.trim() ?: null"
    source = DEPLOY_JENKINSFILE.read_text()
    # The approval stage has no agent of its own under the top-level `agent none`.
    assert "agent none" in source
    approval = source[source.index("stage('Approve prod')") : source.index("stage('Deploy prod')")]
    assert "agent" not in approval.replace("// Waits for a person without holding an executor", "")
    assert "stash(name: 'stage-files'" in source and "unstash('stage-files')" in source


def _profile(root: Node) -> dict[str, str]:
    """The AWS config profile withProjectRole writes: {key: value as written}."""
    ((_, arguments),) = list(calls(method(root, "withProjectRole"), "writeFile"))
    named = named_arguments(arguments)
    assert text(named["file"]) == "config"
    content = literal(named["text"])
    assert content is not None
    header, *lines = content.strip().splitlines()
    assert header == "[profile sagemaker-project]"
    return dict(line.split(" = ", 1) for line in lines)


def test_every_aws_call_runs_as_the_projects_role_through_a_profile_the_sdk_renews():
    for path in (BUILD_JENKINSFILE, DEPLOY_JENKINSFILE):
        root = tree(path)
        source = path.read_text()
        # No withAWS (fixed keys for one session, capped at an hour when chained): the SDK and the
        # CLI assume the role from the profile and assume it again before a session expires.
        assert list(calls(root, "withAWS")) == [] and "withAWS(" not in source
        profile = _profile(root)
        assert profile == {
            "role_arn": "${params.JENKINS_ROLE_ARN}",
            "role_session_name": "${sessionName()}",
            "duration_seconds": "${seconds}",
            "credential_source": "${source}",
            "region": "${params.AWS_REGION}",
        }
        helper = text(method(root, "withProjectRole"))
        # The credential source is one botocore and the CLI know, checked before it is written;
        # Environment is refused (environment keys win over AWS_PROFILE in the SDKs' chains).
        assert "source in ['Ec2InstanceMetadata', 'EcsContainer']" in helper
        assert "params.AWS_CREDENTIAL_SOURCE?.trim() ?: 'Ec2InstanceMetadata'" in helper
        # The steps see the profile: the config file's path and the profile's name.
        ((_, arguments),) = [c for c in calls(method(root, "withProjectRole"), "withEnv")]
        (variables,) = arguments
        assert [literal(v) for v in variables.named_children] == [
            "AWS_CONFIG_FILE=${config}",
            "AWS_PROFILE=sagemaker-project",
            "AWS_REGION=${params.AWS_REGION}",
        ]
        # Outside the checkout (not stashed, not committed).
        assert 'def config = "${pwd(tmp: true)}/sagemaker-project-aws-config"' in helper
        # No access keys: no secret in the files.
        assert "AWS_SECRET_ACCESS_KEY" not in source and "AWS_ACCESS_KEY_ID =" not in source
        # Not AWS_ROLE_ARN, which the SDKs read as an IRSA role together with a token file.
        assert "AWS_ROLE_ARN" not in source.replace("JENKINS_ROLE_ARN", "")
        assert "JENKINS_ROLE_ARN" in params_used(root) or "'JENKINS_ROLE_ARN'" in source
    # The model build's run_pipeline (which waits hours) runs inside the profile.
    build_source = BUILD_JENKINSFILE.read_text()
    run = build_source.index("sh 'python -m pipelines.run_pipeline'")
    assert build_source.rindex("withProjectRole {", 0, run) > build_source.rindex("stage('Run pipeline')", 0, run)
    deploy = DEPLOY_JENKINSFILE.read_text()
    # Every AWS step of the deploy job is inside withProjectRole.
    assert deploy.count("withProjectRole {") == 3


def test_a_profile_without_a_role_or_source_is_noticed():
    # The profile check reads the profile, not the file's text: a profile missing role_arn fails it.
    broken = BUILD_JENKINSFILE.read_text().replace("role_arn = ${params.JENKINS_ROLE_ARN}\n", "")
    assert "role_arn" not in _profile(parse(broken))
    broken = BUILD_JENKINSFILE.read_text().replace("credential_source = ${source}\n", "")
    assert "credential_source" not in _profile(parse(broken))


# ----------------------------------------------------------------- the seed job fills every value


def _local_values(root: Node) -> dict[str, Node]:
    values = {}
    for node in root.named_children:
        if node.type == "local_variable_declaration":
            for declarator in node.named_children:
                if declarator.type == "variable_declarator":
                    values[text(declarator.child_by_field_name("name"))] = declarator.child_by_field_name("value")
    return values


def _setting(node: Optional[Node]) -> Optional[tuple[str, Optional[str]]]:
    """(variable, default text) of a ``setting('NAME'[, default])`` call, else None."""
    if node is None or node.type != "method_invocation" or text(node.child_by_field_name("function")) != "setting":
        return None
    arguments = node.child_by_field_name("arguments").named_children  # type: ignore[union-attr]
    name = literal(arguments[0])
    if name is None:
        return None  # setting(name) inside the script's own helpers
    return name, (text(arguments[1]) if len(arguments) > 1 else None)


def _jobs(root: Node) -> dict[str, Node]:
    """pipelineJob(<name variable>) -> the closure that configures it (its next statement)."""
    children = root.named_children
    jobs = {}
    for index, node in enumerate(children):
        for name, arguments in _call_of(
            node.named_children[0] if node.type == "expression_statement" and node.named_children else node
        ):
            if name == "pipelineJob":
                (job,) = arguments
                body = children[index + 1]
                assert body.type == "expression_statement" and body.named_children[0].type == "closure"
                jobs[text(job)] = body
    return jobs


def _job_parameters(root: Node, job: Node) -> dict[str, Node]:
    """A job's string parameters and their default values, with the shared ones."""
    values = _local_values(root)
    parameters = {}
    blocks = [job]
    if list(calls(job, "projectParameters")):
        blocks.append(values["projectParameters"])
    for block in blocks:
        for _, arguments in calls(block, "stringParam"):
            name, default, _description = arguments
            parameters[literal(name)] = default
    return parameters  # type: ignore[return-value]


def _resolved_setting(root: Node, node: Node) -> Optional[tuple[str, Optional[str]]]:
    """The ``setting(...)`` a value is (directly, or the local variable it names was set to)."""
    setting = _setting(node)
    if setting is None and node.type == "identifier":
        setting = _setting(_local_values(root).get(text(node)))
    return setting


def _source_variable(root: Node, default: Node) -> Optional[str]:
    """The seed job variable a parameter's default comes from."""
    setting = _resolved_setting(root, default)
    return setting[0] if setting else None


def test_the_dsl_blocks_read_no_seed_variable_themselves():
    # The values are read into locals first: inside a Job DSL block a name is looked up on the
    # DSL context before the script, so the blocks use the locals only.
    root = tree(SEED_JOB)
    for block in [
        *_jobs(root).values(),
        *(_local_values(root)[name] for name in ("projectParameters", "fromRepository", "pollRepository")),
    ]:
        assert not [node for node in walk(block) if _setting(node) is not None], text(block)[:60]


def test_the_seed_job_names_the_two_jobs():
    root = tree(SEED_JOB)
    jobs = _jobs(root)
    assert set(jobs) == {"buildJobName", "deployJobName"}
    values = _local_values(root)
    assert _setting(values["buildJobName"]) == ("BUILD_JOB_NAME", '"${projectName}-${projectId}-model-build"')
    assert _setting(values["deployJobName"]) == ("DEPLOY_JOB_NAME", '"${projectName}-${projectId}-model-deploy"')
    assert _setting(values["projectName"]) == ("SAGEMAKER_PROJECT_NAME", None)
    assert _setting(values["projectId"]) == ("SAGEMAKER_PROJECT_ID", None)
    # Each job runs its own repository's Jenkinsfile, with the Git credentials.
    for job, repository in (("buildJobName", "MODEL_BUILD"), ("deployJobName", "MODEL_DEPLOY")):
        ((_, arguments),) = list(calls(jobs[job], "fromRepository"))
        _, url, branch = arguments
        assert (_resolved_setting(root, url), _resolved_setting(root, branch)) == (
            (f"{repository}_REPOSITORY_URL", None),
            (f"{repository}_BRANCH", "'main'"),
        )
    scm = values["fromRepository"]
    assert [literal(a[0]) for _, a in calls(scm, "scriptPath")] == ["Jenkinsfile"]
    assert [_resolved_setting(root, a[0]) for _, a in calls(scm, "credentials")] == [("GIT_CREDENTIALS_ID", None)]
    # Both jobs poll their repository on the seed job's schedule.
    for job in jobs.values():
        assert [text(a[0]) for _, a in calls(job, "pollRepository")] == ["delegate"]
    (schedule,) = [a[0] for _, a in calls(values["pollRepository"], "scmpoll_spec")]
    assert _resolved_setting(root, schedule) == ("SCM_POLL_SCHEDULE", "'H/5 * * * *'")
    assert [text(a[0]) for _, a in calls(scm, "url")] == ["repositoryUrl"]


def test_the_seed_job_fills_every_value_the_jobs_read():
    root = tree(SEED_JOB)
    jobs = _jobs(root)
    for job, path in (("buildJobName", BUILD_JENKINSFILE), ("deployJobName", DEPLOY_JENKINSFILE)):
        parameters = _job_parameters(root, jobs[job])
        jenkinsfile = tree(path)
        # Every parameter the Jenkinsfile reads is one of the job's.
        assert params_used(jenkinsfile) <= set(parameters), (job, params_used(jenkinsfile) - set(parameters))
        ((_, required),) = list(calls(pipeline_block(jenkinsfile), "requireParameters"))
        assert set(string_list(required)) <= set(parameters)
        for name, default in parameters.items():
            if name == "MODEL_PACKAGE_ARN":
                # Set per build (the approval rule passes it); empty: the newest approved version.
                assert literal(default) == ""
                continue
            # Filled from the seed job variable of the same name.
            assert _source_variable(root, default) == name, (job, name, text(default))
    assert "MODEL_PACKAGE_ARN" in _job_parameters(root, jobs["deployJobName"])
    assert "MODEL_PACKAGE_ARN" not in _job_parameters(root, jobs["buildJobName"])


def test_the_seed_job_refuses_to_run_without_a_value_the_jobs_need():
    root = tree(SEED_JOB)
    required = set(string_list([_local_values(root)["required"]]))
    settings = [_setting(node) for node in walk(root)]
    used = {setting for setting in settings if setting is not None}
    # Every value read without a default is required (a missing one fails the seed job, named).
    assert {name for name, default in used if default is None} == required
    for path in (BUILD_JENKINSFILE, DEPLOY_JENKINSFILE):
        ((_, names),) = list(calls(pipeline_block(tree(path)), "requireParameters"))
        assert set(string_list(names)) <= required
    # Every variable the seed job reads is documented, in its header and the README.
    readme = (JENKINS / "README.md").read_text()
    header = SEED_JOB.read_text().split("/**", 1)[0]
    for name, _ in used:
        assert f"`{name}`" in readme or f"`{name}`," in readme or name in readme, name
        assert name in header, name


def test_the_seed_code_reads_what_the_jobs_provide():
    # The environment the seed entry points require is the job's parameters and environment block.
    root = tree(SEED_JOB)
    jobs = _jobs(root)
    config = ast.parse((SEED_CODE / "model_build" / "pipelines" / "config.py").read_text())
    (run_pipeline_needs,) = [
        ast.literal_eval(node.value)
        for node in config.body
        if isinstance(node, ast.Assign) and text_of(node.targets[0]) == "REQUIRED_VARIABLES"
    ]
    build_job = set(_job_parameters(root, jobs["buildJobName"])) | _environment_block(BUILD_JENKINSFILE)
    assert set(run_pipeline_needs) <= build_job, set(run_pipeline_needs) - build_job
    deploy_job = set(_job_parameters(root, jobs["deployJobName"])) | _environment_block(DEPLOY_JENKINSFILE)
    assert set(build.REQUIRED_ENVIRONMENT) <= deploy_job, set(build.REQUIRED_ENVIRONMENT) - deploy_job
    assert build.MODEL_PACKAGE_ARN in deploy_job


def text_of(node: ast.expr) -> str:
    return node.id if isinstance(node, ast.Name) else ""


def _environment_block(path: Path) -> set[str]:
    block = pipeline_block(tree(path))
    ((_, (environment,)),) = [(n, a) for n, a in calls(block, "environment")]
    return {text(node.child_by_field_name("left")) for node in walk(environment) if node.type == "assignment_expression"}


# ----------------------------------------------------------------- the overlay and the README


def test_the_overlay_adds_files_without_replacing_the_seed_code():
    for repository in ("model_build", "model_deploy"):
        added = {path.name for path in (JENKINS / repository).iterdir()}
        assert "Jenkinsfile" in added
        assert not added & {path.name for path in (SEED_CODE / repository).iterdir()}, repository
    assert (JENKINS / "model_deploy" / "seed_job.groovy").is_file()
    assert not (JENKINS / "model_build" / "seed_job.groovy").exists()


def test_the_readme_lists_the_plugins_and_every_file():
    readme = (JENKINS / "README.md").read_text()
    for plugin in ("workflow-aggregator", "job-dsl", "credentials", "git"):
        assert f"(`{plugin}`)" in readme, plugin
    # No AWS plugin: the jobs assume the role through an AWS config profile (withProjectRole).
    assert "pipeline-aws" not in readme and "withAWS" not in readme
    for document in ("README.md", "docs/guide/jenkins.md"):
        assert "Pipeline: AWS Steps" not in (JENKINS.parents[2] / document).read_text()
    for path in GROOVY_FILES:
        assert f"`{path.relative_to(JENKINS)}`" in readme
    assert "buildspec" in readme and "stay in the" in readme


def test_the_model_build_job_derives_what_codebuild_is_given():
    # The model-build CodeBuild project's variables (constructs/build/pipeline.py) that the job
    # derives from its parameters instead of receiving them.
    from sagemaker_projects_cdk.constructs.build.pipeline import DATASET_FILE, DATASET_PREFIX

    block = pipeline_block(tree(BUILD_JENKINSFILE))
    ((_, (environment,)),) = list(calls(block, "environment"))
    derived = {
        text(node.child_by_field_name("left")): literal(node.child_by_field_name("right"))
        for node in walk(environment)
        if node.type == "assignment_expression"
    }
    name_id = "${params.SAGEMAKER_PROJECT_NAME}-${params.SAGEMAKER_PROJECT_ID}"  # ProjectIdentity.name_id
    assert derived["SAGEMAKER_PROJECT_NAME_ID"] == derived["SAGEMAKER_PIPELINE_NAME"] == name_id
    assert derived["INPUT_DATA_URL"] == f"s3://${{params.ARTIFACT_BUCKET}}/{DATASET_PREFIX}{DATASET_FILE}"


def test_the_model_build_job_gets_the_templates_instance_types():
    # processing_instance_type / training_instance_type reach run_pipeline as in CodeBuild: stack
    # output -> seed job setting -> the build job's parameter -> its environment variable.
    from sagemaker_projects_cdk.stacks.build_deploy_jenkins import SEED_JOB_OUTPUTS

    root = tree(SEED_JOB)
    jobs = _jobs(root)
    build_job = jobs["buildJobName"]
    parameters = _job_parameters(root, build_job)
    config = (SEED_CODE / "model_build" / "pipelines" / "config.py").read_text()
    for variable, output in (("PROCESSING_INSTANCE_TYPE", "ProcessingInstanceType"), ("TRAINING_INSTANCE_TYPE", "TrainingInstanceType")):
        assert SEED_JOB_OUTPUTS[variable] == output
        assert _source_variable(root, parameters[variable]) == variable
        assert f'get("{variable}")' in config
    # Only the model build runs the SageMaker pipeline.
    assert "PROCESSING_INSTANCE_TYPE" not in _job_parameters(root, jobs["deployJobName"])
