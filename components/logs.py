"""CloudWatch Logs facts shared by the control-plane and VPC flow-log groups (pure data)."""

from __future__ import annotations

from . import validation
from .errors import InvalidValueError

# The only values CloudWatch Logs' PutRetentionPolicy accepts (pulumi-aws `cloudwatch.LogGroup`
# docs, v7). 0 ("never expire") is accepted by the API but left out on purpose: logs kept forever
# are what this project's log groups exist to prevent.
CLOUDWATCH_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                             2192, 2557, 2922, 3288, 3653)
DEFAULT_LOG_RETENTION_DAYS = 90


def check_retention_days(field: str, days: object) -> int:
    """`days` if CloudWatch accepts it as a retention, else an `InvalidValueError` naming `field`."""
    allowed = "must be a CloudWatch Logs retention in days: " + ", ".join(map(str, CLOUDWATCH_RETENTION_DAYS))
    number = validation.integer(field, days, "a CloudWatch Logs retention in days")
    if number not in CLOUDWATCH_RETENTION_DAYS:
        raise InvalidValueError(field, days, allowed)
    return number


def control_plane_log_group_name(cluster_name: str) -> str:
    """The group EKS writes control-plane logs to (it creates it, without retention, if missing)."""
    return f"/aws/eks/{cluster_name}/cluster"


def flow_log_group_name(cluster_name: str) -> str:
    return f"/aws/vpc-flow-logs/{cluster_name}"
