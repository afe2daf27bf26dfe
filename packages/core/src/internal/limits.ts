/**
 * The SDK's attribute value length limit defaults to Infinity (OTel spec, common/README.md), so
 * instrumentation caps values that come from the network itself.
 */
export const MAX_ATTRIBUTE_LENGTH = 2048;

/** Cap a string attribute value taken from input. */
export function cap(value: string, max: number = MAX_ATTRIBUTE_LENGTH): string {
  return value.length > max ? value.slice(0, max) : value;
}
