/**
 * GPUs the operating system shows, whether or not WebGPU reaches them: a software adapter on a machine that has
 * one means its WebGPU driver is missing or broken, and a long run would go on the CPU without a word.
 */

/** Kernel drivers of real GPUs behind a DRM render node (virtual and software ones are left out). */
const GPU_DRIVERS = new Set([
  "nvidia",
  "amdgpu",
  "radeon",
  "i915",
  "xe",
  "nouveau",
  "msm",
  "panfrost",
  "v3d",
]);

/**
 * `root/relative`. These are Linux paths only (/dev, /sys), so plain "/" joins serve, and keep node:path out
 * of what device.ts imports: a browser cannot load it.
 */
function under(root: string, relative: string): string {
  return root.endsWith("/") ? root + relative : `${root}/${relative}`;
}

function entries(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
  } catch {
    return [];
  }
}

/**
 * The GPU device nodes under `root` (Linux: /dev/nvidiaN, and /sys/class/drm render nodes bound to a GPU
 * driver), as readable names; empty elsewhere or when none is visible.
 */
export function hostGpus(root = "/"): string[] {
  const found = entries(under(root, "dev")).filter((name) => /^nvidia\d+$/.test(name)).map((name) =>
    `/dev/${name}`
  );
  const drm = under(root, "sys/class/drm");
  for (const node of entries(drm).filter((name) => /^renderD\d+$/.test(name))) {
    let driver: string;
    try {
      driver = Deno.realPathSync(under(drm, `${node}/device/driver`)).split("/").pop()!;
    } catch {
      continue;
    }
    if (GPU_DRIVERS.has(driver)) found.push(`${node} (${driver})`);
  }
  return found;
}
