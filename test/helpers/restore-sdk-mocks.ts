/** vitest setup file: every SDK client mock a test file made (test/helpers/sdk-mock.ts) is restored after it. */
import { afterAll } from 'vitest';
import { restoreSdkMocks } from './sdk-mock.js';

afterAll(() => restoreSdkMocks());
