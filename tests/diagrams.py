"""Architecture diagrams drawn from synthesized CloudFormation (imported as ``diagrams``).

A template's diagram shows its resources grouped by concern (source, model build, registry,
images, deploy stages, monitoring, operations and notifications, storage, security, project
lifecycle) and arrows for what triggers what and where data goes, all read from the
template itself:

- an EventBridge rule's targets (rule -> pipeline, topic, API destination), and what its
  event pattern names (a resource it references, else the AWS service whose events it
  matches: model package state changes come from the model package group);
- a pipeline's actions (source repository or connection -> pipeline -> CodeBuild project)
  and its artifact store; its deploy stages, in order: each CloudFormation deploy action (the
  stack it deploys, in the account its account parameter names) and manual approval is a
  node; an API destination's endpoint (Jenkins);
- the SageMaker Pipeline a build project starts (named by its ``SAGEMAKER_PIPELINE_NAME``:
  the build upserts it, the stack does not create it) and the model package group it
  registers into; its execution events come from it;
- every other ``Ref``, ``Fn::GetAtt`` and ``Fn::Sub`` reference between shown resources
  (a custom resource -> its handler, a build project -> the bucket it writes), policies
  left out;
- a resource named rather than referenced: a value that is its name's ``Fn::Join``, or an
  ARN of its service and resource type ending in it (a build's image name, the image
  version rule's ARNs, the approval rule's group name).

IAM roles and policies, log groups, resource policies and wait-condition handles are counted, not drawn (one node
each in the security and operations groups): they would be most of the nodes. So is what a
KMS key encrypts (a note beside the key, not an edge from each resource); a bucket's users
are one dashed edge from each group that uses it.

The DOT source is built here; Graphviz compiled to WebAssembly (the npm package
``@viz-js/viz``, run by the venv's Node.js: no ``dot`` binary) lays it out into SVG, the same
SVG for the same template. ``make diagrams`` (tests/update_diagrams.py) writes
docs/diagrams/<template id>.svg; tests/test_diagrams.py fails while one is stale.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

REPO = Path(__file__).resolve().parent.parent
DIAGRAMS_DIR = REPO / "docs" / "diagrams"
REGENERATE_DIAGRAMS = "make diagrams (or: .venv/bin/python tests/update_diagrams.py)"
_RENDERER = Path(__file__).resolve().parent / "render_dot.mjs"
RENDER_SECONDS = 120

#: Left to right, ranks close together: the main flow (source to the last deploy stage) is
#: about ten ranks long.
GRAPH_LAYOUT = "rankdir=LR, nodesep=0.15, ranksep=0.3"

#: Under each diagram's title: how to read it.
LEGEND = (
    "\nsolid arrow: starts, runs, notifies, or an event it matches;  dashed grey arrow: uses the bucket"
    "\ndashed ellipse: an AWS service's events or a system outside the stack;  note: resources counted, not drawn"
)

#: Concerns, in the order their groups are drawn: key -> (label, fill colour).
CONCERNS: dict[str, tuple[str, str]] = {
    "source": ("Source", "#e8f0fe"),
    "build": ("Model build", "#e6f4ea"),
    "registry": ("Model registry", "#fef7e0"),
    "images": ("Images", "#f3e8fd"),
    "deploy": ("Deploy stages", "#fce8e6"),
    "monitoring": ("Monitoring", "#e0f7fa"),
    "operations": ("Operations and notifications", "#fff3e0"),
    "storage": ("Storage", "#f1f3f4"),
    "security": ("Security (KMS, IAM)", "#ede7f6"),
    "lifecycle": ("Project lifecycle", "#f5f5f5"),
}

#: Resource types counted (one summary node), not drawn one by one: type -> (concern, what).
_COUNTED: dict[str, tuple[str, str]] = {
    "AWS::IAM::Role": ("security", "IAM roles"),
    "AWS::IAM::Policy": ("security", "IAM policies"),
    "AWS::IAM::ManagedPolicy": ("security", "IAM policies"),
    "AWS::S3::BucketPolicy": ("security", "resource policies"),
    "AWS::SNS::TopicPolicy": ("security", "resource policies"),
    "AWS::SQS::QueuePolicy": ("security", "resource policies"),
    "AWS::Lambda::Permission": ("security", "resource policies"),
    "AWS::Logs::LogGroup": ("operations", "log groups"),
    # The private network's "policy ready" handles: an ordering device, not a part of the flow.
    "AWS::CloudFormation::WaitConditionHandle": ("security", "wait-condition handles"),
}

#: Concern by resource type, before the logical-id rules.
_BY_TYPE = {
    "AWS::KMS::Key": "security",
    "AWS::S3::Bucket": "storage",
    "AWS::SNS::Topic": "operations",
    "AWS::CloudWatch::Dashboard": "operations",
    "AWS::SageMaker::ModelPackageGroup": "registry",
    "AWS::ECR::Repository": "images",
    "AWS::SageMaker::Image": "images",
    "AWS::CodeCommit::Repository": "source",
    "AWS::SageMaker::CodeRepository": "source",
    "Custom::SeedRepository": "source",
    "Custom::RetainedResourceCheck": "lifecycle",
}

#: Concern by logical-id prefix (first match), for the other types.
_BY_PREFIX = (
    ("Notifications", "operations"),
    ("Dashboard", "operations"),
    ("RepositorySeeder", "source"),
    ("RetrainOnDrift", "monitoring"),
    ("ModelMonitor", "monitoring"),
    ("MonitorTeardown", "monitoring"),
    ("ModelBuild", "build"),
    ("Dataset", "build"),
    ("ModelDeploy", "deploy"),
    ("StageTeardown", "deploy"),
    ("Jenkins", "deploy"),
    ("RetainedResourceCheck", "lifecycle"),
)

#: CDK's hash suffix of a logical id.
_HASH_SUFFIX = re.compile(r"[0-9A-F]{8}$")
#: ``Repository.onCommit``'s rule: <repository><owner path><hash><branch>EventRule.
_COMMIT_RULE = re.compile(r"^(?P<repository>.+?Repository)\w*?[0-9A-F]{8}(?P<branch>[A-Za-z0-9-]+?)EventRule(?:[0-9A-F]{8})?$")
#: aws-cdk-lib's singleton function behind ``AwsCustomResource``.
_AWS_CUSTOM_RESOURCE_PROVIDER = "AWS679f53fac002430cb0da5b7982bd2287"


@dataclass(frozen=True)
class Node:
    key: str
    label: str
    concern: str | None  # None: outside every group (an AWS service or external system)
    shape: str = "box"
    name: str = ""  # its name unwrapped (the label breaks a long one), if it is a resource

    @property
    def title(self) -> str:
        """Its name: the resource's, else the first line of its label."""
        return self.name or self.label.split("\n")[0]


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    label: str = ""
    minor: bool = False  # encryption and storage use, what a dashboard or check reads: drawn light
    ranked: bool = True  # False: the edge does not push its target rightwards (layout only)
    cluster: str = ""  # drawn from this concern's group as a whole (one edge per group), not its node


def _references(value: Any) -> Iterator[str]:
    """Logical ids (and parameter names) that ``value`` references, in document order."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                yield item
            elif key == "Fn::GetAtt":
                target = item[0] if isinstance(item, list) else str(item).split(".")[0]
                if isinstance(target, str):
                    yield target
            elif key == "Fn::Sub":
                text = item[0] if isinstance(item, list) else item
                if isinstance(text, str):
                    yield from (name.split(".")[0] for name in re.findall(r"\$\{([^!}][^}]*)\}", text))
                if isinstance(item, list) and len(item) > 1:
                    yield from _references(item[1])
            else:
                yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _kebab(logical_id: str, names: dict[str, tuple[str, list, str]]) -> str:
    """The resource type of a named resource's ARNs (``model-package-group``, ``image``)."""
    return names[logical_id][2]


def _names(resources: dict[str, dict]) -> dict[str, tuple[str, list, str]]:
    """Logical id -> (its service, the parts of its name), for resources whose own name
    property (``ImageName`` of an ``AWS::SageMaker::Image``...) is built with ``Fn::Join``:
    others name them instead of referencing them (a build's ``SAGEMAKER_IMAGE_NAME``, an event
    pattern's ``ImageArn`` or ``ModelPackageGroupName``)."""
    names = {}
    for logical_id, resource in resources.items():
        parts = resource["Type"].split("::")
        if parts[0] != "AWS":
            continue
        value = resource.get("Properties", {}).get(f"{parts[-1]}Name")
        join = value.get("Fn::Join") if isinstance(value, dict) else None
        if isinstance(join, list) and len(join) == 2 and join[0] == "" and isinstance(join[1], list) and len(join[1]) > 1:
            kind = re.sub(r"(?<!^)(?=[A-Z])", "-", parts[-1]).lower()
            names[logical_id] = (parts[1].lower(), join[1], kind)
    return names


def _named(value: Any, names: dict[str, tuple[str, list, str]]) -> Iterator[str]:
    """Logical ids whose name ``value`` spells: the same ``Fn::Join``, or an ARN of the same
    service and resource type ending in it (``...:sagemaker:...:image/<name>``)."""
    if isinstance(value, dict):
        join = value.get("Fn::Join")
        if isinstance(join, list) and len(join) == 2 and join[0] == "" and isinstance(join[1], list):
            parts = join[1]
            for logical_id, (service, name, _) in names.items():
                if parts == name:
                    yield logical_id
                elif len(parts) > len(name) and parts[len(parts) - len(name) + 1 :] == name[1:] and _arn_of(parts, service):
                    first, before = parts[len(parts) - len(name)], parts[len(parts) - len(name) - 1]
                    if isinstance(name[0], str) and isinstance(first, str) and first.endswith(name[0]):
                        prefix = first[: -len(name[0])]
                    else:
                        prefix = before if first == name[0] and isinstance(before, str) else ""
                    if prefix.endswith(f"{_kebab(logical_id, names)}/"):
                        yield logical_id
        for item in value.values():
            yield from _named(item, names)
    elif isinstance(value, list):
        for item in value:
            yield from _named(item, names)


def _arn_of(parts: list, service: str) -> bool:
    return any(isinstance(part, str) and f":{service}:" in part for part in parts)


#: Properties that say who may do what (key and resource policies), not where data goes.
_POLICY_PROPERTIES = frozenset({"KeyPolicy", "PolicyDocument", "AssumeRolePolicyDocument", "Policies"})


#: Parameters every template has, spelled short in a name.
_SHORT = {"SageMakerProjectName": "project", "SageMakerProjectId": "id"}


def _spelled(value: Any) -> str:
    """A name as the template builds it: ``Fn::Join`` parts with ``{Parameter}`` for a ``Ref``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "Ref" in value:
        return "{" + _SHORT.get(str(value["Ref"]), str(value["Ref"])) + "}"
    join = value.get("Fn::Join") if isinstance(value, dict) else None
    if isinstance(join, list) and len(join) == 2 and isinstance(join[1], list):
        return str(join[0]).join(_spelled(part) for part in join[1])
    return "(computed)"


def _wrap(name: str, width: int = 16) -> str:
    """A long CamelCase name on lines of about ``width`` characters, broken between words."""
    lines = [""]
    for word in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+|[^A-Za-z0-9]+|.", name):
        if lines[-1] and len(lines[-1]) + len(word) > width:
            lines.append("")
        lines[-1] += word
    return "\n".join(lines)


def _type_label(resource_type: str) -> str:
    service, _, kind = resource_type.partition("::")[2].partition("::")
    return f"{service} {kind}" if not resource_type.startswith("Custom::") else f"custom resource {resource_type[8:]}"


def _name(logical_id: str) -> str:
    if logical_id.startswith(_AWS_CUSTOM_RESOURCE_PROVIDER):
        return "AwsCustomResource provider"
    match = _COMMIT_RULE.match(logical_id)
    if match:
        return f"{match['repository']} push to {match['branch']}"
    return _HASH_SUFFIX.sub("", logical_id) if len(logical_id) > 8 else logical_id


def _concern(logical_id: str, resource: dict, resources: dict) -> str:
    resource_type = resource["Type"]
    if resource_type in _BY_TYPE:
        return _BY_TYPE[resource_type]
    for prefix, concern in _BY_PREFIX:
        if logical_id.startswith(prefix):
            return concern
    if resource_type.endswith("::Image") or "Image" in logical_id:
        return "images"
    return "lifecycle"


def _event_source(pattern: dict, shown: dict[str, Node], resources: dict) -> tuple[str, str] | None:
    """The node an event pattern's events come from: (key, label) of an AWS service node, or
    the model package group for SageMaker's model package state changes."""
    sources = pattern.get("source") or []
    detail_types = pattern.get("detail-type") or []
    if "SageMaker Model Package State Change" in detail_types:
        groups = sorted(k for k, r in resources.items() if r["Type"] == "AWS::SageMaker::ModelPackageGroup")
        if groups:
            return groups[0], ""
        return "aws:sagemaker-model-registry", "Model registry (an existing model package group)"
    if not sources or not all(isinstance(s, str) for s in sources):
        return None
    label = ", ".join(sources) + ("\n" + "\n".join(str(d) for d in detail_types) if detail_types else "")
    return "aws:" + "+".join(sources) + ":" + "+".join(str(d) for d in detail_types), label


def graph(template: dict) -> tuple[list[Node], list[Edge]]:
    """The nodes and edges of ``template``'s diagram, sorted (the same template, the same graph)."""
    resources: dict[str, dict] = template.get("Resources", {})
    parameters = template.get("Parameters", {})
    nodes: dict[str, Node] = {}
    counted: Counter[tuple[str, str]] = Counter()
    for logical_id, resource in resources.items():
        if resource["Type"] in _COUNTED:
            counted[_COUNTED[resource["Type"]]] += 1
            continue
        label = f"{_wrap(_name(logical_id))}\n{_type_label(resource['Type'])}"
        nodes[logical_id] = Node(logical_id, label, _concern(logical_id, resource, resources), name=_name(logical_id))
    # A custom resource's handler (aws-cdk-lib's AwsCustomResource provider among them) is drawn
    # in the group of the first custom resource that it serves.
    for logical_id, resource in sorted(resources.items()):
        token = resource.get("Properties", {}).get("ServiceToken") if resource["Type"].startswith("Custom::") else None
        for handler in _references(token):
            if handler in nodes and logical_id in nodes and resources[handler]["Type"] == "AWS::Lambda::Function":
                user = nodes[logical_id]
                if nodes[handler].concern == "lifecycle" and user.concern != "lifecycle":
                    nodes[handler] = Node(handler, nodes[handler].label, user.concern, name=nodes[handler].name)

    edges: set[Edge] = set()
    names = {key: name for key, name in _names(resources).items() if key in nodes}

    def references(value: Any) -> list[str]:
        """What ``value`` references or names (in order, once each)."""
        return list(dict.fromkeys([*_references(value), *_named(value, names)]))

    def data_properties(logical_id: str) -> dict:
        """A resource's properties less its policies and its own name."""
        own_name = f"{resources[logical_id]['Type'].split('::')[-1]}Name"
        properties = resources[logical_id].get("Properties", {})
        return {k: v for k, v in properties.items() if k not in _POLICY_PROPERTIES and k != own_name}

    encrypted: dict[str, set[str]] = {}  # key -> the resources it encrypts (a note, not an edge each)
    bucket_users: dict[tuple[str, str], str] = {}  # (group, bucket) -> the first of the group's users

    def link(source: str, target: str, label: str = "") -> None:
        if source == target or source not in nodes or target not in nodes:
            return
        target_type = resources.get(target, {}).get("Type")
        if target_type == "AWS::KMS::Key":
            encrypted.setdefault(target, set()).add(source)
            return
        if target_type == "AWS::S3::Bucket" and nodes[source].concern and nodes[source].concern != nodes[target].concern:
            # One dashed edge from each group that uses the bucket, not one from each resource.
            concern = nodes[source].concern or ""
            bucket_users[(concern, target)] = min(bucket_users.get((concern, target), source), source)
            return
        # Drawn light: storage use, what the dashboard shows, what the lifecycle checks.
        reader = resources.get(source, {}).get("Type") == "AWS::CloudWatch::Dashboard" or nodes[source].concern == "lifecycle"
        minor = reader or target_type == "AWS::S3::Bucket"
        # Sources stay leftmost; what only reads others does not rank them, nor does a plain
        # reference (a name it reads: drawn back to an earlier group, it would stretch the drawing).
        ranked = not reader and bool(label) and nodes[target].concern != "source"
        edges.add(Edge(source, target, "" if minor else label, minor, ranked))

    def external(key: str, label: str) -> str:
        nodes.setdefault(key, Node(key, label, None, shape="ellipse"))
        return key

    # The SageMaker Pipeline that a build project starts (named in its environment: it is created
    # by the build, not by the stack), and the model package group it registers models into.
    sagemaker_pipelines: dict[str, str] = {}  # its name, spelled -> its node
    for logical_id, resource in resources.items():
        if resource["Type"] != "AWS::CodeBuild::Project" or logical_id not in nodes:
            continue
        variables = {v.get("Name"): v.get("Value") for v in resource.get("Properties", {}).get("Environment", {}).get("EnvironmentVariables", [])}
        if "SAGEMAKER_PIPELINE_NAME" not in variables:
            continue
        spelled = _spelled(variables["SAGEMAKER_PIPELINE_NAME"])
        key = external(f"sagemaker-pipeline:{spelled}", f"SageMaker Pipeline\n{spelled}\n(upserted by the build)")
        sagemaker_pipelines[spelled] = key
        link(logical_id, key, "starts")
        for group in references(variables.get("MODEL_PACKAGE_GROUP_NAME")):
            if resources.get(group, {}).get("Type") == "AWS::SageMaker::ModelPackageGroup":
                edges.add(Edge(key, group, "registers"))

    def pipeline_of(pattern: dict) -> str | None:
        """The SageMaker Pipeline node whose execution events ``pattern`` matches."""
        if not any("Pipeline Execution Status Change" in str(d) for d in pattern.get("detail-type") or []):
            return None
        text = json.dumps(pattern.get("detail", {}).get("pipelineArn"))
        return next((key for spelled, key in sagemaker_pipelines.items() if len(sagemaker_pipelines) == 1 or spelled in text), None)

    for logical_id, resource in resources.items():
        if logical_id not in nodes:
            continue
        properties = resource.get("Properties", {})
        resource_type = resource["Type"]
        done: set[str] = set()
        if resource_type == "AWS::Events::Rule":
            for target in properties.get("Targets", []):
                for name in references(target.get("Arn")):
                    link(logical_id, name, "notifies" if resources.get(name, {}).get("Type") == "AWS::SNS::Topic" else "starts")
            named = [name for name in references(properties.get("EventPattern", {})) if name in nodes]
            execution_of = pipeline_of(properties.get("EventPattern", {}))
            if execution_of:  # a SageMaker Pipeline's executions (named like the group, not the group)
                named = [execution_of]
            for name in named:
                link(name, logical_id, "event")
            if not named and properties.get("EventPattern"):
                found = _event_source(properties["EventPattern"], nodes, resources)
                if found:
                    key, label = found
                    link(key if key in nodes else external(key, label), logical_id, "event")
            if properties.get("ScheduleExpression"):
                expression = properties["ScheduleExpression"]
                link(external("aws:schedule", "EventBridge schedule"), logical_id, expression if isinstance(expression, str) else "schedule")
            continue
        if resource_type == "AWS::CodePipeline::Pipeline":
            step = 0
            for stage in properties.get("Stages", []):
                for action in stage.get("Actions", []):
                    category = action.get("ActionTypeId", {}).get("Category")
                    configuration = action.get("Configuration", {})
                    provider = action.get("ActionTypeId", {}).get("Provider")
                    if (category, provider) in (("Deploy", "CloudFormation"), ("Approval", "Manual")):
                        # A stage's stack (in another account when its account parameter is set), or
                        # the manual approval between stages: numbered in the pipeline's order.
                        step += 1
                        key = f"stage:{logical_id}:{step:02d}:{action.get('Name')}"
                        if category == "Deploy":
                            accounts = [p for p in _references(action.get("RoleArn")) if p in parameters and p.endswith("AccountId")]
                            where = f"\nin account {{{accounts[0]}}} if set" if accounts else ""
                            stack = "}\n-".join(_spelled(configuration.get("StackName")).rsplit("}-", 1))
                            label = f"{action.get('Name')}\nCloudFormation stack\n{stack}{where}"
                        else:
                            label = f"{action.get('Name')}\nmanual approval"
                        nodes[key] = Node(key, label, nodes[logical_id].concern, shape="component" if category == "Deploy" else "box")
                        edges.add(Edge(logical_id, key, f"{step}. {'deploys' if category == 'Deploy' else 'waits for'}"))
                        done.update(_references(configuration))
                        continue
                    if category == "Source" and "ConnectionArn" in configuration:
                        # A repository on a Git host: one node per repository (its name's parameter or value).
                        repository = configuration.get("FullRepositoryId")
                        named = next(_references(repository), None) if isinstance(repository, dict) else repository
                        where = f"parameter {named}" if named in parameters else str(named)
                        link(external(f"git:{named}", f"Git repository\n{where}\n(CodeConnections)"), logical_id, "source")
                        done.update(_references(configuration))
                        continue
                    for name in references(configuration):
                        if category == "Source":
                            link(name, logical_id, "source")
                        else:
                            link(logical_id, name, {"Build": "runs", "Test": "runs", "Invoke": "invokes"}.get(category or "", ""))
                        done.add(name)
            for name in _references(properties.get("ArtifactStore", {})):
                link(logical_id, name)
                done.add(name)
        if resource_type == "AWS::Events::ApiDestination":
            # The HTTPS endpoint it calls (Jenkins' in build-deploy-jenkins): outside the account.
            endpoint = properties.get("InvocationEndpoint")
            named = next((n for n in _references(endpoint) if n in parameters), None)
            where = f"parameter {named}" if named else (endpoint if isinstance(endpoint, str) else "")
            link(logical_id, external(f"https:{where}", f"HTTPS endpoint\n{where}".strip()), "calls")
        for name in references(data_properties(logical_id)):
            if name not in done:
                link(logical_id, name)

    for (concern, bucket), user in sorted(bucket_users.items()):
        edges.add(Edge(user, bucket, "", minor=True, ranked=False, cluster=concern))
    for key, users in sorted(encrypted.items()):
        note = f"count:encrypted by {key}"
        nodes[note] = Node(note, f"{len(users)} resources\nencrypted by {_name(key)}", nodes[key].concern, shape="note")
    for (concern, what), count in sorted(counted.items()):
        key = f"count:{what}"
        nodes[key] = Node(key, f"{count} {what}", concern, shape="note")
    ordered = sorted(nodes.values(), key=lambda n: (list(CONCERNS).index(n.concern) if n.concern else -1, n.key))
    return ordered, sorted(edges, key=lambda e: (e.source, e.target, e.label))


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def dot_source(template_id: str, template: dict) -> str:
    """Graphviz DOT source of ``template``'s diagram."""
    nodes, edges = graph(template)
    lines = [
        f"digraph {_quote(template_id)} {{",
        f"  graph [{GRAPH_LAYOUT}, compound=true, newrank=true, fontname=Helvetica, fontsize=16,",
        f"         labelloc=t, label={_quote(template_id + ': ' + template.get('Description', '') + LEGEND)}];",
        "  node [shape=box, style=\"rounded,filled\", fillcolor=white, fontname=Helvetica, fontsize=10];",
        "  edge [fontname=Helvetica, fontsize=9, color=\"#444444\"];",
    ]
    for node in nodes:
        if node.concern is None:
            lines.append(f"  {_quote(node.key)} [label={_quote(node.label)}, shape={node.shape}, style=dashed];")
    for concern, (label, colour) in CONCERNS.items():
        members = [n for n in nodes if n.concern == concern]
        if not members:
            continue
        lines.append(f"  subgraph {_quote('cluster_' + concern)} {{")
        lines.append(f"    label={_quote(label)}; style=\"rounded,filled\"; fillcolor={_quote(colour)}; color=\"#999999\"; fontsize=12;")
        for node in members:
            lines.append(f"    {_quote(node.key)} [label={_quote(node.label)}, shape={node.shape}];")
        if concern == "source":  # where everything starts: the left edge
            lines.append("    { rank=min; " + " ".join(_quote(n.key) + ";" for n in members) + " }")
        # Counts sit beside the group's last resource (its key, its topic), not at the far left.
        drawn = [n for n in members if n.shape != "note"]
        for note in (n for n in members if n.shape == "note" and drawn):
            lines.append(f"    {_quote(drawn[-1].key)} -> {_quote(note.key)} [style=invis];")
        lines.append("  }")
    for edge in edges:
        # xlabel: placed once the layout is done, so labels do not widen the gaps between ranks.
        attributes = [f"xlabel={_quote(edge.label)}"] if edge.label else []
        if edge.minor:
            attributes += ["style=dashed", 'color="#aaaaaa"', "arrowsize=0.5", "weight=0"]
        if not edge.ranked:
            attributes.append("constraint=false")
        if edge.cluster:
            attributes.append(f"ltail={_quote('cluster_' + edge.cluster)}")
        lines.append(f"  {_quote(edge.source)} -> {_quote(edge.target)}" + (f" [{', '.join(attributes)}]" if attributes else "") + ";")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render_svg(sources: dict[str, str]) -> dict[str, str]:
    """SVG of each DOT source, laid out by Graphviz (WebAssembly) in one Node.js process."""
    node = Path(sys.executable).parent / "node"
    result = subprocess.run(
        [str(node if node.exists() else "node"), str(_RENDERER)],
        input=json.dumps(sources),
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=RENDER_SECONDS,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"rendering the diagrams failed (is node_modules/@viz-js/viz installed? make setup):\n{result.stderr}")
    rendered: dict[str, str] = json.loads(result.stdout)
    return rendered


def diagram_path(template_id: str) -> Path:
    return DIAGRAMS_DIR / f"{template_id}.svg"


def diagrams(templates: dict[str, dict]) -> dict[str, str]:
    """Template id -> its diagram's SVG text."""
    return render_svg({template_id: dot_source(template_id, template) for template_id, template in templates.items()})
