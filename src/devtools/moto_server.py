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

# Auto scaling groups with a MixedInstancesPolicy, where moto 5.2 differs from the
# UpdateAutoScalingGroup / CreateAutoScalingGroup API reference:
# 1. An update that names neither LaunchTemplate, LaunchConfigurationName nor MixedInstancesPolicy
#    (a MinSize change, say) drops the group's policy; AWS keeps what the update does not name.
# 2. UpdateAutoScalingGroup's CapacityRebalance is ignored; AWS applies it.
# 3. A mixed group without weights launches fewer instances than its desired capacity (moto
#    truncates the on-demand/spot split to whole instances twice); AWS launches exactly the
#    desired capacity and only splits it between on-demand and spot.
from moto.autoscaling.models import FakeAutoScalingGroup  # noqa: E402
from moto.autoscaling.responses import AutoScalingResponse  # noqa: E402

_update_group = FakeAutoScalingGroup.update


def _update_keeping_policy(self, *args, **kwargs):
    names_template = kwargs.get("launch_config_name") or kwargs.get("launch_template")
    kept = self.mixed_instances_policy
    result = _update_group(self, *args, **kwargs)
    if kwargs.get("mixed_instances_policy") is None and not names_template:
        self.mixed_instances_policy = kept
    return result


FakeAutoScalingGroup.update = _update_keeping_policy

_update_response = AutoScalingResponse.update_auto_scaling_group


def _update_with_capacity_rebalance(self):
    result = _update_response(self)
    value = self._get_bool_param("CapacityRebalance", None)
    if value is not None:
        name = self._get_param("AutoScalingGroupName")
        self.autoscaling_backend.autoscaling_groups[name].capacity_rebalance = value
    return result


AutoScalingResponse.update_auto_scaling_group = _update_with_capacity_rebalance

_set_desired = FakeAutoScalingGroup.set_desired_capacity


def _set_desired_unweighted(self, new_capacity):
    policy = self.mixed_instances_policy
    overrides = ((policy or {}).get("LaunchTemplate") or {}).get("Overrides") or []
    if policy and not any("WeightedCapacity" in o for o in overrides):
        # one instance per unit of capacity, whatever the on-demand/spot split
        self.mixed_instances_policy = None
        try:
            return _set_desired(self, new_capacity)
        finally:
            self.mixed_instances_policy = policy
    return _set_desired(self, new_capacity)


FakeAutoScalingGroup.set_desired_capacity = _set_desired_unweighted

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
