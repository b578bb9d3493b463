/// <reference lib="dom" />
/**
 * The files a prediction exports from the page, named and encoded as `deno task predict --save` writes them:
 * NPY (float32, the model's output), a 16-bit PNG (millimetres for a metric head, disparity × 1000 for a
 * relative one) and, for metric heads, a coloured PLY point cloud through the official default camera.
 */
import {
  defaultIntrinsics,
  encodePly,
  type HeadKind,
  PNG16_UNITS,
  png16Values,
  pointCloud,
  type RasterU8,
  serializeNpy,
} from "../web.ts";
import { encodeGray16Png } from "./png16.ts";

function download(name: string, bytes: Uint8Array): void {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>]));
  link.download = name;
  link.click();
  URL.revokeObjectURL(link.href);
}

function button(label: string, action: () => Promise<void> | void): HTMLButtonElement {
  const element = document.createElement("button");
  element.type = "button";
  element.textContent = label;
  element.addEventListener("click", () => action());
  return element;
}

/** One prediction's export buttons; `stem` names the files (`<image>-a`). */
export function exportButtons(
  stem: string,
  prediction: { depth: Float32Array; width: number; height: number; head: HeadKind },
  image: RasterU8,
): HTMLElement {
  const { depth, width, height, head } = prediction;
  const row = document.createElement("p");
  row.className = "exports";
  row.append(
    button("NPY", () => download(`${stem}.npy`, serializeNpy(depth, [height, width]))),
    button("PNG 16-bit", async () => {
      const png = await encodeGray16Png(width, height, png16Values(depth).data);
      download(`${stem}${PNG16_UNITS[head].suffix}`, png);
    }),
  );
  if (head === "metric") {
    row.append(button("PLY", () => {
      download(`${stem}.ply`, encodePly(pointCloud(depth, image, defaultIntrinsics(width, height))));
    }));
  }
  return row;
}
