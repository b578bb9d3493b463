/** JSON text of a result: JSON has no NaN or Infinity, so they are written as null rather than lost. */
export function jsonText(value: unknown, indent?: number): string {
  return JSON.stringify(
    value,
    (_key, v) => (typeof v === "number" && !Number.isFinite(v) ? null : v),
    indent,
  );
}
