/**
 * aws-sdk-client-mock's `mockClient`, remembered so that every mock a test file made is restored
 * when the file ends (test/helpers/restore-sdk-mocks.ts, a vitest setup file). A mock of a client
 * class stubs its prototype: without the restore, a file run after it in the same worker
 * (`npm run test:unit` runs the unit tier without isolation) would talk to the previous file's stub.
 */
import { mockClient } from 'aws-sdk-client-mock';

const made: { restore(): void }[] = [];

export const sdkMock = ((client: Parameters<typeof mockClient>[0]) => {
  const m = mockClient(client);
  made.push(m);
  return m;
}) as typeof mockClient;

/** Restores every mock made since the last call (the setup file calls it after each test file). */
export function restoreSdkMocks(): void {
  for (const m of made.splice(0)) m.restore();
}
