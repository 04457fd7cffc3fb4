/**
 * The systemd units a master's agent installs for its day jobs, rendered from TS (no heredocs):
 * the etcd backup timer, the join-token timer and the node-role labeller's timer. Each runs the same agent
 * file with the same Node.js that runs the boot. PURE.
 */

export interface UnitFile {
  name: string;
  text: string;
}

export interface UnitInput {
  clusterId: string;
  bucket: string;
  backupIntervalMinutes: number;
  /** the command that runs the agent: [node binary, agent file] */
  agent: readonly string[];
}

/** A systemd ExecStart word, quoted when it holds anything but safe characters (systemd's own quoting). */
export function execWord(w: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(w)) return w;
  return `"${w.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/%/g, '%%').replace(/\$/g, '$$$$')}"`;
}

const exec = (agent: readonly string[], ...args: string[]): string => [...agent, ...args].map(execWord).join(' ');

function section(name: string, entries: Array<[string, string | number]>): string {
  return `[${name}]\n${entries.map(([k, v]) => `${k}=${v}`).join('\n')}\n`;
}

function unit(sections: Array<[string, Array<[string, string | number]>]>): string {
  return sections.map(([n, e]) => section(n, e)).join('\n');
}

const AFTER: Array<[string, string]> = [
  ['After', 'kubelet.service network-online.target'],
  ['Wants', 'network-online.target'],
];

export const UNIT_NAMES = {
  backupService: 'kubeaz-etcd-backup.service',
  backupTimer: 'kubeaz-etcd-backup.timer',
  tokenService: 'kubeaz-join-token.service',
  tokenTimer: 'kubeaz-join-token.timer',
  nodeRoles: 'kubeaz-node-roles.service',
  nodeRolesTimer: 'kubeaz-node-roles.timer',
} as const;

/** Set by the backup timer's unit: a master whose etcd member is not the leader skips the interval (the CLI's run never sets it). */
export const BACKUP_LEADER_ONLY_ENV = 'KUBEAZ_BACKUP_LEADER_ONLY';

/** Units to enable (and start) once installed: the three timers. */
export const ENABLED_UNITS = [UNIT_NAMES.backupTimer, UNIT_NAMES.tokenTimer, UNIT_NAMES.nodeRolesTimer] as const;

export function masterUnits(i: UnitInput): UnitFile[] {
  if (!Number.isInteger(i.backupIntervalMinutes) || i.backupIntervalMinutes < 1)
    throw new Error(`backup interval ${i.backupIntervalMinutes} is not a whole number of minutes`);
  return [
    {
      name: UNIT_NAMES.backupService,
      text: unit([
        ['Unit', [['Description', `kubeaz: etcd snapshot of ${i.clusterId} (from the etcd leader) to s3://${i.bucket}/etcd/`], ...AFTER]],
        // the timer runs on every master; only the one whose member leads takes the interval's snapshot
        [
          'Service',
          [
            ['Type', 'oneshot'],
            ['Environment', `${BACKUP_LEADER_ONLY_ENV}=1`],
            ['ExecStart', exec(i.agent, 'backup')],
          ],
        ],
      ]),
    },
    {
      name: UNIT_NAMES.backupTimer,
      text: unit([
        ['Unit', [['Description', `kubeaz: etcd snapshot every ${i.backupIntervalMinutes} minutes`]]],
        [
          'Timer',
          [
            ['OnActiveSec', `${i.backupIntervalMinutes}min`],
            ['OnUnitActiveSec', `${i.backupIntervalMinutes}min`],
            ['Persistent', 'true'],
          ],
        ],
        ['Install', [['WantedBy', 'timers.target']]],
      ]),
    },
    {
      name: UNIT_NAMES.tokenService,
      text: unit([
        ['Unit', [['Description', `kubeaz: fresh node join token of ${i.clusterId} in s3://${i.bucket}/join/`], ...AFTER]],
        [
          'Service',
          [
            ['Type', 'oneshot'],
            ['ExecStart', exec(i.agent, 'join-token')],
          ],
        ],
      ]),
    },
    {
      name: UNIT_NAMES.tokenTimer,
      text: unit([
        ['Unit', [['Description', 'kubeaz: renew the node join token every 12 hours (tokens live 48 hours)']]],
        [
          'Timer',
          [
            ['OnActiveSec', '12h'],
            ['OnUnitActiveSec', '12h'],
            ['Persistent', 'true'],
          ],
        ],
        ['Install', [['WantedBy', 'timers.target']]],
      ]),
    },
    {
      name: UNIT_NAMES.nodeRoles,
      text: unit([
        [
          'Unit',
          [
            ['Description', `kubeaz: node-role.kubernetes.io/<role> labels for the nodes of ${i.clusterId} (a kubelet may not set them)`],
            ...AFTER,
          ],
        ],
        [
          'Service',
          [
            ['Type', 'oneshot'],
            ['ExecStart', exec(i.agent, 'node-roles')],
          ],
        ],
      ]),
    },
    {
      name: UNIT_NAMES.nodeRolesTimer,
      text: unit([
        ['Unit', [['Description', 'kubeaz: label new nodes with their role every 30 seconds']]],
        [
          'Timer',
          [
            ['OnActiveSec', '10s'],
            ['OnUnitActiveSec', '30s'],
            ['AccuracySec', '5s'],
          ],
        ],
        ['Install', [['WantedBy', 'timers.target']]],
      ]),
    },
  ];
}
