/**
 * boot-sim's IAM evaluator and call naming (src/devtools/boot-sim/iam.ts): it must refuse what IAM
 * refuses, or the test that holds the instance roles to the agents' calls could not fail.
 */
import { describe, expect, it } from 'vitest';
import {
  allowed,
  iamRequest,
  wildcard,
  type IamLookups,
  type PolicyStatement,
  type RecordedCall,
} from '../../src/devtools/boot-sim/iam.js';
import { agentStatements, nodePolicy, loadbalancerPolicy } from '../../src/model/policies.js';

const B = 'kubeaz-demo-dev-123456789012';
const lookups: IamLookups = {
  region: 'us-east-1',
  account: '123456789012',
  asgTagsOfInstance: (id) => (id === 'i-own' ? { 'kubeaz:cluster': 'demo-dev' } : { 'kubeaz:cluster': 'other' }),
  addressTags: (id): Record<string, string> => (id === 'eipalloc-own' ? { 'kubeaz:cluster': 'demo-dev' } : {}),
  instanceTags: (id): Record<string, string> => (id === 'i-own' ? { 'kubeaz:cluster': 'demo-dev' } : {}),
};
const call = (c: Partial<RecordedCall>): RecordedCall => ({
  instanceId: 'i-own',
  role: 'node',
  method: 'GET',
  url: '/',
  service: 's3',
  ...c,
});
const req = (c: Partial<RecordedCall>) => iamRequest(call(c), lookups)!;
const st = (d: { Statement: unknown }) => d.Statement as PolicyStatement[];

describe('wildcard', () => {
  it('* any run, ? one character, nothing else special', () => {
    expect(wildcard('arn:aws:s3:::b/boot/*', 'arn:aws:s3:::b/boot/i-1.json')).toBe(true);
    expect(wildcard('arn:aws:s3:::b/boot/*', 'arn:aws:s3:::b/join/token')).toBe(false);
    expect(wildcard('s3:Get?bject', 's3:GetObject')).toBe(true);
    expect(wildcard('a.b', 'axb')).toBe(false);
    expect(wildcard('S3:getobject', 's3:GetObject', true)).toBe(true);
  });
});

describe('naming recorded calls as IAM sees them', () => {
  it('S3 path-style calls: objects, listing with its prefix', () => {
    expect(req({ method: 'GET', url: `/${B}/agent/config.json?x-id=GetObject` })).toEqual({
      action: 's3:GetObject',
      resources: [`arn:aws:s3:::${B}/agent/config.json`],
      context: {},
    });
    expect(req({ method: 'PUT', url: `/${B}/boot/i-own.json?x-id=PutObject` }).action).toBe('s3:PutObject');
    expect(req({ method: 'DELETE', url: `/${B}/etcd/x.db` }).action).toBe('s3:DeleteObject');
    expect(req({ method: 'GET', url: `/${B}?list-type=2&prefix=join%2F` })).toEqual({
      action: 's3:ListBucket',
      resources: [`arn:aws:s3:::${B}`],
      context: { 's3:prefix': 'join/' },
    });
  });
  it('query calls by their Action; AssociateAddress on both the address and the instance', () => {
    const r = req({
      service: 'ec2',
      method: 'POST',
      form: { Action: 'AssociateAddress', AllocationId: 'eipalloc-own', InstanceId: 'i-own' },
    });
    expect(r.action).toBe('ec2:AssociateAddress');
    expect(r.resources).toEqual([
      'arn:aws:ec2:us-east-1:123456789012:elastic-ip/eipalloc-own',
      'arn:aws:ec2:us-east-1:123456789012:instance/i-own',
    ]);
  });
});

describe('allowed', () => {
  const node = st(nodePolicy(`arn:aws:s3:::${B}`));
  it('a node reads agent/ and join/ and writes its boot report', () => {
    expect(allowed(node, req({ method: 'GET', url: `/${B}/agent/config.json` })).ok).toBe(true);
    expect(allowed(node, req({ method: 'GET', url: `/${B}/join/token` })).ok).toBe(true);
    expect(allowed(node, req({ method: 'PUT', url: `/${B}/boot/i-own.json` }))).toEqual({ ok: true, by: ['WriteBootReport'] });
  });
  it('refuses what the policy does not grant: another prefix, another verb, a listing outside the allowed prefixes', () => {
    expect(allowed(node, req({ method: 'GET', url: `/${B}/pki/ca.key` })).ok).toBe(false);
    expect(allowed(node, req({ method: 'PUT', url: `/${B}/join/token` })).ok).toBe(false);
    expect(allowed(node, req({ method: 'GET', url: `/${B}?list-type=2&prefix=etcd%2F` })).ok).toBe(false);
    expect(allowed(node, req({ method: 'GET', url: `/${B}?list-type=2` })).ok).toBe(false);
    expect(allowed(st({ Statement: agentStatements(`arn:aws:s3:::${B}`) }), req({ method: 'GET', url: `/${B}/join/token` })).ok).toBe(
      false,
    );
  });
  it('resource-tag conditions hold on every resource of the request', () => {
    const lb = st(loadbalancerPolicy(`arn:aws:s3:::${B}`, 'us-east-1', '123456789012', 'demo-dev'));
    expect(
      allowed(
        lb,
        req({ service: 'ec2', method: 'POST', form: { Action: 'AssociateAddress', AllocationId: 'eipalloc-own', InstanceId: 'i-own' } }),
      ).ok,
    ).toBe(true);
    expect(
      allowed(
        lb,
        req({
          service: 'ec2',
          method: 'POST',
          form: { Action: 'AssociateAddress', AllocationId: 'eipalloc-foreign', InstanceId: 'i-own' },
        }),
      ).ok,
    ).toBe(false);
    expect(
      allowed(
        node,
        req({ service: 'ec2', method: 'POST', form: { Action: 'AssociateAddress', AllocationId: 'eipalloc-own', InstanceId: 'i-own' } }),
      ).ok,
    ).toBe(false);
  });
  it('an explicit Deny wins over an Allow', () => {
    const s: PolicyStatement[] = [...node, { Effect: 'Deny', Action: 's3:*', Resource: `arn:aws:s3:::${B}/boot/*` }];
    expect(allowed(s, req({ method: 'PUT', url: `/${B}/boot/i-own.json` })).ok).toBe(false);
  });
});
