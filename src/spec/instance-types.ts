/** What an EC2 instance type's name says about it, without asking AWS. Pure. */

export type Arch = 'x86_64' | 'arm64';

/** Graviton and other arm64 instance families: a 'g' after the generation digit (m6g, c7gn, t4g), or a1. */
export function archOf(instanceType: string): Arch {
  const family = instanceType.split('.')[0] ?? '';
  return /^[a-z]+\d+[a-z]*g[a-z]*$/.test(family) || family === 'a1' ? 'arm64' : 'x86_64';
}

/** What the auto scaling API accepts as `SpotAllocationStrategy` (InstancesDistribution). */
export const SPOT_ALLOCATION_STRATEGIES = [
  'price-capacity-optimized',
  'capacity-optimized',
  'capacity-optimized-prioritized',
  'lowest-price',
] as const;
export type SpotAllocationStrategy = (typeof SPOT_ALLOCATION_STRATEGIES)[number];
/** Instance types per MixedInstancesPolicy (the auto scaling API's limit on Overrides). */
export const MAX_INSTANCE_TYPES = 20;
