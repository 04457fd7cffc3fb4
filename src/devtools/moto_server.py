"""moto_server for kubeaz's tests and demo.

moto evaluates a bucket policy's statements without their Condition, so the usual TLS-only
statement (Deny s3:* unless aws:SecureTransport) denies every call, while AWS applies it only to
plain-HTTP requests. Here conditional statements are left out of moto's evaluation; everything
else is moto as it ships. Usage: python3 moto_server.py -H 127.0.0.1 -p PORT
"""
import json
import sys

from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.s3.models import FakeBucket


def get_permission(self, action, resource):
    if self.policy is None:
        return PermissionResult.NEUTRAL
    doc = json.loads(self.policy.decode())
    statements = doc.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    kept = [s for s in statements if "Condition" not in s]
    if not kept:
        return PermissionResult.NEUTRAL
    doc["Statement"] = kept
    return IAMPolicy(json.dumps(doc)).is_action_permitted(action, resource)


FakeBucket.get_permission = get_permission

# moto copies a launch template's tags once, when it is created: a later CreateTags shows in
# DescribeTags but not in DescribeLaunchTemplates. AWS shows the current tags in both.
from moto.ec2.models.launch_templates import LaunchTemplate  # noqa: E402

LaunchTemplate.tags = property(lambda self: self.get_tags(), lambda self, value: None)

# moto's group → classic ELB sync makes the load balancer hold exactly one group's instances: it
# deregisters every instance that is not in the group being synced, so with several groups on one
# load balancer (one auto scaling group per master, all behind the API ELBs) only the last group's
# instance stays registered. On AWS each group registers and deregisters only its own instances.
# Here the sync deregisters only instances of this group (or of no live group) that are not active.
from moto.autoscaling.models import AutoScalingBackend  # noqa: E402
from moto.elb.exceptions import LoadBalancerNotFoundError  # noqa: E402


def update_attached_elbs(self, group_name):
    group = self.autoscaling_groups[group_name]
    active = {state.instance.id for state in group.active_instances()}
    if not group.load_balancer_names:
        return
    try:
        elbs = self.elb_backend.describe_load_balancers(names=group.load_balancer_names)
    except LoadBalancerNotFoundError:
        return
    others = {
        state.instance.id
        for name, g in self.autoscaling_groups.items()
        if name != group_name
        for state in g.active_instances()
    }
    for elb in elbs:
        registered = set(elb.instance_ids)
        self.elb_backend.register_instances(elb.name, active - registered, from_autoscaling=True)
        self.elb_backend.deregister_instances(elb.name, registered - active - others, from_autoscaling=True)


AutoScalingBackend.update_attached_elbs = update_attached_elbs

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
