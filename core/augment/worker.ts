/**
 * A Deno worker that augments frames one message at a time. It holds only the frames it is working on and a
 * few decoded sources, so memory stays bounded whatever the dataset's size. A frame that fails becomes a
 * reject message with the reason; the worker itself never dies of bad input.
 */
/// <reference lib="deno.worker" />
import { asTrompeError } from "../errors.ts";
import { type JobSettings, processFrame, type WorkerReply, type WorkerRequest } from "./job.ts";

let settings: JobSettings | null = null;

self.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const message = event.data;
  if (message.type === "init") {
    settings = message.settings;
    return;
  }
  const ref = message.ref;
  let reply: WorkerReply;
  try {
    if (!settings) throw new Error("worker used before init");
    reply = { type: "done", index: ref.index, record: await processFrame(settings, ref) };
  } catch (error) {
    reply = { type: "reject", index: ref.index, reason: asTrompeError(error, ref.rgb).oneLine() };
  }
  self.postMessage(reply);
};
