"""A target (staging, prod) account's baseline: what a tooling account's deploy pipelines use there.

The contract with the tooling side (role path and names, ``target_role_arn``) is
``constructs/deploy/targets.py``; ``stacks/target_account.py`` composes these into
``TargetAccountStack``.
"""

from .actions_role import TargetActionsRole
from .batch_roles import TargetTransformRole, TargetTriggerRole
from .deployer_role import TargetDeployerRole
from .endpoint_role import TargetEndpointRole
from .trust import ToolingAccountTrust

__all__ = [
    "TargetActionsRole",
    "TargetDeployerRole",
    "TargetEndpointRole",
    "TargetTransformRole",
    "TargetTriggerRole",
    "ToolingAccountTrust",
]
