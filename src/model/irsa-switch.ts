/**
 * Turning IRSA on or off for a running cluster, in an order that never leaves an add-on (EBS CSI
 * controller, cluster-autoscaler) without its permissions. PURE: the observed facts come in as data
 * (resources/master-renderings.ts reads them from what observe found), the decision goes out as data.
 *
 * A master runs its add-ons with the grants of the setting its launch template version was rendered
 * with: IRSA on → the add-ons' own roles (through the pod-identity webhook); off → the master's
 * instance role. So the old grant may go only once every master runs a version rendered with the
 * new setting (`kubeaz rollout` done):
 *
 *   on:  1. create makes the discovery bucket, provider and roles and a master launch template
 *           version rendered with IRSA on; the master's role KEEPS the EBS CSI and autoscaler
 *           statements. 2. once every master runs that version, create removes them.
 *   off: 1. create puts the statements back on the master's role and renders the master with IRSA
 *           off, KEEPING the IRSA roles, provider and discovery documents. 2. once every master runs
 *           that version, create (--allow-delete, as for any deletion) deletes them.
 *
 * Which setting a template version was rendered with is recorded on the launch template (tag
 * `kubeaz:irsa` = `<on|off>@<first version rendered so>`, written by the launch-template kind with
 * the version it makes); which version each master runs is the auto scaling group's answer.
 */

/** One master group as observed. */
export interface MasterRendering {
  /** the group's name (master, master-2, …) */
  group: string;
  /**
   * The setting the template's current versions are rendered with, and the first version rendered
   * so (every version from `since` on carries it). Undefined when the template is not there yet or
   * carries no record (made before it was kept): nothing to wait for.
   */
  template?: { irsa: boolean; since: number };
  /** the launch template version each of the group's live instances runs (0 when unknown or another template) */
  running: number[];
}

export type IrsaSwitchStep =
  /** every master runs the spec's setting (or no master runs yet): nothing to order */
  | 'settled'
  /** the masters' template is still rendered with the other setting: create makes the new version (step 1) */
  | 'apply'
  /** the template is rendered with the spec's setting but some master runs an older version: rollout (between the steps) */
  | 'rollout';

export interface IrsaSwitch {
  /** the spec's setting */
  irsa: boolean;
  step: IrsaSwitchStep;
  /** per group still behind: the version its masters must run (step rollout), or the group whose template changes (apply) */
  waiting: Array<{ group: string; version?: number; running: number[] }>;
}

/** Where the switch to the spec's setting stands, from the master groups as observed. */
export function irsaSwitchOf(irsa: boolean, masters: readonly MasterRendering[]): IrsaSwitch {
  const waiting: IrsaSwitch['waiting'] = [];
  let apply = false;
  for (const m of masters) {
    if (!m.template) continue;
    if (m.template.irsa !== irsa) {
      apply = true;
      waiting.push({ group: m.group, running: [...m.running] });
    } else if (m.running.some((v) => v < m.template!.since))
      waiting.push({ group: m.group, version: m.template.since, running: [...m.running] });
  }
  return { irsa, step: apply ? 'apply' : waiting.length ? 'rollout' : 'settled', waiting };
}

/** What the desired graph holds for a switch: the IRSA resources, and the add-on statements on the master's role. */
export function irsaGrants(sw: IrsaSwitch): { irsaResources: boolean; masterAddonStatements: boolean } {
  const moving = sw.step !== 'settled';
  return { irsaResources: sw.irsa || moving, masterAddonStatements: !sw.irsa || moving };
}

/** The switch of a spec whose cluster runs nothing yet (or where nothing was observed). */
export const settledSwitch = (irsa: boolean): IrsaSwitch => ({ irsa, step: 'settled', waiting: [] });

/** The launch template tag value: `<on|off>@<since>`. */
export const renderedWithValue = (irsa: boolean, since: number): string => `${irsa ? 'on' : 'off'}@${since}`;

/** Parses `<on|off>@<since>`; undefined for anything else. */
export function parseRenderedWith(v: string | undefined): { irsa: boolean; since: number } | undefined {
  const m = /^(on|off)@([0-9]+)$/.exec(v ?? '');
  return m ? { irsa: m[1] === 'on', since: Number(m[2]) } : undefined;
}

/**
 * Whether a plan takes the old grant away (step 2 of a switch to `irsa`): on, the master's role
 * loses the add-on statements (an update of role/master); off, the IRSA resources go (a deletion of
 * the OIDC provider or of an IRSA role, keys role/irsa-…; the provider's key is OIDC_PROVIDER_KEY of
 * areas/irsa.ts, which imports this module through the builder).
 */
export function takesOldGrantAway(irsa: boolean, changes: ReadonlyArray<{ key: string; action: string }>): boolean {
  return irsa
    ? changes.some((c) => c.key === 'role/master' && c.action === 'update')
    : changes.some((c) => c.action === 'delete' && (c.key === 'oidc-provider' || c.key.startsWith('role/irsa-')));
}

/**
 * The plan's line on a switch in progress (undefined when there is none to report). `finishing`:
 * the switch is settled but this plan still takes the old grant away (step 2).
 */
export function irsaSwitchText(sw: IrsaSwitch, finishing: boolean): string | undefined {
  const what = sw.irsa ? 'on' : 'off';
  const keep = sw.irsa
    ? "the master's role keeps the EBS CSI, cluster-autoscaler and termination handler statements"
    : 'the IRSA roles, OIDC provider and discovery documents stay (the add-ons still use them)';
  const then = sw.irsa ? "then create removes them from the master's role" : 'then create --allow-delete deletes them';
  const versions = (w: IrsaSwitch['waiting']) =>
    w.map((x) => `${x.group} on version ${x.version}${x.running.length ? ` (runs ${[...new Set(x.running)].join(', ')})` : ''}`).join(', ');
  if (sw.step === 'apply')
    return `IRSA switch (${what}): step 1/2 — this create renders the masters' launch template with IRSA ${what}; ${keep} until every master runs that version (kubeaz rollout); ${then}`;
  if (sw.step === 'rollout')
    return `IRSA switch (${what}): step 1/2 done — ${keep} until every master runs the version rendered with IRSA ${what}: ${versions(sw.waiting)} (kubeaz rollout); ${then}`;
  if (finishing)
    return `IRSA switch (${what}): step 2/2 — every master runs a launch template version rendered with IRSA ${what}: ${sw.irsa ? "the EBS CSI, cluster-autoscaler and termination handler statements leave the master's role" : 'the IRSA roles, OIDC provider and discovery documents go (with --allow-delete)'}`;
  return undefined;
}
