# Shared by the scripts in scripts/image (sourced, not run).
#
# podman's default container limits (nofile 1048576) need CAP_SYS_RESOURCE to set; a root without it (sandboxes,
# some CI runners) gets "error setting rlimit type 7: operation not permitted". Pass limits this shell may set:
# its own hard open-files limit and 32768 processes (IMAGE_NOFILE / IMAGE_NPROC override them).
hard_nofile="$(ulimit -Hn)"
[ "$hard_nofile" = unlimited ] && hard_nofile=1048576
PODMAN_ULIMITS=(--ulimit "nofile=${IMAGE_NOFILE:-$hard_nofile}" --ulimit "nproc=${IMAGE_NPROC:-32768}")

say() { printf '== %s\n' "$*"; }

need() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || { echo "$(basename "$0") needs $tool (Debian: apt-get install $tool)" >&2; exit 1; }
  done
  [ "$(id -u)" = 0 ] || { echo "$(basename "$0") needs root (podman's root storage and networking)" >&2; exit 1; }
}

# runc and cgroupfs: crun (podman's first choice where installed) fails on hybrid cgroup hierarchies such as these
# machines', and a container without systemd has no systemd cgroup manager. Both are podman's global options.
if command -v runc >/dev/null; then
  podman() { command podman --runtime "$(command -v runc)" --cgroup-manager=cgroupfs "$@"; }
fi
