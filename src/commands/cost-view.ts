/** How a cost estimate reads: cost's table, and the one line plan and create print (no command of its own). */
import type { CostComponent, CostEstimate } from '../model/cost.js';
import { SPOT_RANGE } from '../model/cost.js';
import { table } from './output.js';

export const usd = (n: number): string => `$${n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

/** A unit price as AWS writes it: $0.096/hour, $0.08/GB-month. */
const unitPrice = (c: CostComponent): string =>
  c.unitPrice === null
    ? 'unknown'
    : `$${c.unitPrice.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 6 })}/${c.unit === 'GB' ? 'GB-' : ''}${c.per}`;

const totalText = (e: CostEstimate): string =>
  `${usd(e.total)}/month${e.range ? ` (spot instances at ${SPOT_RANGE.low * 100}–${SPOT_RANGE.high * 100}% of on-demand: ${usd(e.range.low)}–${usd(e.range.high)})` : ''}`;

/** cost's text: the components, the total, where the prices came from, what is left out. */
export function renderCost(e: CostEstimate, prices: { source: string; date: string; fallbackReason?: string }, cluster: string): string {
  const rows = [
    ['COMPONENT', 'COUNT', 'UNIT PRICE', 'MONTHLY'],
    ...e.components.map((c) => [
      c.name,
      `${c.count} ${c.unit === 'GB' ? 'GB' : ''}`.trim(),
      unitPrice(c),
      c.monthly === null ? 'unknown' : c.spot ? `${usd(c.spot.low)}–${usd(c.spot.high)}` : usd(c.monthly),
    ]),
  ];
  const notes = e.components.filter((c) => c.note).map((c) => `  ${c.name}: ${c.note}`);
  return [
    `Estimated monthly cost of ${cluster} in ${e.region} (730 hours a month, ${e.currency}, on-demand, each group at its desired capacity):`,
    '',
    table(rows),
    '',
    `total: ${totalText(e)}${e.unknown.length ? ` — without ${e.unknown.length} component${e.unknown.length === 1 ? '' : 's'} of unknown price` : ''}`,
    ...e.unknown.map((u) => `unknown: ${u}`),
    ...(notes.length ? ['', 'notes:', ...notes] : []),
    '',
    `prices: ${prices.source}${prices.source.includes(prices.date) ? '' : `, ${prices.date}`}${prices.fallbackReason ? ` (${prices.fallbackReason})` : ''}`,
    `not included: ${e.leavesOut.join('; ')}`,
  ].join('\n');
}

/** A component in a few words, for the one line: "3 NAT gateways", "300 GB gp3". */
function shortly(c: CostComponent): string {
  const [kind, detail] = c.key.split(':');
  if (kind === 'ebs') return `${c.count} GB ${detail}`;
  const label: Record<string, string> = {
    'nat-gateway': 'NAT gateway',
    'classic-lb': 'classic load balancer',
    'network-lb': 'network load balancer',
    'public-ipv4': 'public IPv4 address',
    'hosted-zone': 'hosted zone',
  };
  const one = label[kind!] ?? c.name;
  return `${c.count} ${c.count === 1 ? one : one.endsWith('s') ? `${one}es` : `${one}s`}`;
}

/** plan's and create's one line: the total and what it is made of, from the bundled table. */
export function costLine(e: CostEstimate, date: string, file: string): string {
  const isInstances = (c: CostComponent) => c.key.startsWith('instance:');
  const instances = e.components.filter(isInstances).reduce((n, c) => n + c.count, 0);
  const parts = e.components.filter((c) => !isInstances(c)).map(shortly);
  const unknown = e.components.filter((c) => c.unknown).map((c) => c.name.replace(/^instances: /, ''));
  return (
    `estimated cost: ${totalText(e)} in ${e.region} for ${instances} instance${instances === 1 ? '' : 's'}, ${parts.join(', ')}` +
    `${unknown.length ? `; unknown price: ${unknown.join(', ')}` : ''}` +
    ` (bundled prices of ${date}; data transfer and requests not included; kubeaz cost -f ${file} for the breakdown)`
  );
}
