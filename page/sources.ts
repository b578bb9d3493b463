/// <reference lib="dom" />
/**
 * What the page reads: a file the user opened or a URL, streamed with progress (checkpoints run to hundreds
 * of megabytes), and images decoded to the 8-bit RGB the model takes.
 */
import { type RasterU8, TrompeError } from "../web.ts";

/** A file or a URL, and how to name it in messages. */
export interface Source {
  readonly name: string;
  readonly file?: File;
  readonly url?: string;
}

/** The sources a file input and a URL input give: all files chosen, else the URLs (space-separated). */
export function sourcesOf(fileInput: HTMLInputElement, urlInput: HTMLInputElement): Source[] {
  const files = [...fileInput.files ?? []];
  if (files.length > 0) return files.map((file) => ({ name: file.name, file }));
  return urlInput.value.trim().split(/\s+/).filter(Boolean).map((url) => ({
    name: decodeURIComponent(new URL(url, location.href).pathname.split("/").pop() || url),
    url,
  }));
}

/** All of a source's bytes, read chunk by chunk; `progress` gets the share done (NaN when the size is unknown). */
export async function readSource(
  source: Source,
  progress: (done: number) => void,
): Promise<Uint8Array<ArrayBuffer>> {
  let stream: ReadableStream<Uint8Array>;
  let size: number;
  if (source.file) {
    stream = source.file.stream();
    size = source.file.size;
  } else {
    let response: Response;
    try {
      response = await fetch(source.url!);
    } catch (error) {
      throw new TrompeError("not-found", `could not fetch ${source.url}`, {
        subject: source.name,
        cause: error,
      });
    }
    if (!response.ok || !response.body) {
      throw new TrompeError("not-found", `${source.url} answered ${response.status} ${response.statusText}`, {
        subject: source.name,
      });
    }
    stream = response.body;
    size = Number(response.headers.get("content-length") ?? NaN);
  }
  const chunks: Uint8Array[] = [];
  let received = 0;
  const reader = stream.getReader();
  for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) {
    chunks.push(chunk.value);
    received += chunk.value.byteLength;
    progress(received / size);
  }
  const bytes = new Uint8Array(received);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * An image file's pixels as 8-bit RGB, exactly as stored: no colour-space conversion and no premultiplied
 * alpha, so the model sees the bytes a decoder under Deno would give.
 */
export async function decodeImage(bytes: Uint8Array<ArrayBuffer>, name: string): Promise<RasterU8> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(new Blob([bytes]), {
      colorSpaceConversion: "none",
      premultiplyAlpha: "none",
    });
  } catch (error) {
    throw new TrompeError("corrupt", "not an image this browser can decode", { subject: name, cause: error });
  }
  const { width, height } = bitmap;
  const context = new OffscreenCanvas(width, height).getContext("2d")!;
  context.drawImage(bitmap, 0, 0);
  const rgba = context.getImageData(0, 0, width, height).data;
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < width * height; i++) data.set(rgba.subarray(4 * i, 4 * i + 3), 3 * i);
  return { width, height, channels: 3, data };
}
