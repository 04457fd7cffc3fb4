/**
 * What the master installs besides the Kubernetes packages, pinned per Kubernetes minor in ONE
 * table (into the masters' agent settings by src/model/master-settings.ts, printed in docs/agent.md, checked by
 * `validate`). One row per minor, one entry per add-on: an add-on is its chart version and, where
 * kubeaz sets it, its image tag. More add-ons fit as more keys of a row.
 *
 * Helm is pinned per row too (helmFor, HELM_PINS: inside Helm's own Kubernetes support policy).
 *
 * Every pin was checked on 2026-12-06 against its upstream release index or tags (the newest
 * stored snapshot of each repository; where each was read is beside each pin), and is the newest
 * patch found there. The Kubernetes minors each add-on supports are ADDON_KUBERNETES_SUPPORT; every
 * row stays inside them (test/unit/versions.test.ts). The etcd tools are NOT pinned here: the
 * master derives them at boot from the etcd image kubeadm itself runs (`kubeadm config images list`).
 */

export interface AddonPin {
  /** Helm chart version */
  chart: string;
  /** image tag kubeaz sets over the chart's default, when it does */
  image?: string;
}

export interface MinorAddons {
  cilium: AddonPin;
  awsCloudControllerManager: AddonPin;
  awsEbsCsiDriver: AddonPin;
  /** cluster-autoscaler: its image minor must equal the Kubernetes minor */
  clusterAutoscaler: AddonPin;
  awsNodeTerminationHandler: AddonPin;
  /** amazon-eks-pod-identity-webhook (IRSA only): no chart, manifests rendered by irsa.sh; the image */
  podIdentityWebhook: { image: string };
}

/**
 * Helm, the newest patch of each Helm 3 minor kubeaz pins: the tags of github.com/helm/helm (newest
 * stored snapshot, e9b85e4, 2026-08-20; verified 2026-12-06), each with the Kubernetes client it is
 * built with (its go.mod's k8s.io/client-go). The master downloads the pin from get.helm.sh and
 * checks its published sha256 (get.helm.sh itself not queried here).
 *
 * Helm's version support policy (helm.sh/docs/topics/version_skew, "Helm Version Support Policy"):
 * a Helm 3 release is compatible with the Kubernetes minor of its client and the three before it
 * (n-3), e.g. 3.20.x: 1.35–1.32, 3.16.x: 1.31–1.28 — so 3.16.4, pinned before for every row, was
 * outside the policy for 1.32–1.35. No single Helm 3 minor covers 1.30–1.35: each row gets the
 * newest pin whose range holds its minor (helmFor; test/unit/versions.test.ts).
 */
const minorNumber = (minor: string): number => Number(minor.split('.')[1]);

export const HELM_PINS: ReadonlyArray<{ version: string; kubernetesClient: string; tag: string }> = [
  { version: '3.18.6', kubernetesClient: '1.33', tag: 'v3.18.6 (b76a950, 2025-08-19; client-go v0.33.3)' },
  { version: '3.19.5', kubernetesClient: '1.34', tag: 'v3.19.5 (4a19a5b, 2026-01-14; client-go v0.34.2)' },
  { version: '3.20.2', kubernetesClient: '1.35', tag: 'v3.20.2 (8fb76d6, 2026-04-09; client-go v0.35.1)' },
  { version: '3.21.4', kubernetesClient: '1.36', tag: 'v3.21.4 (813176c, 2026-08-13; client-go v0.36.2)' },
];

/** Helm's policy: a Helm 3 built with client 1.N supports Kubernetes 1.N back to 1.(N-3). */
export const helmSupports = (pin: { kubernetesClient: string }, minor: string): boolean =>
  minorNumber(minor) <= minorNumber(pin.kubernetesClient) && minorNumber(minor) >= minorNumber(pin.kubernetesClient) - 3;

/**
 * aws-cloud-controller-manager chart: 0.0.11, the newest entry of
 * https://kubernetes.github.io/cloud-provider-aws/index.yaml (gh-pages of kubernetes/cloud-provider-aws
 * @ a5a006cc, generated 2026-03-25; verified 2026-12-06). The images per row: the newest
 * v1.N.x tag of each release-1.N (tags of kubernetes/cloud-provider-aws @ 63ec440c).
 */
const CCM_CHART = '0.0.11';
/**
 * aws-ebs-csi-driver chart: 2.64.0 (driver v1.64.0), the newest entry of
 * https://kubernetes-sigs.github.io/aws-ebs-csi-driver/index.yaml (gh-pages @ 949fe0e6, generated
 * 2026-08-18; tag helm-chart-aws-ebs-csi-driver-2.64.0; verified 2026-12-06).
 */
const EBS_CSI_CHART = '2.64.0';
/**
 * cluster-autoscaler chart: 9.59.0, the newest entry of https://kubernetes.github.io/autoscaler/index.yaml
 * (gh-pages of kubernetes/autoscaler @ be36214b, generated 2026-07-26; tag cluster-autoscaler-chart-9.59.0;
 * verified 2026-12-06). 9.59.1, pinned before, is in neither. The images per row: the newest
 * cluster-autoscaler-1.N.x tag of each minor (tags of kubernetes/autoscaler @ 55c37cd5).
 */
const CA_CHART = '9.59.0';
/**
 * aws-node-termination-handler chart: 0.27.6 = handler v1.25.6, the newest release of
 * github.com/aws/aws-node-termination-handler (tag v1.25.6 @ 77ca841d, 2026-04-02, whose
 * config/helm/aws-node-termination-handler/Chart.yaml is version 0.27.6; its release pushes the chart
 * to oci://public.ecr.aws/aws-ec2/helm — scripts/push-helm-chart; verified 2026-12-06, the ECR
 * registry itself not queried). v2.0.0-alpha/beta are pre-releases.
 */
const NTH: AddonPin = { chart: '0.27.6' };

/**
 * amazon-eks-pod-identity-webhook v0.6.17 (c1be301, 2026-05-18, the newest tag of
 * github.com/aws/amazon-eks-pod-identity-webhook @ 3bf80a34; verified 2026-12-06). Its build
 * workflow (.github/workflows/build.yaml) pushes every master commit to ECR Public
 * (gallery.ecr.aws/eks/amazon-eks-pod-identity-webhook) tagged by its short commit; v0.6.17's commit
 * is on master (before: v0.6.9 = 3a28f52, aws/amazon-eks-pod-identity-webhook issue #273). It talks
 * to the API server's stable admission and core APIs only: one image for every minor.
 */
const POD_IDENTITY_WEBHOOK = { image: 'public.ecr.aws/eks/amazon-eks-pod-identity-webhook:c1be301' };

export const ADDON_VERSIONS_BY_MINOR: Readonly<Record<string, MinorAddons>> = {
  '1.30': {
    cilium: { chart: '1.18.12' },
    awsCloudControllerManager: { chart: CCM_CHART, image: 'v1.30.10' },
    awsEbsCsiDriver: { chart: EBS_CSI_CHART },
    clusterAutoscaler: { chart: CA_CHART, image: 'v1.30.7' },
    awsNodeTerminationHandler: NTH,
    podIdentityWebhook: POD_IDENTITY_WEBHOOK,
  },
  '1.31': {
    cilium: { chart: '1.18.12' },
    awsCloudControllerManager: { chart: CCM_CHART, image: 'v1.31.9' },
    awsEbsCsiDriver: { chart: EBS_CSI_CHART },
    clusterAutoscaler: { chart: CA_CHART, image: 'v1.31.5' },
    awsNodeTerminationHandler: NTH,
    podIdentityWebhook: POD_IDENTITY_WEBHOOK,
  },
  '1.32': {
    cilium: { chart: '1.19.6' },
    awsCloudControllerManager: { chart: CCM_CHART, image: 'v1.32.8' },
    awsEbsCsiDriver: { chart: EBS_CSI_CHART },
    clusterAutoscaler: { chart: CA_CHART, image: 'v1.32.7' },
    awsNodeTerminationHandler: NTH,
    podIdentityWebhook: POD_IDENTITY_WEBHOOK,
  },
  '1.33': {
    cilium: { chart: '1.19.6' },
    awsCloudControllerManager: { chart: CCM_CHART, image: 'v1.33.4' },
    awsEbsCsiDriver: { chart: EBS_CSI_CHART },
    clusterAutoscaler: { chart: CA_CHART, image: 'v1.33.6' },
    awsNodeTerminationHandler: NTH,
    podIdentityWebhook: POD_IDENTITY_WEBHOOK,
  },
  '1.34': {
    cilium: { chart: '1.19.6' },
    awsCloudControllerManager: { chart: CCM_CHART, image: 'v1.34.3' },
    awsEbsCsiDriver: { chart: EBS_CSI_CHART },
    clusterAutoscaler: { chart: CA_CHART, image: 'v1.34.5' },
    awsNodeTerminationHandler: NTH,
    podIdentityWebhook: POD_IDENTITY_WEBHOOK,
  },
  '1.35': {
    cilium: { chart: '1.19.6' },
    awsCloudControllerManager: { chart: CCM_CHART, image: 'v1.35.2' },
    awsEbsCsiDriver: { chart: EBS_CSI_CHART },
    clusterAutoscaler: { chart: CA_CHART, image: 'v1.35.2' },
    awsNodeTerminationHandler: NTH,
    podIdentityWebhook: POD_IDENTITY_WEBHOOK,
  },
};

/**
 * Cilium's e2e-tested Kubernetes minors per Cilium minor (docs.cilium.io, Kubernetes Compatibility;
 * read 2026-11, not re-read 2026-12-06). The chart pins, 1.18.12 and 1.19.6, are the newest patches
 * of their minors in https://helm.cilium.io/index.yaml (github.com/cilium/charts @ 009b5e95,
 * generated 2026-08-03; verified 2026-12-06).
 */
export const CILIUM_KUBERNETES_SUPPORT: Readonly<Record<string, readonly string[]>> = {
  '1.18': ['1.30', '1.31', '1.32', '1.33'],
  '1.19': ['1.32', '1.33', '1.34', '1.35'],
};

/** One add-on's statement of the Kubernetes minors it supports, and where it says so. */
export interface KubernetesSupport {
  basis: string;
  supports: (minor: string, pin: Partial<AddonPin>) => boolean;
}
const imageMinorIs = (minor: string, pin: Partial<AddonPin>): boolean =>
  pin.image?.replace(/^v/, '').split('.').slice(0, 2).join('.') === minor;
const atLeast =
  (oldest: string) =>
  (minor: string): boolean =>
    minorNumber(minor) >= minorNumber(oldest);

/** The Kubernetes minors each add-on supports (every row of ADDON_VERSIONS_BY_MINOR stays inside them). */
export const ADDON_KUBERNETES_SUPPORT: Readonly<Record<keyof MinorAddons, KubernetesSupport>> = {
  cilium: {
    basis: 'CILIUM_KUBERNETES_SUPPORT (docs.cilium.io, Kubernetes Compatibility)',
    supports: (minor, pin) => (CILIUM_KUBERNETES_SUPPORT[(pin.chart ?? '').split('.').slice(0, 2).join('.')] ?? []).includes(minor),
  },
  awsCloudControllerManager: {
    basis: 'cloud-provider-aws docs/README.md "Compatibility with Kubernetes": a release v1.N.x is compatible ONLY with Kubernetes 1.N',
    supports: imageMinorIs,
  },
  awsEbsCsiDriver: {
    basis:
      'aws-ebs-csi-driver README "Compatibility": every Kubernetes version the Kubernetes project or EKS supports; docs/install.md: Kubernetes >= 1.20',
    supports: atLeast('1.20'),
  },
  clusterAutoscaler: {
    basis: 'cluster-autoscaler/README.md "Releases": use the cluster-autoscaler of the control plane minor it was meant for',
    supports: imageMinorIs,
  },
  awsNodeTerminationHandler: {
    basis: 'chart 0.27.6 Chart.yaml kubeVersion ">= 1.16-0"',
    supports: atLeast('1.16'),
  },
  podIdentityWebhook: {
    basis: 'stable APIs only (admissionregistration.k8s.io/v1, GA in 1.16); no stated range',
    supports: atLeast('1.16'),
  },
};
export const minorOf = (version: string): string => version.split('.').slice(0, 2).join('.');
export const SUPPORTED_MINORS: readonly string[] = Object.keys(ADDON_VERSIONS_BY_MINOR).sort((a, b) => minorNumber(a) - minorNumber(b));

/**
 * The row for a Kubernetes version: its own minor's, else the nearest one (the newest row for a
 * newer minor, the oldest for an older one); `exact` says which. `validate` warns when not exact.
 */
export function addonsFor(kubernetesVersion: string): { minor: string; exact: boolean; addons: MinorAddons } {
  const minor = minorOf(kubernetesVersion);
  const own = ADDON_VERSIONS_BY_MINOR[minor];
  if (own) return { minor, exact: true, addons: own };
  const oldest = SUPPORTED_MINORS[0]!;
  const newest = SUPPORTED_MINORS[SUPPORTED_MINORS.length - 1]!;
  const near = minorNumber(minor) > minorNumber(newest) ? newest : oldest;
  return { minor: near, exact: false, addons: ADDON_VERSIONS_BY_MINOR[near]! };
}

/** The add-on versions as named variables (the table in docs/agent.md and its test). */
export function addonVars(kubernetesVersion: string): Record<string, string> {
  const { addons } = addonsFor(kubernetesVersion);
  return {
    HELM_VERSION: helmFor(kubernetesVersion),
    CILIUM_VERSION: addons.cilium.chart,
    AWS_CCM_CHART_VERSION: addons.awsCloudControllerManager.chart,
    AWS_CCM_IMAGE_TAG: addons.awsCloudControllerManager.image!,
    EBS_CSI_CHART_VERSION: addons.awsEbsCsiDriver.chart,
    CLUSTER_AUTOSCALER_CHART_VERSION: addons.clusterAutoscaler.chart,
    CLUSTER_AUTOSCALER_IMAGE_TAG: addons.clusterAutoscaler.image!,
    NTH_CHART_VERSION: addons.awsNodeTerminationHandler.chart,
  };
}

/** The pod-identity webhook's image for a Kubernetes version (IRSA on; not in addonVars: a cluster without IRSA has no webhook). */
export const podIdentityWebhookImage = (kubernetesVersion: string): string => addonsFor(kubernetesVersion).addons.podIdentityWebhook.image;

/** The Helm the master runs for a Kubernetes version: the newest pin whose supported range holds the row's minor. */
export function helmFor(kubernetesVersion: string): string {
  const { minor } = addonsFor(kubernetesVersion);
  const fits = HELM_PINS.filter((p) => helmSupports(p, minor));
  const pin = fits[fits.length - 1];
  if (!pin) throw new Error(`no pinned Helm supports Kubernetes ${minor} (HELM_PINS)`);
  return pin.version;
}

/** The warning `validate` (and every command loading a spec) gives for a minor outside the table. */
export function addonVersionWarning(kubernetesVersion: string): string | undefined {
  const { minor, exact } = addonsFor(kubernetesVersion);
  if (exact) return undefined;
  return (
    `kubernetesVersion ${kubernetesVersion}: kubeaz pins add-on versions for Kubernetes ${SUPPORTED_MINORS[0]}–${SUPPORTED_MINORS[SUPPORTED_MINORS.length - 1]} only; ` +
    `the master will install those of ${minor} (${describeRow(ADDON_VERSIONS_BY_MINOR[minor]!)}), which were not chosen for ${minorOf(kubernetesVersion)}`
  );
}

function describeRow(r: MinorAddons): string {
  return `Cilium ${r.cilium.chart}, AWS cloud-controller-manager ${r.awsCloudControllerManager.image} (chart ${r.awsCloudControllerManager.chart}), EBS CSI chart ${r.awsEbsCsiDriver.chart}, cluster-autoscaler ${r.clusterAutoscaler.image} (chart ${r.clusterAutoscaler.chart}), node termination handler chart ${r.awsNodeTerminationHandler.chart}`;
}

/** The table as docs/agent.md prints it (a unit test keeps the doc equal to it). */
export function versionTableMarkdown(): string {
  const rows = SUPPORTED_MINORS.map((m) => {
    const r = ADDON_VERSIONS_BY_MINOR[m]!;
    return `| ${m} | ${helmFor(m)} | ${r.cilium.chart} | ${r.awsCloudControllerManager.image} (chart ${r.awsCloudControllerManager.chart}) | ${r.awsEbsCsiDriver.chart} | ${r.clusterAutoscaler.image} (chart ${r.clusterAutoscaler.chart}) | ${r.awsNodeTerminationHandler.chart} |`;
  });
  return [
    '| Kubernetes | Helm | Cilium | AWS cloud-controller-manager | EBS CSI driver chart | cluster-autoscaler | Node Termination Handler chart |',
    '|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/**
 * The Node.js the node agent runs on (dist/agent/kubeaz-agent.mjs targets Node 20 and runs on this):
 * installed by user data from the AMI's own AL2023 repository (`dnf install -y nodejs22`), run as
 * `node-22` (AL2023 namespaces every Node.js major: node-{MAJOR}; `node` itself is an alternatives
 * link that may point elsewhere — docs.aws.amazon.com/linux/al2023/ug/nodejs.html).
 *
 * firstAl2023Release: the oldest AL2023 release kubeaz accepts as `spec.ami` (pre-flight refuses an
 * older one: its locked repository has no nodejs22, and the instance could never run the agent).
 * Sources: amazonlinux/amazon-linux-2023 issue #898 (opened 2025-01-30) asks for the missing
 * `nodejs22`, closed 2025-02-03 as a duplicate of #725 "where we can track nodejs22 / 24" — so no
 * release up to 2023.6.20250203 carries it; AL2023's Node.js page lists 22 among its namespaced
 * versions later. The exact 2023.6 point release that first carried it (one of 2023.6.20250211 …
 * 2023.6.20250317) was not pinned from the sources at hand, so the threshold is the first release of
 * the next quarterly minor, 2023.7.20250331 (docs: release-notes/relnotes-2023.7): conservative — it
 * may refuse a late 2023.6 image that would have worked, never accept one that cannot.
 */
export const NODEJS = { major: 22, package: 'nodejs22', binary: 'node-22', firstAl2023Release: '2023.7.20250331' } as const;

/** An AL2023 image name's release (al2023-ami-2023.7.20250331.0-kernel-6.1-x86_64 → 2023.7.20250331), or undefined for another name. */
export function al2023ReleaseOf(imageName: string): string | undefined {
  return /^al2023-ami-(?:minimal-)?(\d{4}\.\d+\.\d{8})(?:\.\d+)?-/.exec(imageName)?.[1];
}

/** Whether AL2023 release `a` is older than `b` (year.minor.date, compared as numbers). */
export function al2023ReleaseBefore(a: string, b: string): boolean {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if (pa[i]! !== pb[i]!) return pa[i]! < pb[i]!;
  return false;
}

/**
 * The AWS encryption provider (kubernetes-sigs/aws-encryption-provider), run beside each API server
 * when spec.encryption.provider is kms. The configuration speaks KMS v2 (`apiVersion: v2`; KMS v1
 * is off by default since Kubernetes 1.29). Verified 2026-12-06 against the newest stored snapshot
 * of the repository (6d4f71e, 2026-06-16; it holds no tags): the KMS v2 server is on master since
 * 270ce5d (2023-10-05, pkg/plugin/plugin_v2.go), while the 0.x release branch was cut WITHOUT it
 * (kubernetes-sigs/aws-encryption-provider PR #103, 2024-01-05, "release encryption provider
 * exclude KMS v2") — so v0.3.0, pinned before, may not answer KMS v2 at all. Releases since follow
 * Kubernetes' numbering from master: v1.31.0 (PR #119), v1.32.0 (PR #127), v1.33.0 (PR #134,
 * merged 2025-04-29, k8s.io/kms v0.33.0): v1.33.0 is the newest release found. NOT verified: the
 * registry's tag list (registry.k8s.io was not queried; the image path is the one used before).
 */
export const AWS_ENCRYPTION_PROVIDER_IMAGE = 'registry.k8s.io/kms/aws-encryption-provider:v1.33.0';
