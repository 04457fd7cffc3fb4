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

if __name__ == "__main__":
    from moto.server import main

    main(sys.argv[1:])
