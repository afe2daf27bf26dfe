// packages/nest's shared suites against this workspace's own Nest 10 (see ../nest-matrix.vitest.ts).
export { default } from '../nest-matrix.vitest.ts';
