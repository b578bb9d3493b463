/**
 * Progress for long runs: a redrawn bar with rate and ETA on a TTY, plain periodic lines otherwise (logs,
 * CI), and a summary line at the end.
 */
export interface ProgressOptions {
  /** Seconds between plain lines when stderr is not a terminal. */
  interval?: number;
  unit?: string;
  /** Where lines go (tests capture it); defaults to stderr. */
  write?: (text: string) => void;
  tty?: boolean;
}

function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

export class Progress {
  private done = 0;
  private failed = 0;
  private readonly start = performance.now();
  private lastPrint = 0;
  private readonly tty: boolean;
  private readonly write: (text: string) => void;
  private readonly interval: number;
  private readonly unit: string;
  /** A short note shown in the line after the ETA, e.g. the current loss. */
  status = "";

  constructor(readonly label: string, readonly total: number, options: ProgressOptions = {}) {
    const encoder = new TextEncoder();
    this.write = options.write ?? ((text) => Deno.stderr.writeSync(encoder.encode(text)));
    this.tty = options.tty ?? Deno.stderr.isTerminal();
    this.interval = (options.interval ?? 10) * 1000;
    this.unit = options.unit ?? "items";
  }

  get completed(): number {
    return this.done;
  }

  get failures(): number {
    return this.failed;
  }

  /** Counts finished items (failed ones too, which the summary reports). */
  tick(count = 1, failed = false): void {
    this.done += count;
    if (failed) this.failed += count;
    const now = performance.now();
    if (this.tty) {
      if (now - this.lastPrint > 100 || this.done === this.total) {
        this.lastPrint = now;
        this.write(`\r${this.line(now)}\x1b[K`);
      }
    } else if (now - this.lastPrint >= this.interval) {
      this.lastPrint = now;
      this.write(`${this.line(now)}\n`);
    }
  }

  private line(now: number): string {
    const elapsed = (now - this.start) / 1000;
    const rate = this.done / Math.max(elapsed, 1e-9);
    const eta = (this.total - this.done) / rate;
    const fraction = this.total > 0 ? this.done / this.total : 1;
    const width = 24;
    const filled = Math.round(fraction * width);
    const bar = this.tty ? `[${"#".repeat(filled)}${"-".repeat(width - filled)}] ` : "";
    const failed = this.failed > 0 ? `, ${this.failed} failed` : "";
    const status = this.status ? `, ${this.status}` : "";
    return `${this.label} ${bar}${this.done}/${this.total} ${this.unit} ` +
      `(${rate.toFixed(2)}/s, ETA ${formatDuration(eta)}${failed}${status})`;
  }

  /** Ends the bar and returns the summary line. */
  finish(): string {
    const elapsed = (performance.now() - this.start) / 1000;
    if (this.tty) this.write("\n");
    const failed = this.failed > 0 ? `, ${this.failed} failed` : "";
    return `${this.label}: ${this.done - this.failed}/${this.total} ${this.unit} done in ` +
      `${formatDuration(elapsed)} (${(this.done / Math.max(elapsed, 1e-9)).toFixed(2)}/s${failed})`;
  }
}
