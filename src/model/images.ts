/**
 * Which image a group runs, and the word on a newer one. PURE: what the launch templates record
 * (read by observe) and what the public Amazon Linux 2023 parameter names (read once per run) come
 * in as data.
 *
 * The image a group runs is recorded on its launch template (the `kubeaz:image` tag, written with
 * every version: `<image id>@<architecture>`) and stays until the user asks — kops keeps the image
 * in its cluster spec and moves it on `kops upgrade`, eksctl resolves it at creation. So a new
 * public image changes no launch template by itself: `plan` and `status` say that it is available,
 * and `create --update-images` (or a spec `ami`) moves every group to it. A group with no record
 * (a new group, a new cluster, or a record of another architecture) gets the current image.
 */
import type { Arch } from '../spec/instance-types.js';

/** The launch template tag that records the image its current version runs. */
export const IMAGE_TAG = 'kubeaz:image';

/** The image a launch template's current version runs, as recorded. */
export interface ImageRecord {
  imageId: string;
  arch: Arch;
}

/** The tag value: `<image id>@<architecture>`. */
export const imageRecordValue = (r: ImageRecord): string => `${r.imageId}@${r.arch}`;

/** Parses `<image id>@<architecture>`; undefined for anything else. */
export function parseImageRecord(v: string | undefined): ImageRecord | undefined {
  const m = /^(ami-[0-9a-zA-Z]+)@(x86_64|arm64)$/.exec(v ?? '');
  return m ? { imageId: m[1]!, arch: m[2] as Arch } : undefined;
}

/** What decides one group's image. */
export interface ImageInput {
  /** spec.ami: every group runs it */
  ami?: string | undefined;
  /** the group's architecture (its instance type's) */
  arch: Arch;
  /** what the public AL2023 parameter names for that architecture (unread when spec.ami is set) */
  available?: string | undefined;
  /** what the group's launch template records (undefined: a new group, or no record) */
  recorded?: ImageRecord | undefined;
  /** create/plan --update-images: move to the available image */
  updateImages?: boolean | undefined;
}

export type ImageSource = 'spec' | 'recorded' | 'available';

/** A group's image and where it comes from: spec.ami, else the recorded one (same architecture, not --update-images), else the available one. */
export function groupImage(i: ImageInput): { imageId: string; source: ImageSource } {
  if (i.ami) return { imageId: i.ami, source: 'spec' };
  if (i.recorded && i.recorded.arch === i.arch && !i.updateImages) return { imageId: i.recorded.imageId, source: 'recorded' };
  if (!i.available) throw new Error(`no image resolved for ${i.arch}`);
  return { imageId: i.available, source: 'available' };
}

/** One newer image the public parameter names, and the groups that keep another. */
export interface ImageUpdate {
  arch: Arch;
  /** the image the groups run (recorded) */
  current: string;
  /** the image the public parameter names */
  available: string;
  groups: string[];
  /** the line plan, create and status print */
  text: string;
}

/**
 * The groups whose recorded image stays although the public parameter names another (whatever its
 * date), one entry per (architecture, recorded image); empty when every group runs the available
 * image, spec.ami is set, or --update-images moves them.
 */
export function imageUpdatesOf(groups: ReadonlyArray<{ group: string } & ImageInput>): ImageUpdate[] {
  const byImage = new Map<string, Omit<ImageUpdate, 'text'>>();
  for (const g of groups) {
    const kept = !g.ami && !g.updateImages && g.recorded?.arch === g.arch ? g.recorded : undefined;
    if (!kept || !g.available || kept.imageId === g.available) continue;
    const id = `${g.arch} ${kept.imageId}`;
    const entry = byImage.get(id) ?? { arch: g.arch, current: kept.imageId, available: g.available, groups: [] };
    entry.groups.push(g.group);
    byImage.set(id, entry);
  }
  return [...byImage.values()]
    .sort((a, b) => (`${a.arch} ${a.current}` < `${b.arch} ${b.current}` ? -1 : 1))
    .map((u) => ({ ...u, text: imageUpdateText(u) }));
}

export function imageUpdateText(u: Omit<ImageUpdate, 'text'>): string {
  const which = u.groups.length === 1 ? `group ${u.groups[0]} runs` : `groups ${u.groups.join(', ')} run`;
  return (
    `a newer Amazon Linux 2023 image is available: ${u.available} (${u.arch}; ${which} ${u.current}, kept until asked: ` +
    `kubeaz create --update-images moves them to it, then kubeaz rollout replaces the instances)`
  );
}
