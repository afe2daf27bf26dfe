/** Version of @tracewire/cli; init adds the @tracewire packages at this version (they are released together). */
export const VERSION = '0.1.0';
