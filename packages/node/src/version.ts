/** The version of @tracewire/node (kept in step with package.json by the release script). */
export const VERSION: string = '0.1.0';
