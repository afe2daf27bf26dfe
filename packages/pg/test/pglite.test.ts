import { afterAll } from 'vitest';
import { startPglite } from './backends.js';
import { describePgSuite } from './suite.js';

const backend = await startPglite();
afterAll(() => backend.close());

describePgSuite(() => backend, 'PGlite over the wire protocol');
