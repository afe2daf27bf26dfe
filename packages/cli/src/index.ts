// Public API of @tracewire/cli. An explicit list: nothing under ./internal is exported.
export { main, USAGE } from './command.js';
export { runDoctorCommand } from './doctor.js';
export type { InitOptions, InitResult } from './init.js';
export { EXIT, MANIFEST, runInit } from './init.js';
export type { ManualStep } from './internal/plan.js';
export { VERSION } from './version.js';
