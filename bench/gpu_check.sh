#!/usr/bin/env bash
# The GPU checks in one command, for a machine with a real GPU and no network (the device machines lent to
# some sessions): parity of the GPU kernels on that GPU, then the benches whose figures need one (matmul,
# the ViT-S forward, and the training bench, which on a GPU also measures ViT-L's step beside PyTorch's).
#
# What must travel with the working tree (both ignored by git, named in the run's `carry`):
#   .device/deno.xz   the Deno binary, `xz -6 -c node_modules/@deno/linux-x64-glibc/deno > .device/deno.xz`
#                     (or the binary from the npx cache), about 30 MB;
#   .device/gl/*.deb  libvulkan1 and friends, downloaded as the device README shows, unpacked into / here.
# node_modules/ travels too (the npm packages: h5wasm, onnxruntime-web, ...), as `carry` names it.
# Results land in $OUT (or ./gpu-check without it): the log and bench/results' files of the day.
set -uo pipefail
out="${OUT:-gpu-check}"
mkdir -p "$out" /tmp/deno-bin
for f in .device/gl/*.deb; do [ -e "$f" ] && dpkg -x "$f" /; done
ldconfig
xz -dc .device/deno.xz > /tmp/deno-bin/deno && chmod +x /tmp/deno-bin/deno
export PATH="/tmp/deno-bin:$PATH" DENO_WEBGPU_BACKEND=vulkan NO_COLOR=1 DENO_NO_UPDATE_CHECK=1
if [ -z "$(ldconfig -p | grep libvulkan)" ]; then echo "no libvulkan: carry .device/gl" | tee "$out/log"; fi
[ -e /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] &&
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
{
  deno task info
  deno test -A tests/gpu/matmul.test.ts tests/train/train_step.test.ts tests/nn/depth_anything.test.ts
  timeout 420 deno task bench --only matmul,forward,train
} 2>&1 | tee "$out/log"
cp bench/results/*.md bench/results/*.json "$out/" 2>/dev/null
exit 0
