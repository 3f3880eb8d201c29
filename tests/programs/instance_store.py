"""A program that asks AWS for instance shapes as the stack does (aws_facts, the Pulumi invoke) and
exports each type's NVMe instance store: the types are the config's `types`."""

import pulumi

from components import aws_facts

types = pulumi.Config().require_object("types")
pulumi.export("localNvmeGb", {t: aws_facts.instance_shape(t).local_nvme_gb for t in types})
