# Sourced by the device jobs that need the mamba-ssm kernels (continue_model.sh, tune_text.sh):
#   source "$(dirname "$0")/kernels.sh"
#   kernels_ready            # true once the kernels import on this machine
#   start_kernel_build       # build them in the background (/tmp/kernels.log, then /tmp/kernels.done), needs
#                            # ".device-cache" carried; a no-op where they are ready or a build is under way
kernels_ready() { python3 -c "from motion_core.ssm import backends; assert backends.cuda_ops() is not None"; }

start_kernel_build() {
  kernels_ready 2> /dev/null && return 0
  [ -e /tmp/kernels.log ] && return 0
  setsid bash -c 'ONLY=mamba MAX_JOBS=10 bash .device-cache/build_kernels.sh > /tmp/kernels.log 2>&1;
    touch /tmp/kernels.done' < /dev/null > /dev/null 2>&1 &
  echo "kernel build started in the background"
}
