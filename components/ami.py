"""Where the EKS-optimized Amazon Linux 2023 AMI IDs are published in SSM, and which release a
stack runs (pure).

A release is pinned by default (`versions.DEFAULT_AMI_RELEASE_VERSION`): each pool reads its AMI's
release-specific parameter, which never changes, so an AWS release changes no plan. `recommended`
follows SSM's recommended AMI instead, which moves to each new release.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from . import validation
from .errors import InvalidValueError

# AMI releases are named by date, e.g. v20260714 (awslabs/amazon-eks-ami tags and CHANGELOG.md).
_RELEASE_VERSION = re.compile(r"v20\d{6}")
# The value that follows SSM's recommended AMI at each `pulumi up` instead of a pinned release.
RECOMMENDED = "recommended"
# The `release_version` of an AMI, as SSM and EKS managed node groups give it: `<k8s patch>-<date>`,
# such as 1.35.6-20260714 (the "Release version" column of amazon-eks-ami's CHANGELOG.md).
_PUBLISHED_RELEASE = re.compile(r"\d+\.\d+\.\d+-(20\d{6})")


def check_ami_release_version(release_version: object) -> str:
    """Refuse (`ami_release_version`) anything but an EKS AMI release such as 'v20260714' or 'recommended'."""
    allowed = ("must be an EKS AMI release such as 'v20260714' (see the amazon-eks-ami releases), "
               f"or '{RECOMMENDED}' to follow SSM's recommended AMI at each `pulumi up`")
    text = validation.string("ami_release_version", release_version, allowed=allowed)
    if not text.strip():
        # Empty once meant "follow the recommended AMI", when that was the default.
        raise InvalidValueError("ami_release_version", release_version,
                                f"empty no longer means the recommended AMI: write '{RECOMMENDED}' to keep following "
                                "SSM's recommended AMI at each `pulumi up`, a release such as 'v20260714' to pin one, "
                                "or remove the key for the package's pinned release")
    if text != RECOMMENDED and not _RELEASE_VERSION.fullmatch(text):
        raise InvalidValueError("ami_release_version", release_version, allowed)
    return text


def is_pinned_before(release_version: str, release: str) -> bool:
    """Whether `release_version` pins a release older than `release` (both `vYYYYMMDD`)."""
    return release_version != RECOMMENDED and release_version < release


def _ami_path(kubernetes_version: str, gpu: bool, architecture: str) -> tuple[str, str]:
    # Kubernetes says amd64 where the AMI paths say x86_64.
    architecture = {"amd64": "x86_64"}.get(architecture, architecture)
    variant = "nvidia" if gpu else "standard"
    return f"/aws/service/eks/optimized-ami/{kubernetes_version}/amazon-linux-2023/{architecture}/{variant}", \
        f"{architecture}-{variant}"


def ami_parameter_name(kubernetes_version: str, gpu: bool, architecture: str, release_version: str) -> str:
    """The SSM parameter holding the AMI ID.

    With `recommended`: the `recommended` parameter, which moves to each new AMI release.
    With a release: that release's own parameter, which never changes. Its name is the AMI's name,
    `amazon-eks-node-al2023-<arch>-<variant>-<k8s>-<release>` (the names in amazon-eks-ami's
    CHANGELOG.md; the same path as Karpenter's `al2023@<version>` alias, aws/karpenter-provider-aws
    pkg/providers/amifamily/al2023.go), for example
    `/aws/service/eks/optimized-ami/1.35/amazon-linux-2023/x86_64/nvidia/amazon-eks-node-al2023-x86_64-nvidia-1.35-v20260714/image_id`.
    """
    path, kind = _ami_path(kubernetes_version, gpu, architecture)
    leaf = (RECOMMENDED if release_version == RECOMMENDED
            else f"amazon-eks-node-al2023-{kind}-{kubernetes_version}-{release_version}")
    return f"{path}/{leaf}/image_id"


def release_parameter_name(kubernetes_version: str, gpu: bool, architecture: str) -> str:
    """The SSM parameter holding the release of the recommended AMI (`recommended/release_version`,
    beside `recommended/image_id`, as the EKS user guide lists its sub-parameters)."""
    return f"{_ami_path(kubernetes_version, gpu, architecture)[0]}/{RECOMMENDED}/release_version"


def published_release(value: str) -> str | None:
    """The `vYYYYMMDD` release of a `release_version` value such as '1.35.6-20260714', or None."""
    match = _PUBLISHED_RELEASE.fullmatch(value.strip())
    return f"v{match[1]}" if match else None


def newer_release(release_version: str, recommended: Mapping[str, str | None]) -> tuple[str, str] | None:
    """The newest recommended release (`release_version` parameter -> its value, None when unreadable)
    when it is newer than the pinned `release_version`, with the parameters that recommend it; None
    otherwise, and always with `recommended`."""
    if release_version == RECOMMENDED:
        return None
    newer = {name: published_release(value) for name, value in recommended.items() if value}
    newest = max((r for r in newer.values() if r and r > release_version), default=None)
    if newest is None:
        return None
    return newest, ", ".join(sorted(name for name, release in newer.items() if release == newest))


def newer_release_notes(release_version: str, recommended: Mapping[str, str | None], *,
                        newer: bool = True) -> list[str]:
    """What to say at preview about the pinned `release_version` against the recommended releases
    (`release_version` parameter -> its value, None when unreadable): one line when one is newer
    (unless `newer` is False: a warning says it), one line for parameters that could not be read."""
    if release_version == RECOMMENDED:
        return []
    notes = []
    found = newer_release(release_version, recommended)
    if found and newer:
        newest, which = found
        notes.append(f"AMI release {release_version} is pinned (amiReleaseVersion); {newest} is newer and recommended "
                     f"({which}). To move, `pulumi config set amiReleaseVersion {newest}` and review the preview: each "
                     "launch template's imageId changes and nothing else (docs/upgrades.md)")
    unread = sorted(name for name, value in recommended.items() if value is None)
    if unread:
        notes.append(f"could not read the recommended AMI release ({', '.join(unread)}) to compare with the pinned "
                     f"{release_version}; the plan does not depend on it")
    return notes
