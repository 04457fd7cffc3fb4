/**
 * The etcd health answers the decisions take as input. PURE.
 *
 * Finding 4 of issue 19: the bash rule "no recorded member answers" could never see a live member,
 * because the client certificate it needed was made after the check ran. Here the answers are a
 * required input of the decision, and only `healthFromProbes` makes one — from the Status probes
 * of src/etcd/client.ts, which connect with the etcd client certificate — so "lost for good" can
 * never be decided without having asked every recorded member with a certificate. An endpoint the
 * check did not reach is "not checked", never "dead".
 */
import type { Probe } from '../../etcd/client.js';

export interface EndpointAnswer {
  /** the member answered Status (it exists and is running) */
  answered: boolean;
  /** it answered, knows a leader and reports no alarm */
  healthy: boolean;
  /** decimal uint64s from Status, when it answered */
  memberId?: string;
  leader?: string;
  /** why it did not answer (EtcdError code and message) */
  error?: string;
}

declare const checkedWithClientCertificate: unique symbol;

/** Status answers by client URL; made by healthFromProbes only. */
export interface HealthAnswers {
  readonly [checkedWithClientCertificate]: true;
  readonly byEndpoint: Readonly<Record<string, EndpointAnswer>>;
}

/** The answers of probeAll (run with the etcd CA and a client certificate). */
export function healthFromProbes(probes: readonly Probe[]): HealthAnswers {
  const byEndpoint: Record<string, EndpointAnswer> = {};
  for (const p of probes)
    byEndpoint[p.endpoint] = p.ok
      ? { answered: true, healthy: p.healthy, memberId: p.status.memberId, leader: p.status.leader }
      : { answered: false, healthy: false, error: `${p.error.code}: ${p.error.message}` };
  return { byEndpoint } as HealthAnswers;
}
