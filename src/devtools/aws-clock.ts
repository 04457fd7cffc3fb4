/**
 * The AWS clock the loopback proxy (proxy.ts) can play in front of moto, which has none: moto
 * makes a NAT gateway `available` and `deleted` at once, and an auto scaling group vanishes with
 * its instances the moment it is deleted. Here new NAT gateways are reported `pending` for a set
 * time, deleted ones `deleting` (their subnet and address still in use meanwhile), and a deleted
 * group stays listed `Delete in progress` with its instances running until its deletion is passed
 * on to moto. Every such moment is logged in `events`, so a test can assert the order of what
 * happened.
 */
import type { ServerResponse } from 'node:http';

/** AWS's typical times, in seconds: a NAT gateway takes one to a few minutes to become available and about one to be deleted; a group's instances a minute or more to terminate. */
export interface AwsTiming {
  /** a new NAT gateway is `pending` this long (default 90) */
  natPendingSeconds: number;
  /** a deleted NAT gateway is `deleting` this long (default 60); its subnet and address stay in use */
  natDeletingSeconds: number;
  /** a deleted auto scaling group (ForceDelete) stays listed, its instances running, this long (default 60) */
  asgDeletingSeconds: number;
  /** CreateRoute naming a NAT gateway this young answers InvalidNatGatewayID.NotFound (AWS's eventual consistency; default 0) */
  natInvisibleSeconds: number;
  /** the first N CreateRoute calls naming each NAT gateway answer InvalidNatGatewayID.NotFound whatever the clock says (deterministic tests; default 0) */
  natInvisibleRefusals?: number;
}

export const AWS_TYPICAL: AwsTiming = { natPendingSeconds: 90, natDeletingSeconds: 60, asgDeletingSeconds: 60, natInvisibleSeconds: 0 };

export interface ProxyEvent {
  /** ms since the proxy started */
  t: number;
  what:
    | 'nat-created'
    | 'nat-available'
    | 'nat-delete-started'
    | 'nat-deleted'
    | 'asg-created'
    | 'asg-delete-started'
    | 'asg-deleted'
    | 'route-created'
    | 'route-refused'
    /** a call AWS would refuse because a deleting NAT gateway or group still holds what it names */
    | 'in-use-refused';
  id: string;
}

const param = (body: Buffer, name: string): string | undefined => new URLSearchParams(body.toString()).get(name) ?? undefined;

/** An EC2-style error answer (the SDK reads the code from it). */
function ec2Error(res: ServerResponse, status: number, code: string, message: string): void {
  const xml = `<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>${code}</Code><Message>${message}</Message></Error></Errors><RequestID>kubeaz-proxy</RequestID></Response>`;
  res.writeHead(status, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml) });
  res.end(xml);
}

/**
 * The AWS clock in front of moto. Keeps what it learnt of NAT gateways (created when, deleted
 * when, in which subnet with which address) and of groups being deleted; rewrites the answers
 * that would show moto's instant state; refuses what AWS refuses while a NAT gateway is deleting.
 */
export class AwsClock {
  readonly events: ProxyEvent[] = [];
  private readonly started = Date.now();
  private readonly nats = new Map<
    string,
    { created?: number; deleted?: number; subnetId?: string; allocationId?: string; available?: boolean; gone?: boolean }
  >();
  private readonly groups = new Map<string, { deleting: number; subnets: string[] }>();
  constructor(
    readonly timing: AwsTiming,
    private readonly forwardLater: (ms: number, fn: () => void) => void,
  ) {}

  log(what: ProxyEvent['what'], id: string): void {
    this.events.push({ t: Date.now() - this.started, what, id });
  }

  private natState(id: string, reported: string): string {
    const n = this.nats.get(id);
    const now = Date.now();
    if (!n) return reported;
    if (reported === 'available' && n.created !== undefined && now - n.created < this.timing.natPendingSeconds * 1000) return 'pending';
    if (reported === 'available' && !n.available) {
      n.available = true;
      this.log('nat-available', id);
    }
    if (reported === 'deleted' && n.deleted !== undefined && now - n.deleted < this.timing.natDeletingSeconds * 1000) return 'deleting';
    if (reported === 'deleted' && !n.gone) {
      n.gone = true;
      this.log('nat-deleted', id);
    }
    return reported;
  }

  private deletingNatHolding(pred: (n: { subnetId?: string; allocationId?: string }) => boolean): string | undefined {
    const now = Date.now();
    for (const [id, n] of this.nats)
      if (n.deleted !== undefined && now - n.deleted < this.timing.natDeletingSeconds * 1000 && pred(n)) return id;
    return undefined;
  }

  /** Before forwarding: true when the proxy answered itself. */
  intercept(action: string, body: Buffer, res: ServerResponse, isQuery: boolean, forwardNow: () => void): boolean {
    const now = Date.now();
    if (action === 'CreateRoute') {
      const nat = param(body, 'NatGatewayId');
      const n = nat ? this.nats.get(nat) : undefined;
      const refusedSoFar = nat ? this.events.filter((e) => e.what === 'route-refused' && e.id === nat).length : 0;
      if (
        nat &&
        n?.created !== undefined &&
        (now - n.created < this.timing.natInvisibleSeconds * 1000 || refusedSoFar < (this.timing.natInvisibleRefusals ?? 0))
      ) {
        this.log('route-refused', nat);
        ec2Error(res, 400, 'InvalidNatGatewayID.NotFound', `The natGateway ID '${nat}' does not exist`);
        return true;
      }
      if (nat) this.log('route-created', nat);
    }
    if (action === 'DeleteNatGateway') {
      const id = param(body, 'NatGatewayId') ?? '';
      const n = this.nats.get(id) ?? {};
      if (n.deleted === undefined) n.deleted = now;
      this.nats.set(id, n);
      this.log('nat-delete-started', id);
    }
    if (action === 'ReleaseAddress' || action === 'DisassociateAddress') {
      const alloc = param(body, 'AllocationId');
      const holder = alloc ? this.deletingNatHolding((n) => n.allocationId === alloc) : undefined;
      if (holder) {
        this.log('in-use-refused', `${action} ${alloc}`);
        ec2Error(res, 400, 'InvalidIPAddress.InUse', `Address ${alloc} is in use by ${holder}`);
        return true;
      }
    }
    if (action === 'DeleteSubnet') {
      const subnet = param(body, 'SubnetId');
      const holder = subnet
        ? (this.deletingNatHolding((n) => n.subnetId === subnet) ?? [...this.groups].find(([, g]) => g.subnets.includes(subnet))?.[0])
        : undefined;
      if (holder) {
        this.log('in-use-refused', `${action} ${subnet}`);
        ec2Error(res, 400, 'DependencyViolation', `The subnet '${subnet}' has dependencies (${holder}) and cannot be deleted.`);
        return true;
      }
    }
    if (action === 'DeleteAutoScalingGroup' && isQuery) {
      const name = param(body, 'AutoScalingGroupName') ?? '';
      if (!this.groups.has(name)) {
        this.groups.set(name, { deleting: now, subnets: [] });
        this.log('asg-delete-started', name);
        // AWS answers at once; the group and its instances go later.
        this.forwardLater(this.timing.asgDeletingSeconds * 1000, () => {
          forwardNow();
          this.groups.delete(name);
          this.log('asg-deleted', name);
        });
      }
      const xml =
        '<DeleteAutoScalingGroupResponse xmlns="http://autoscaling.amazonaws.com/doc/2011-01-01/"><ResponseMetadata><RequestId>kubeaz-proxy</RequestId></ResponseMetadata></DeleteAutoScalingGroupResponse>';
      res.writeHead(200, { 'content-type': 'text/xml', 'content-length': Buffer.byteLength(xml) });
      res.end(xml);
      return true;
    }
    return false;
  }

  /** Does this answer need rewriting (so it must be buffered)? */
  rewrites(action: string): boolean {
    return (
      action === 'CreateNatGateway' ||
      action === 'DescribeNatGateways' ||
      action === 'DescribeAutoScalingGroups' ||
      action === 'CreateAutoScalingGroup'
    );
  }

  rewrite(action: string, reqBody: Buffer, status: number, text: string): string {
    if (status >= 300) return text;
    if (action === 'CreateAutoScalingGroup') this.log('asg-created', param(reqBody, 'AutoScalingGroupName') ?? '');
    if (action === 'CreateNatGateway') {
      const id = /<natGatewayId>([^<]+)<\/natGatewayId>/.exec(text)?.[1];
      if (id) {
        this.nats.set(id, { created: Date.now(), subnetId: param(reqBody, 'SubnetId'), allocationId: param(reqBody, 'AllocationId') });
        this.log('nat-created', id);
        return text.replace(/<state>[^<]*<\/state>/, '<state>pending</state>');
      }
    }
    if (action === 'DescribeNatGateways') {
      // Each gateway's own <state> follows its <natGatewayId> (moto writes the members in order).
      return text.replace(
        /(<natGatewayId>([^<]+)<\/natGatewayId>[\s\S]*?<state>)([^<]*)(<\/state>)/g,
        (_m, head: string, id: string, state: string, tail: string) => `${head}${this.natState(id, state)}${tail}`,
      );
    }
    if (action === 'DescribeAutoScalingGroups' && this.groups.size) {
      // A group being deleted is listed as AWS lists it: Status "Delete in progress"; its subnets are still in use.
      return text.replace(/<AutoScalingGroupName>([^<]+)<\/AutoScalingGroupName>/g, (m, name: string) => {
        const g = this.groups.get(name);
        if (!g) return m;
        const zone = new RegExp(
          `<AutoScalingGroupName>${name}</AutoScalingGroupName>[\\s\\S]*?<VPCZoneIdentifier>([^<]*)</VPCZoneIdentifier>`,
        ).exec(text)?.[1];
        if (zone)
          g.subnets = zone
            .split(',')
            .map((x) => x.trim())
            .filter(Boolean);
        return `${m}<Status>Delete in progress</Status>`;
      });
    }
    return text;
  }
}
