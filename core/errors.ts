/**
 * trompe's one error class. Every failure a user can cause carries a stable code, the file or argument at
 * fault, and a hint saying what to do, so a command can print one clear line and batch jobs can record it.
 */
export type ErrorCode =
  | "bad-argument"
  | "not-found"
  | "corrupt"
  | "truncated"
  | "unsupported"
  | "shape-mismatch"
  | "forbidden"
  | "no-adapter"
  | "adapter-limits"
  | "gpu"
  | "io"
  | "non-finite"
  | "too-large"
  | "empty";

/**
 * The error every trompe failure a user can cause is thrown as: `code`, the `subject` at fault and a `hint`.
 */
export class TrompeError extends Error {
  readonly code: ErrorCode;
  /** The file or argument at fault, when there is one. */
  readonly subject?: string;
  readonly hint?: string;

  constructor(
    code: ErrorCode,
    message: string,
    options: { subject?: string; hint?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "TrompeError";
    this.code = code;
    this.subject = options.subject;
    this.hint = options.hint;
  }

  /** One line for a terminal: `code: subject: message (hint)`. */
  oneLine(): string {
    const where = this.subject ? `${this.subject}: ` : "";
    const hint = this.hint ? ` (${this.hint})` : "";
    return `${this.code}: ${where}${this.message}${hint}`;
  }
}

/** Wraps any thrown value as a TrompeError about `subject`, keeping TrompeErrors as they are. */
export function asTrompeError(error: unknown, subject: string, code: ErrorCode = "io"): TrompeError {
  if (error instanceof TrompeError) return error;
  // Deno's NotFound, matched by name so this module loads where there is no Deno namespace (a browser).
  if (error instanceof Error && error.name === "NotFound") {
    return new TrompeError("not-found", "file not found", { subject, cause: error });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new TrompeError(code, message, { subject, cause: error });
}

/** Words for whatever a library threw: wasm codecs throw bare numbers and plain objects as well as Errors. */
export function thrownText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === "string") return error;
  if (typeof error === "number") return `the decoder aborted (code ${error})`;
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
