/** The master's part of the agent configuration: what the model derives from a spec, the schema the agent reads it with. */
import { readFileSync } from 'node:fs';
import { deriveGraph } from '../../../src/model/derive.js';
import { TEMPLATE_NAMES } from '../../../src/model/bootstrap.js';
import { parseAgentConfig } from '../../../src/records/agent-config.js';
import { describe, expect, it } from 'vitest';
import { masterSettings } from '../../../src/model/master-settings.js';
import { naming } from '../../../src/model/names.js';
import { parseMasterSettings } from '../../../src/records/master-settings.js';
import { parseSpec } from '../../../src/spec/load.js';

const example = readFileSync(new URL('../../../cluster.example.yaml', import.meta.url), 'utf8');
const NOW = new Date('2026-12-05T12:00:00Z');

describe('master settings', () => {
  it('the example spec: one master, its DNS name and SANs, backup timing, the add-on row of its minor; the agent reads it back', () => {
    const spec = parseSpec(example, 'cluster.example.yaml', NOW).spec;
    const names = naming(spec);
    const ms = masterSettings(spec, names, '123456789012');
    expect(ms.controlPlaneCount).toBe(spec.spec.controlPlane.count);
    expect(ms.masterDns).toBe(`master.${names.internalDomain}`);
    expect(ms.apiCertSans[0]).toBe(ms.masterDns);
    expect(ms.backupIntervalMinutes).toBe(spec.spec.etcd.backupIntervalMinutes);
    expect(ms.helmVersion).toMatch(/^\d+\.\d+\.\d+$/);
    expect(ms.irsa).toBeUndefined();
    expect(parseMasterSettings(JSON.parse(JSON.stringify(ms)))).toEqual(ms);
  });

  it('refuses a configuration without master settings or with a wrong field, saying which', () => {
    expect((parseMasterSettings(undefined) as Error).message).toMatch(/no master settings/);
    expect((parseMasterSettings({ controlPlaneCount: 0 }) as Error).message).toMatch(/master\.controlPlaneCount/);
  });

  it('create puts them in agent/config.json: the agent reads the document, then its master settings', () => {
    const spec = parseSpec(example, 'cluster.example.yaml', NOW).spec;
    const templates = Object.fromEntries(TEMPLATE_NAMES.map((t) => [t, readFileSync(new URL(`../../../templates/${t}`, import.meta.url), 'utf8')]));
    const g = deriveGraph(spec, { accountId: '123456789012', images: { x86_64: 'ami-0123456789abcdef0' }, templates });
    const node = g.nodes.find((n) => n.key === 'object/agent/config.json')!;
    const config = parseAgentConfig((node.props as { body: string }).body);
    if (config instanceof Error) throw config;
    expect(parseMasterSettings(config.master)).toEqual(masterSettings(spec, naming(spec), '123456789012'));
  });
});
