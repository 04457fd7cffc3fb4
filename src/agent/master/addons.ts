/**
 * The cluster's add-ons as typed program invocations (helm / kubectl with the admin kubeconfig),
 * in master.sh's order and with its values: Cilium (VXLAN), the pod-identity webhook (IRSA on),
 * the AWS cloud-controller-manager, the EBS CSI driver, the default StorageClass, cluster-autoscaler
 * and the Node Termination Handler. PURE: the runner (master/addon-runner.ts) executes each step,
 * retried, on one master at a time (etcd/control-plane/addons.json says which; decide/addons.ts). Manifests (StorageClass, webhook) are rendered at `create` by the model and
 * fetched from the bucket; here they are only applied.
 *
 * The instance metadata hop limit stays 1: what needs the master's instance credentials runs with
 * host networking on the master; with IRSA on, the EBS CSI controller, cluster-autoscaler and the
 * node termination handler (queue-processor mode) get their own roles and leave the host network.
 */

export interface Invocation {
  cmd: string;
  args: string[];
  /** written to the program's standard input */
  input?: string;
}

export interface AddonStep {
  name: string;
  /** run in order; the step fails as a whole when one fails (retried as a whole) */
  run: Invocation[];
  /** the helm release the step upgrades: before each try the runner recovers it from a `pending-*` state (decide/helm.ts) */
  release?: HelmRelease;
}

export interface HelmRelease {
  name: string;
  namespace: string;
  kubeconfig: string;
}

// helm's JSON answers about a release and the two ways out of a pending one (decide/helm.ts decides)
const helmOn = (r: HelmRelease, ...args: string[]): Invocation => ({
  cmd: 'helm',
  args: ['--kubeconfig', r.kubeconfig, ...args, '--namespace', r.namespace],
});
export const helmStatus = (r: HelmRelease): Invocation => helmOn(r, 'status', r.name, '-o', 'json');
export const helmHistory = (r: HelmRelease): Invocation => helmOn(r, 'history', r.name, '-o', 'json');
export const helmRollback = (r: HelmRelease, revision: number): Invocation => helmOn(r, 'rollback', r.name, String(revision));
export const helmUninstall = (r: HelmRelease): Invocation => helmOn(r, 'uninstall', r.name);

export interface AddonVersions {
  cilium: string;
  awsCcmChart: string;
  awsCcmImage: string;
  ebsCsiChart: string;
  clusterAutoscalerChart: string;
  clusterAutoscalerImage: string;
  nthChart: string;
}

export interface AddonInput {
  clusterId: string;
  region: string;
  masterDns: string;
  adminKubeconfig: string;
  versions: AddonVersions;
  /** the node termination handler in queue-processor mode (MasterSettings.nth): the drain queue, and its role with IRSA on */
  nth?: { queueUrl: string; roleArn?: string };
  /** the StorageClass manifest, as fetched from the bucket */
  storageClassFile: string;
  /** IRSA on: the webhook's manifests (with the caBundle set) and secret files, and the add-ons' roles */
  irsa?: {
    webhookManifestFile: string;
    webhookSecretFile: string;
    ebsCsiRoleArn: string;
    clusterAutoscalerRoleArn: string;
  };
}

export const WEBHOOK_NAME = 'pod-identity-webhook';

const CP_SELECTOR = JSON.stringify({ 'node-role.kubernetes.io/control-plane': '' });
const CP_TOLERATIONS = JSON.stringify([
  { key: 'node-role.kubernetes.io/control-plane', operator: 'Exists', effect: 'NoSchedule' },
  { key: 'CriticalAddonsOnly', operator: 'Exists' },
]);
const NOT_ON_CP = JSON.stringify({
  nodeAffinity: {
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: [{ matchExpressions: [{ key: 'node-role.kubernetes.io/control-plane', operator: 'DoesNotExist' }] }],
    },
  },
});

/** How each step runs its programs: helm and kubectl on the admin kubeconfig, a release in kube-system. */
interface Tools {
  helm: (...args: string[]) => Invocation;
  kubectl: (...args: string[]) => Invocation;
  release: (name: string) => HelmRelease;
}

function cilium(i: AddonInput, { helm, release }: Tools): AddonStep {
  const v = i.versions;
  return {
    name: 'cilium',
    release: release('cilium'),
    run: [
      helm(
        'upgrade',
        '--install',
        'cilium',
        'cilium',
        '--repo',
        'https://helm.cilium.io',
        '--version',
        v.cilium,
        '--namespace',
        'kube-system',
        '--set',
        'routingMode=tunnel',
        '--set',
        'tunnelProtocol=vxlan',
        '--set',
        'ipam.mode=kubernetes',
        '--set',
        `k8sServiceHost=${i.masterDns}`,
        '--set',
        'k8sServicePort=443',
        '--set',
        'operator.replicas=1',
      ),
    ],
  };
}

function podIdentityWebhook(irsa: NonNullable<AddonInput['irsa']>, { kubectl }: Tools): AddonStep {
  return {
    name: WEBHOOK_NAME,
    run: [
      kubectl('apply', '-f', irsa.webhookSecretFile),
      kubectl('apply', '-f', irsa.webhookManifestFile),
      kubectl('-n', 'kube-system', 'rollout', 'status', `deployment/${WEBHOOK_NAME}`, '--timeout=300s'),
    ],
  };
}

function cloudControllerManager(i: AddonInput, { helm, release }: Tools): AddonStep {
  const v = i.versions;
  return {
    name: 'aws-cloud-controller-manager',
    release: release('aws-cloud-controller-manager'),
    run: [
      helm(
        'upgrade',
        '--install',
        'aws-cloud-controller-manager',
        'aws-cloud-controller-manager',
        '--repo',
        'https://kubernetes.github.io/cloud-provider-aws',
        '--version',
        v.awsCcmChart,
        '--namespace',
        'kube-system',
        '--set',
        'hostNetworking=true',
        '--set',
        `image.tag=${v.awsCcmImage}`,
        '--set-json',
        `args=${JSON.stringify(['--v=2', '--cloud-provider=aws', '--configure-cloud-routes=false', `--cluster-name=${i.clusterId}`])}`,
        '--set-json',
        `nodeSelector=${CP_SELECTOR}`,
      ),
    ],
  };
}

function ebsCsiDriver(i: AddonInput, { helm, kubectl, release }: Tools): AddonStep {
  const v = i.versions;
  const ebsCommon = [
    'upgrade',
    '--install',
    'aws-ebs-csi-driver',
    'aws-ebs-csi-driver',
    '--repo',
    'https://kubernetes-sigs.github.io/aws-ebs-csi-driver',
    '--version',
    v.ebsCsiChart,
    '--namespace',
    'kube-system',
    '--set',
    `controller.region=${i.region}`,
    '--set',
    'controller.replicaCount=1',
  ];
  const ebsPlacement = [
    '--set-json',
    `controller.nodeSelector=${CP_SELECTOR}`,
    '--set-json',
    `controller.tolerations=${CP_TOLERATIONS}`,
    '--set',
    'node.hostNetwork=true',
    '--set-json',
    `node.affinity=${NOT_ON_CP}`,
  ];
  return {
    name: 'aws-ebs-csi-driver',
    release: release('aws-ebs-csi-driver'),
    run: i.irsa
      ? [
          helm(
            ...ebsCommon,
            '--set',
            'controller.serviceAccount.name=ebs-csi-controller-sa',
            '--set-string',
            `controller.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=${i.irsa.ebsCsiRoleArn}`,
            ...ebsPlacement,
          ),
          // its own role through the webhook: off the host network (an earlier hostNetwork patch undone)
          kubectl(
            '-n',
            'kube-system',
            'patch',
            'deployment',
            'ebs-csi-controller',
            '--type',
            'merge',
            '-p',
            JSON.stringify({ spec: { template: { spec: { hostNetwork: false, dnsPolicy: 'ClusterFirst' } } } }),
          ),
        ]
      : [
          helm(...ebsCommon, ...ebsPlacement),
          // the controller needs the master's instance credentials from IMDS (hop limit 1): host network
          kubectl(
            '-n',
            'kube-system',
            'patch',
            'deployment',
            'ebs-csi-controller',
            '--type',
            'merge',
            '-p',
            JSON.stringify({ spec: { template: { spec: { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' } } } }),
          ),
        ],
  };
}

function clusterAutoscaler(i: AddonInput, { helm, release }: Tools): AddonStep {
  const v = i.versions;
  const caCommon = [
    'upgrade',
    '--install',
    'cluster-autoscaler',
    'cluster-autoscaler',
    '--repo',
    'https://kubernetes.github.io/autoscaler',
    '--version',
    v.clusterAutoscalerChart,
    '--namespace',
    'kube-system',
    '--set',
    'cloudProvider=aws',
    '--set',
    `awsRegion=${i.region}`,
    '--set',
    `image.tag=${v.clusterAutoscalerImage}`,
    '--set',
    'replicaCount=1',
    '--set',
    `autoDiscovery.clusterName=${i.clusterId}`,
    '--set-json',
    `autoDiscovery.tags=${JSON.stringify(['k8s.io/cluster-autoscaler/enabled', `k8s.io/cluster-autoscaler/${i.clusterId}`])}`,
    '--set-json',
    `extraArgs=${JSON.stringify({ 'balance-similar-node-groups': true })}`,
  ];
  const caPlacement = ['--set-json', `nodeSelector=${CP_SELECTOR}`, '--set-json', `tolerations=${CP_TOLERATIONS}`];
  return {
    name: 'cluster-autoscaler',
    release: release('cluster-autoscaler'),
    run: [
      i.irsa
        ? helm(
            ...caCommon,
            '--set',
            'rbac.serviceAccount.create=true',
            '--set',
            'rbac.serviceAccount.name=cluster-autoscaler',
            '--set-string',
            `rbac.serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=${i.irsa.clusterAutoscalerRoleArn}`,
            '--set',
            'hostNetwork=false',
            '--set',
            'dnsPolicy=ClusterFirst',
            ...caPlacement,
          )
        : helm(...caCommon, '--set', 'hostNetwork=true', '--set', 'dnsPolicy=ClusterFirstWithHostNet', ...caPlacement),
    ],
  };
}

/**
 * The AWS Node Termination Handler. With a drain queue (node groups): queue-processor mode, the
 * set-up kops runs (`enableSQSTerminationDraining`): one replica of a Deployment on the control
 * plane that reads the queue, cordons and drains the node an event names and completes the
 * termination lifecycle action. Value names: the chart's values.yaml of
 * aws/aws-node-termination-handler config/helm/aws-node-termination-handler @ v1.25.6 (77ca841d,
 * chart 0.27.6: enableSqsTerminationDraining, queueURL, awsRegion, replicas, checkTagBeforeDraining,
 * managedTag, nodeSelector, tolerations, strategy, serviceAccount.*). It acts only on instances that carry
 * this cluster's `kubernetes.io/cluster/<id>` tag (every instance of the cluster does: an event of
 * another cluster's instance is dropped). The chart's Deployment has no host-network value
 * (`useHostNetwork` is the DaemonSet's): without IRSA it needs the master's instance role from IMDS
 * (hop limit 1), so it is patched onto the host network as kops renders it; with IRSA it gets its own
 * role through the webhook and leaves it. Without node groups (no queue): IMDS mode, a DaemonSet.
 */
function nodeTerminationHandler(i: AddonInput, { helm, kubectl, release }: Tools): AddonStep {
  const common = [
    'upgrade',
    '--install',
    'aws-node-termination-handler',
    'oci://public.ecr.aws/aws-ec2/helm/aws-node-termination-handler',
    '--version',
    i.versions.nthChart,
    '--namespace',
    'kube-system',
  ];
  const step = { name: 'aws-node-termination-handler', release: release('aws-node-termination-handler') };
  if (!i.nth)
    return {
      ...step,
      run: [
        helm(
          ...common,
          '--set',
          'enableSqsTerminationDraining=false',
          '--set',
          'useHostNetwork=true',
          '--set',
          'enableSpotInterruptionDraining=true',
          '--set',
          'enableRebalanceMonitoring=true',
          '--set',
          'enableRebalanceDraining=true',
          '--set',
          'enableScheduledEventDraining=true',
        ),
      ],
    };
  const queue = [
    '--set',
    'enableSqsTerminationDraining=true',
    '--set-string',
    `queueURL=${i.nth.queueUrl}`,
    '--set-string',
    `awsRegion=${i.region}`,
    '--set',
    'replicas=1',
    '--set',
    'checkTagBeforeDraining=true',
    '--set-string',
    `managedTag=kubernetes.io/cluster/${i.clusterId}`,
    '--set-json',
    `nodeSelector=${CP_SELECTOR}`,
    '--set-json',
    `tolerations=${CP_TOLERATIONS}`,
    // one replica on the host network holds its probe port (8080) on its master: the old pod goes
    // before the new one comes, or a single master's rollout of it would wait for ever
    '--set-json',
    `strategy=${JSON.stringify({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } })}`,
  ];
  const own = i.nth.roleArn
    ? [
        '--set',
        'serviceAccount.name=aws-node-termination-handler',
        '--set-string',
        `serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=${i.nth.roleArn}`,
      ]
    : [];
  const network = i.nth.roleArn
    ? { hostNetwork: false, dnsPolicy: 'ClusterFirst' }
    : { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' };
  return {
    ...step,
    run: [
      helm(...common, ...queue, ...own),
      kubectl(
        '-n',
        'kube-system',
        'patch',
        'deployment',
        'aws-node-termination-handler',
        '--type',
        'merge',
        '-p',
        JSON.stringify({ spec: { template: { spec: network } } }),
      ),
    ],
  };
}

export function addonSteps(i: AddonInput): AddonStep[] {
  const t: Tools = {
    helm: (...args) => ({ cmd: 'helm', args: ['--kubeconfig', i.adminKubeconfig, ...args] }),
    kubectl: (...args) => ({ cmd: 'kubectl', args: ['--kubeconfig', i.adminKubeconfig, ...args] }),
    release: (name) => ({ name, namespace: 'kube-system', kubeconfig: i.adminKubeconfig }),
  };
  return [
    cilium(i, t),
    // before the add-ons that use it: a pod made while the webhook is not there gets no role
    ...(i.irsa ? [podIdentityWebhook(i.irsa, t)] : []),
    cloudControllerManager(i, t),
    ebsCsiDriver(i, t),
    { name: 'storage-class', run: [t.kubectl('apply', '-f', i.storageClassFile)] },
    clusterAutoscaler(i, t),
    nodeTerminationHandler(i, t),
  ];
}
