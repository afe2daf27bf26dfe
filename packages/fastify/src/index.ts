export { SCOPE_NAME, VERSION } from './version.js';
