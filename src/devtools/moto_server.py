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

# ELBv2 (moto 5.2), two answers patched to what AWS documents:
# - every load balancer reports CanonicalHostedZoneId "Z2P70J7EXAMPLE". AWS answers the zone of the
#   load balancer's type and region (the "Elastic Load Balancing endpoints" table): an NLB's differs
#   from an ALB's or a classic ELB's, and an alias record needs the right one.
# - CreateLoadBalancer with a name already taken in the region makes a second load balancer of that
#   name (moto checks the random ARN). AWS answers the existing one when the request is the same,
#   DuplicateLoadBalancerName otherwise.
# Not patched (tests read back what was asked for instead): moto lets one target group serve several
# load balancers, which AWS refuses (a target group belongs to one load balancer; kubeaz makes one
# per NLB), and CreateTargetGroup with a taken name always answers DuplicateTargetGroupName (AWS
# answers the existing group for an identical request).
from moto.elbv2 import models as elbv2_models  # noqa: E402

ELBV2_ZONES = {
    # region: (application, network)
    "us-east-1": ("Z35SXDOTRQ7X7K", "Z26RNL4JYFTOTI"),
    "us-east-2": ("Z3AADJGX6KTTL2", "ZLMOA37VPKANP"),
    "us-west-1": ("Z368ELLRRE2KJ0", "Z24FKFUX50B4VW"),
    "us-west-2": ("Z1H1FL5HABSF5", "Z18D5FSROUN65G"),
    "eu-west-1": ("Z32O12XQLNTSW2", "Z2IFOLAFXWLO4F"),
    "eu-central-1": ("Z215JYRZR1TBD5", "Z3F0SRJ5LGBH90"),
}
_create_lb = elbv2_models.ELBv2Backend.create_load_balancer


def create_load_balancer(self, name, security_groups, subnet_ids, *args, **kwargs):
    lb_type = kwargs.get("loadbalancer_type") or "application"
    for existing in self.load_balancers.values():
        if existing.name == name:
            same = existing.type == lb_type and existing.scheme == (kwargs.get("scheme") or "internet-facing") and sorted(
                s.id for s in existing.subnets
            ) == sorted(subnet_ids or [])
            if same:
                return existing
            raise elbv2_models.DuplicateLoadBalancerName()
    lb = _create_lb(self, name, security_groups, subnet_ids, *args, **kwargs)
    zones = ELBV2_ZONES.get(self.region_name)
    if zones:
        lb.canonical_hosted_zone_id = zones[1] if lb.type == "network" else zones[0]
    return lb


elbv2_models.ELBv2Backend.create_load_balancer = create_load_balancer


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

# An instance of an auto scaling group reports the launch template version it was LAUNCHED from
# (DescribeAutoScalingGroups Instances[].LaunchTemplate.Version; AWS documents it so, and an
# instance refresh exists to replace instances of an older version). moto 5.2 answers the
# template's current default version for every instance, so after a new version every old
# instance looks replaced. Here each instance keeps the version its group launched it from.
from moto.autoscaling.models import InstanceState  # noqa: E402

_instance_state_init = InstanceState.__init__


def _instance_state_init_recording(self, *args, **kwargs):
    _instance_state_init(self, *args, **kwargs)
    group = self.auto_scaling_group
    template = group.ec2_launch_template if group is not None else None
    self.launched_version = None
    if template is not None:
        try:
            self.launched_version = template.get_version(group.launch_template_version).number
        except Exception:  # an unknown version: report the default, as moto did
            self.launched_version = None


def _launched_template(self):
    group = self.auto_scaling_group
    if group is None or group.ec2_launch_template is None:
        return None
    template = group.ec2_launch_template
    version = getattr(self, "launched_version", None) or template.default_version_number
    return {"LaunchTemplateId": template.id, "LaunchTemplateName": template.name, "Version": str(version)}


InstanceState.__init__ = _instance_state_init_recording
InstanceState.launch_template = property(_launched_template)

# A launch template version made by CreateLaunchTemplateVersion keeps its UserData as the plain
# base64 string of the request, and moto asserts a Base64EncodedString when a group launches from
# it: every launch from such a version (a replaced instance, a scale-out) answers 500. AWS launches
# it like any other version. Here the string is wrapped as moto expects.
from moto.core.types import Base64EncodedString  # noqa: E402
from moto.ec2.models.launch_templates import LaunchTemplateVersion  # noqa: E402


def _version_user_data(self):
    user_data = self.data.get("UserData")
    if isinstance(user_data, str):
        return Base64EncodedString(user_data)
    return user_data


LaunchTemplateVersion.user_data = property(_version_user_data)

# AWS publishing a new Amazon Linux 2023 image, which a test needs to stand in for: moto 5.2 loads
# the public /aws/service/ami-amazon-linux-latest/ parameters from its data files and, as AWS does,
# refuses every caller's PutParameter of an /aws/ name (AccessDenied). Here PutParameter of a name
# under that prefix adds a version of the public parameter (kubeaz itself never writes one; the
# image tests publish through it: test/e2e/images.test.ts). Every other name is moto's.
from moto.core.utils import utcnow  # noqa: E402
from moto.ssm.models import Parameter, SimpleSystemManagerBackend  # noqa: E402

PUBLISHED_IMAGES = "/aws/service/ami-amazon-linux-latest/"
_put_parameter = SimpleSystemManagerBackend.put_parameter


def _put_parameter_publishing(self, name, description, value, parameter_type, *args, **kwargs):
    if not str(name or "").startswith(PUBLISHED_IMAGES):
        return _put_parameter(self, name, description, value, parameter_type, *args, **kwargs)
    versions = self._parameters[name]  # moto's shipped value first (it loads them on first use)
    previous = versions[-1] if versions else None
    param = Parameter(
        account_id=self.account_id,
        name=name,
        value=value,
        parameter_type=previous.parameter_type if previous else "String",
        description=None,
        allowed_pattern=None,
        keyid=None,
        last_modified_date=utcnow(),
        version=(previous.version if previous else 0) + 1,
        data_type=previous.data_type if previous else "text",
    )
    versions.append(param)
    return param


SimpleSystemManagerBackend.put_parameter = _put_parameter_publishing

# Lifecycle hooks (moto 5.2.1): every hook is answered with the same NotificationTargetARN
# (arn:aws:sqs:us-east-1:123456789012:my-queue) and RoleARN, whatever PutLifecycleHook said.
# DescribeLifecycleHooks (API reference) answers the target and role the hook was given, and none
# when none was — the drain hooks (src/resources/lifecycle-hook.ts) are delivered through an
# EventBridge rule, have neither, and compare the target: the fixed one read as drift on every
# run. Here a hook keeps the target and role PutLifecycleHook gave it (an update that names
# neither keeps the previous ones; an empty NotificationTargetARN removes the target). Not patched
# (kubeaz does not send it): CreateAutoScalingGroup's LifecycleHookSpecificationList is ignored.
from moto.autoscaling.responses import AutoScalingResponse  # noqa: E402

_put_lifecycle_hook = AutoScalingResponse.put_lifecycle_hook


def _put_lifecycle_hook_as_given(self):
    key = f"{self._get_param('AutoScalingGroupName')}_{self._get_param('LifecycleHookName')}"
    before = self.autoscaling_backend.lifecycle_hooks.get(key)
    kept = {
        "notification_target_arn": getattr(before, "given_target", None),
        "role_arn": getattr(before, "given_role", None),
    }
    out = _put_lifecycle_hook(self)
    hook = self.autoscaling_backend.lifecycle_hooks[key]
    target = self._get_param("NotificationTargetARN")
    role = self._get_param("RoleARN")
    hook.given_target = kept["notification_target_arn"] if target is None else (target or None)
    hook.given_role = kept["role_arn"] if role is None else (role or None)
    hook.notification_target_arn = hook.given_target
    hook.role_arn = hook.given_role
    return out


AutoScalingResponse.put_lifecycle_hook = _put_lifecycle_hook_as_given

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
