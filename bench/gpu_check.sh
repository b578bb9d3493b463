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
#   .device/shared/reference/tiny-a/  what the GPU tests read of ../shared (which is not beside the tree on
#                     the device): config.json, weights.safetensors, golden.safetensors, train_step.safetensors,
#                     after_step.safetensors, after_step_f64ref.safetensors, train_steps.safetensors (26 MB).
#                     The tests run with TROMPE_REQUIRE_SHARED=1: a file not carried fails its test, loudly.
# Carry `.device` alone.
# Results land in $OUT (or ./gpu-check without it): the log and the bench tables this run wrote. The script
# exits non-zero when any step failed (the tests, the info task, the benches), and says which.
set -uo pipefail
out="${OUT:-gpu-check}"
mkdir -p "$out" /tmp/deno-bin
touch /tmp/gpu-check-start
for f in .device/gl/*.deb; do [ -e "$f" ] && dpkg -x "$f" /; done
ldconfig
xz -dc .device/deno.xz > /tmp/deno-bin/deno && chmod +x /tmp/deno-bin/deno
[ -d node_modules/.deno ] || xz -dc .device/node_modules.tar.xz | tar -xf -
export PATH="/tmp/deno-bin:$PATH" DENO_WEBGPU_BACKEND=vulkan NO_COLOR=1 DENO_NO_UPDATE_CHECK=1
# The shared tests must run here, never skip: from the carried copy where ../shared is not beside the tree.
export TROMPE_REQUIRE_SHARED=1
if [ ! -d ../shared ]; then
  export TROMPE_SHARED="$PWD/.device/shared"
  mkdir -p .device/shared/formats # the GPU tests read no format files, but a shared test expects the folder
fi
if [ -z "$(ldconfig -p | grep libvulkan)" ]; then echo "no libvulkan: carry .device/gl" | tee "$out/log"; fi
[ -e /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] &&
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
failed=()
# Runs one step, its output to the log; a step that exits non-zero is named at the end.
step() {
  local name=$1
  shift
  echo "== $name: $*"
  "$@" || failed+=("$name (exit $?)")
}
{
  step info deno run -A --cached-only tasks/info.ts
  step tests deno test -A --cached-only tests/gpu/matmul.test.ts tests/train/train_step.test.ts
  # tiny-a only: the other models' files are not carried (see above).
  step tests-model deno test -A --cached-only --filter tiny-a tests/nn/depth_anything.test.ts
  step bench timeout 420 deno run -A --cached-only bench/run.ts --only matmul,forward,train
  if [ ${#failed[@]} -gt 0 ]; then echo "gpu_check FAILED: ${failed[*]}"; else echo "gpu_check: every step passed"; fi
  [ ${#failed[@]} -eq 0 ]
} 2>&1 | tee "$out/log"
status=${PIPESTATUS[0]}
# Only this run's tables: a run brings back at most 8 files.
find bench/results -type f -newer /tmp/gpu-check-start -exec cp {} "$out/" \;
exit "$status"
