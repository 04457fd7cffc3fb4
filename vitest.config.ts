import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    // 2-core machines: moto servers and kubeaz runs share them.
    maxWorkers: 2,
    // every SDK client mock a test file made is restored after it (test/helpers/sdk-mock.ts)
    setupFiles: ['test/helpers/restore-sdk-mocks.ts'],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    // the SDK's notice that its 2027 releases need Node 22 (bin/kubeaz silences it the same way)
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  },
});
