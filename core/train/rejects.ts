/**
 * The frames a training run could not use, as every batch task records them: `rejects.jsonl` in the run
 * directory (one line per frame and step, kept across a resume as the step logs are), a count for the run
 * record and the exit status, and a stop when a split yields no frame at all — a run whose every frame fails
 * would otherwise "finish" with its weights untouched.
 */
import { join } from "node:path";
import { TrompeError } from "../errors.ts";
import { JsonlLog } from "./train_log.ts";

export interface RejectRecord {
  /** The step the frame was drawn for (training), or the steps taken when validation ran. */
  step: number;
  stage: "train" | "val";
  id: string;
  error: string;
}

export interface FrameFailure {
  rgb: string;
  error: string;
}

export class TrainRejects {
  private readonly log: JsonlLog<RejectRecord>;
  /** This run's training frames loaded and failed (a resumed run counts from its resume point). */
  private loaded = 0;
  private failed = 0;

  constructor(out: string, private readonly split: string, private readonly valSplit: string) {
    this.log = new JsonlLog(join(out, "rejects.jsonl"));
  }

  /** Keeps the lines of the steps before `startStep` (training) and of validations up to it. */
  resumeAt(startStep: number): Promise<void> {
    return this.log.resumeWith((r) => (r.stage === "train" ? r.step < startStep : r.step <= startStep));
  }

  /** Rejects recorded in the whole run, resumed parts included. */
  get count(): number {
    return this.log.entries.length;
  }

  async train(step: number, loaded: number, failures: readonly FrameFailure[], trainFrames: number) {
    this.loaded += loaded;
    this.failed += failures.length;
    for (const f of failures) await this.log.append({ step, stage: "train", id: f.rgb, error: f.error });
    if (this.loaded === 0 && this.failed >= trainFrames) {
      this.noFrame(this.split, `all ${this.failed} training frames`, this.firstTrainFailure());
    }
  }

  /** At the end of the steps: a run whose every drawn frame failed trained on nothing. */
  finish(): void {
    if (this.loaded === 0 && this.failed > 0) {
      this.noFrame(this.split, `all ${this.failed} training frames drawn`, this.firstTrainFailure());
    }
  }

  /** The run's first training frame that failed (not the step's: the stop comes at the last one). */
  private firstTrainFailure(): FrameFailure | undefined {
    const first = this.log.entries.find((r) => r.stage === "train");
    return first && { rgb: first.id, error: first.error };
  }

  async val(step: number, images: number, failures: readonly FrameFailure[]) {
    for (const f of failures) await this.log.append({ step, stage: "val", id: f.rgb, error: f.error });
    if (images === 0 && failures.length > 0) {
      this.noFrame(this.valSplit, `all ${failures.length} validation frames`, failures[0]);
    }
  }

  private noFrame(split: string, which: string, first: FrameFailure | undefined): never {
    throw new TrompeError(
      "empty",
      `${which} failed to load` + (first ? ` (first: ${first.rgb}: ${first.error})` : ""),
      { subject: split, hint: "see rejects.jsonl in --out; check --root and the split's paths" },
    );
  }
}
