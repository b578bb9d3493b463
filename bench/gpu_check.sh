#!/usr/bin/env bash
# The GPU checks in one command, for a machine with a real GPU and no network (the device machines lent to
# some sessions): parity of the GPU kernels on that GPU, then the benches whose figures need one (matmul,
# the ViT-S forward, and the training bench, which on a GPU also measures ViT-L's step beside PyTorch's).
#
# What must travel with the working tree (all under .device/, which git ignores):
#   .device/deno.xz   the Deno binary, `xz -6 -c node_modules/@deno/linux-x64-glibc/deno > .device/deno.xz`
#                     (or the binary from the npx cache), about 30 MB;
#   .device/gl/*.deb  libvulkan1 and friends, downloaded as the device README shows, unpacked into / here.
#   .device/node_modules.tar.xz  the npm packages (node_modules/ is 172 MB, over the 64 MiB a run carries):
#                     `tar -cf - --exclude='*.map' --exclude='*.jsep.*' --exclude='*.asyncify.*' --exclude='*.jspi.*'
#                     --exclude='ort.webgl.*' --exclude='ort.all.*' node_modules | xz -6 > .device/node_modules.tar.xz`
#                     (7.5 MB: onnxruntime-web's other wasm builds are left out). Checked with an empty DENO_DIR
#                     and --cached-only, as there is no network there.
# Carry `.device` alone.
# Results land in $OUT (or ./gpu-check without it): the log and the bench tables this run wrote.
set -uo pipefail
out="${OUT:-gpu-check}"
mkdir -p "$out" /tmp/deno-bin
touch /tmp/gpu-check-start
for f in .device/gl/*.deb; do [ -e "$f" ] && dpkg -x "$f" /; done
ldconfig
xz -dc .device/deno.xz > /tmp/deno-bin/deno && chmod +x /tmp/deno-bin/deno
[ -d node_modules/.deno ] || xz -dc .device/node_modules.tar.xz | tar -xf -
export PATH="/tmp/deno-bin:$PATH" DENO_WEBGPU_BACKEND=vulkan NO_COLOR=1 DENO_NO_UPDATE_CHECK=1
if [ -z "$(ldconfig -p | grep libvulkan)" ]; then echo "no libvulkan: carry .device/gl" | tee "$out/log"; fi
[ -e /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] &&
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
{
  deno run -A --cached-only tasks/info.ts
  deno test -A --cached-only tests/gpu/matmul.test.ts tests/train/train_step.test.ts tests/nn/depth_anything.test.ts
  timeout 420 deno run -A --cached-only bench/run.ts --only matmul,forward,train
} 2>&1 | tee "$out/log"
# Only this run's tables: a run brings back at most 8 files.
find bench/results -type f -newer /tmp/gpu-check-start -exec cp {} "$out/" \;
exit 0
