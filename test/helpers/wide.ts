import type { Kind } from '../../src/model/types.js';
import type { ResourceHandler } from '../../src/resources/types.js';

/**
 * A kind's handler as the engine holds it (the registry's view, `resources/index.ts` handlerFor):
 * plain Actuals in and out. Tests that feed a handler hand-made or foreign Actuals use this view.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const wide = <K extends Kind>(h: ResourceHandler<K, any>): ResourceHandler<K> => h as ResourceHandler<K>;
