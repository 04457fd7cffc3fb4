/**
 * Whether the cluster's API answers: GET https://<master DNS>:443/readyz, checked against the
 * cluster CA from pki/ (as a new master sees it through the internal load balancer).
 * KUBEAZ_AGENT_API_URL replaces the URL (boot-sim, where master DNS does not resolve).
 */
import { request } from 'node:https';

export const API_URL_ENV = 'KUBEAZ_AGENT_API_URL';

export function apiReadyzUrl(masterDns: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env[API_URL_ENV] ?? `https://${masterDns}:443`;
  return `${base.replace(/\/+$/, '')}/readyz`;
}

/** true on HTTP 200 within the timeout; false on anything else (no answer, TLS refused, not ready). */
export function apiAnswers(url: string, caPem: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(url, { method: 'GET', ca: caPem, timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(false));
    req.end();
  });
}
