/**
 * What the launch templates name: the AMIs exist and none is an AL2023 release older than the first
 * whose repository carries the agent's Node.js (NODEJS in spec/versions.ts); the key pair exists.
 */
import { DescribeImagesCommand, DescribeKeyPairsCommand } from '@aws-sdk/client-ec2';
import { al2023ReleaseBefore, al2023ReleaseOf, NODEJS } from '../spec/versions.js';
import type { PreflightCheck } from './types.js';

/**
 * Why an image cannot run the node agent, or undefined: an AL2023 release (by its name) older than
 * the first whose locked repository carries NODEJS.package. An image whose name is not an AL2023
 * release name (one built by the user) is not judged here.
 */
export function nodejsImageProblem(imageId: string, name: string): string | undefined {
  const release = al2023ReleaseOf(name);
  if (!release || !al2023ReleaseBefore(release, NODEJS.firstAl2023Release)) return undefined;
  return (
    `the image ${imageId} (${name}) is AL2023 ${release}, older than ${NODEJS.firstAl2023Release}, the first release whose repository kubeaz knows to carry ` +
    `${NODEJS.package}: its instances could not install Node.js ${NODEJS.major} to run the kubeaz agent. Use a newer image (or leave spec.ami unset for the latest AL2023)`
  );
}

/** Images of the launch templates this run makes or changes. */
export const images: PreflightCheck<{ images: string[]; region: string }> = {
  name: 'ami',
  calls: ['ec2:DescribeImages'],
  input({ graph, touched, spec }) {
    const ids = [...new Set(graph.nodes.flatMap((n) => (n.kind === 'launch-template' && touched.has(n.key) ? [n.props.imageId] : [])))];
    return ids.length ? { images: ids, region: spec.spec.region } : undefined;
  },
  async run(ctx, { images, region }, _shared, report) {
    const ec2 = await ctx.aws.ec2();
    // A filter, not ImageIds: one unknown id would fail the whole call.
    const out = await ec2.send(new DescribeImagesCommand({ Filters: [{ Name: 'image-id', Values: images }] }));
    const found = new Set((out.Images ?? []).map((i) => i.ImageId));
    for (const id of images) if (!found.has(id)) report(`the image ${id} does not exist in ${region} or is not visible to this account`);
    for (const i of out.Images ?? []) {
      const problem = i.ImageId && images.includes(i.ImageId) ? nodejsImageProblem(i.ImageId, i.Name ?? '') : undefined;
      if (problem) report(problem);
    }
  },
};

/** The key pair the instances are given, when the spec names one. */
export const keyPair: PreflightCheck<{ name: string; region: string }> = {
  name: 'key-pair',
  calls: ['ec2:DescribeKeyPairs'],
  input: ({ spec }) => (spec.spec.sshKeyName ? { name: spec.spec.sshKeyName, region: spec.spec.region } : undefined),
  async run(ctx, { name, region }, _shared, report) {
    const out = await (await ctx.aws.ec2()).send(new DescribeKeyPairsCommand({ Filters: [{ Name: 'key-name', Values: [name] }] }));
    if (!out.KeyPairs?.length) report(`the key pair ${name} does not exist in ${region}`);
  },
};
