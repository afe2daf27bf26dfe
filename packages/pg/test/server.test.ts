import { describe, it } from 'vitest';
import { probeServer } from './backends.js';
import { describePgSuite } from './suite.js';

const backend = await probeServer();

if (backend === undefined) {
  describe('@tracewire/pg against the PostgreSQL server', () => {
    it.skip('skipped: no PostgreSQL server answered on 127.0.0.1:5432 (users postgres/root, database test)', () => {});
  });
} else {
  describePgSuite(() => backend, `the PostgreSQL server (${backend.connection.user}@127.0.0.1:5432)`);
}
