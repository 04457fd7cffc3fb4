/**
 * The registries of named checks (checks/types.ts), in the order they run and report. The engine
 * runs these lists and knows no check by name: a new rule or pre-flight check is a file here and
 * one line below, with its table test in test/unit/checks/.
 */
import { clusterZones, controlPlaneShrink } from './cluster.js';
import { encryptionSwitch, kmsKey } from './encryption.js';
import { iamUsers, publicRecords, publicZone } from './foreign-holders.js';
import { images, keyPair } from './images.js';
import { instanceTypeOfferings, instanceTypeSizes, zones } from './offerings.js';
import { publicAccess } from './public-access.js';
import { iamPolicies } from './references.js';
import { elasticIps, vpcs } from './quotas.js';
import type { AnyClusterRule, AnyPreflightCheck } from './types.js';
import { versionSkew } from './version-skew.js';

/** What `plan` refuses that no single node's diff sees, in the plan's order. */
export const CLUSTER_RULES: readonly AnyClusterRule[] = [clusterZones, versionSkew, controlPlaneShrink, encryptionSwitch];

/**
 * What `create` checks before its first mutating call, in the order the checks start (their
 * failures are reported in PREFLIGHT_ORDER, by name).
 */
export const PREFLIGHT_CHECKS: readonly AnyPreflightCheck[] = [
  elasticIps,
  vpcs,
  zones,
  instanceTypeOfferings,
  instanceTypeSizes,
  images,
  keyPair,
  publicZone,
  publicRecords,
  iamUsers,
  iamPolicies,
  publicAccess,
  kmsKey,
];

/** The IAM actions pre-flight calls: every check's declaration (the operator policy is built from them). */
export const CALLS_OF_CHECKS: readonly string[] = [...new Set(PREFLIGHT_CHECKS.flatMap((c) => c.calls))];

export { PREFLIGHT_ORDER, type CheckContext, type PreflightFacts, type PreflightFailure, type Refusal, type RuleFacts } from './types.js';
export { sharedReads } from './shared.js';
