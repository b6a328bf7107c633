# syntax=docker/dockerfile:1
# The inference-server image, two targets from this one file (Triton ships CPU-only builds too):
#
#   cpu   Debian 12 slim, Node.js 24 (the binary only), the server and its production packages, python3 + numpy for
#         backend: "python" models, tini; non-root uid 1000. Every model runs on ONNX Runtime's CPU provider.
#   cuda  (default) cpu plus ONNX Runtime's CUDA execution provider (1.29.0, built for CUDA 13) and the CUDA 13 user-space
#         libraries it loads: cudart, cuBLAS/cuBLASLt, cuRAND from NVIDIA's Debian 12 repository, cuDNN 9 for CUDA 13.
#         Without a GPU (or without the node's driver) a KIND_GPU model fails to load with ONNX Runtime's reason and
#         KIND_AUTO falls back to the CPU (docs/gpu.md).
#
#   docker build --target cpu -t inference-server:cpu .
#   docker run -p 8000-8002:8000-8002 -v $PWD/examples/model_repository:/models:ro \
#     inference-server:cpu --model-repository=/models
#   npm run image:build -- --target cpu|cuda     (podman; builds the base images locally when no registry is reachable)
#
# GPU requirements (not in the image): an NVIDIA driver on the node that supports CUDA 13 (R580 or newer; on GKE the
# driver comes from gpuDriverVersion latest or the nvidia-driver-installer DaemonSet and is mounted at
# /usr/local/nvidia).
#
# Build arguments:
#   NODE_IMAGE       the Node.js 24 image the build stage runs in and the node binary comes from
#                    (default node:24-bookworm-slim; scripts/image/base.sh builds a local equivalent)
#   DEBIAN_IMAGE     the runtime's base (default debian:bookworm-slim; scripts/image/base.sh builds it too). Not the
#                    Node image: its npm and C headers (about 90 MB) are build tools.
#   CUDA_VERSION=13-0                      the CUDA 13 minor release of NVIDIA's packages (cuda target)
#   ORT_CUDA_PROVIDER=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
#                    the npm package carrying Microsoft's libonnxruntime_providers_{cuda,shared}.so of exactly
#                    onnxruntime-node's version (the build fails on a mismatch: the provider calls the core library
#                    through an internal C++ interface that changes between releases)
# Build secret extra-ca-certs (optional): a PEM bundle of extra CA certificates that npm trusts, for builds behind a
# TLS-intercepting proxy (docker build --secret id=extra-ca-certs,src=FILE).

ARG NODE_IMAGE=node:24-bookworm-slim
ARG DEBIAN_IMAGE=debian:bookworm-slim
ARG CUDA_VERSION=13-0

# ---- build: full install (dev dependencies for tsc), compile, then only what runs ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# .npmrc sets ignore-scripts: no dependency's install script runs (onnxruntime-node's would fetch the CUDA provider
# from NuGet; the cuda target takes it from the npm registry below).
COPY package.json package-lock.json .npmrc ./
RUN --mount=type=secret,id=extra-ca-certs \
    if [ -f /run/secrets/extra-ca-certs ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/extra-ca-certs; fi \
 && npm ci --no-audit --no-fund
COPY . .
# build = tsc + the .proto and .py files copied next to the compiled code. What the image runs is dist/server (the
# inference-server bin), dist/kubeflow (the Kubeflow component's entry point) and what they import; tests,
# benchmarks, the client, typings and source maps stay out.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund \
 && sh scripts/image/trim-node-modules.sh node_modules \
 && rm -rf dist/test dist/bench dist/examples \
 && find dist -type f \( -name '*.d.ts' -o -name '*.map' -o -name '*.tsbuildinfo' -o -name '.tsbuildinfo' \) -delete

# ---- the CUDA provider, from the npm registry (onnxruntime-node's own installer downloads it from NuGet) ----
FROM ${NODE_IMAGE} AS cuda-provider
ARG ORT_CUDA_PROVIDER=com.github.asus4.onnxruntime.linux-x64-gpu@0.4.9
WORKDIR /provider
COPY --from=build /app/node_modules/onnxruntime-node/package.json /provider/onnxruntime-node.json
COPY scripts/image/check-ort-provider.js /provider/
RUN --mount=type=secret,id=extra-ca-certs \
    if [ -f /run/secrets/extra-ca-certs ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/extra-ca-certs; fi \
 && npm pack "$ORT_CUDA_PROVIDER" --loglevel=error >/dev/null && tar xzf ./*.tgz && rm ./*.tgz \
 && mkdir out && cp package/Plugins/Linux/x64/libonnxruntime_providers_cuda.so \
      package/Plugins/Linux/x64/libonnxruntime_providers_shared.so out/ && rm -rf package \
 && node check-ort-provider.js onnxruntime-node.json out/libonnxruntime_providers_cuda.so "$ORT_CUDA_PROVIDER"

# ---- cpu ----
FROM ${DEBIAN_IMAGE} AS cpu
# python3 and python3-numpy (Debian bookworm): backend: "python" models run in a stub process started with python3.
# tini: see ENTRYPOINT. ca-certificates: gs:// repositories and GKE's metadata server over TLS. numpy's own test
# suites and its distutils (a build tool) are never imported by a model: about 18 MB.
# The user: uid/gid 1000 named node, as in the official Node.js images (the constructs run as uid 1000).
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 python3-numpy tini \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/apt /var/log/dpkg.log \
 && numpy=/usr/lib/python3/dist-packages/numpy \
 && find "$numpy" -depth -type d -name tests -exec rm -rf {} + && rm -rf "$numpy/distutils" \
 && python3 -c 'import numpy, numpy.linalg, numpy.fft, numpy.random' \
 && (getent group 1000 >/dev/null || groupadd --gid 1000 node) \
 && (getent passwd 1000 >/dev/null || useradd --uid 1000 --gid 1000 --shell /bin/sh --create-home node)
COPY --from=build /usr/local/bin/node /usr/local/bin/node
# MALLOC_ARENA_MAX: worker threads each get a glibc arena that keeps its memory after the worker exits; two arenas
# let RSS fall back after a model is unloaded. MALLOC_MMAP/TRIM_THRESHOLD_ fixed at 1 MiB: blocks that large (ONNX
# Runtime's weights and arena chunks, a loaded model's buffers) are mmapped and go back to the OS when freed, where
# glibc's sliding threshold would keep them in the heap, pinned there by whatever small block is allocated above
# them; an image tensor (224x224x3 FP32, 602 KB) stays on the heap (no mmap per request).
# NODE_OPTIONS=--max-semi-space-size=4: the event loop's young generation is 2 x 16 MiB by default, every page of it
# touched under load and kept resident for good; 2 x 4 MiB cost no throughput on small requests (bench:http) and
# keep ~20 MiB less resident. bench:memory runs the server with these settings and without (docs/performance.md).
# PYTHONDONTWRITEBYTECODE: the root file system is read-only in the Deployment.
ENV NODE_ENV=production \
    NODE_OPTIONS=--max-semi-space-size=4 \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=1048576 \
    MALLOC_TRIM_THRESHOLD_=1048576 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
# The package's bin entry (dist/server/main.js) on PATH with the node flags it is launched with on Node 24
# (server/launch-flags.ts: V8 heap options, which NODE_OPTIONS refuses); exec leaves node as tini's only child.
RUN printf '#!/bin/sh\nexec node --external-memory-accounted-in-global-limit --initial-old-space-size=128 /app/dist/server/main.js "$@"\n' > /usr/local/bin/inference-server \
 && chmod 0755 /usr/local/bin/inference-server \
 && mkdir -p /var/cache/inference-server && chown 1000:1000 /var/cache/inference-server \
 && node -e 'require("onnxruntime-node")'
# uid 1000 numeric so the kubelet can check runAsNonRoot.
USER 1000:1000
EXPOSE 8000 8001 8002
# tini as PID 1 forwards SIGTERM to node (which starts the drain) and reaps processes orphaned inside the container
# (a Python model's own subprocesses), which node would leave as zombies.
ENTRYPOINT ["tini", "--", "inference-server"]

# ---- cuda: cpu + ONNX Runtime's CUDA provider + CUDA 13 user-space libraries ----
FROM cpu AS cuda
ARG CUDA_VERSION
USER root
# NVIDIA's Debian 12 CUDA repository (its keyring package), runtime libraries only: no compiler, no headers, no
# static libraries. cuDNN 9 (libcudnn9-cuda-13): the CUDA provider runs Conv, pooling and normalisation on it.
RUN apt-get update \
 && apt-get install -y --no-install-recommends curl \
 && curl -fsSLo /tmp/cuda-keyring.deb https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/cuda-keyring_1.1-1_all.deb \
 && dpkg -i /tmp/cuda-keyring.deb && rm /tmp/cuda-keyring.deb \
 && apt-get update \
 && apt-get install -y --no-install-recommends \
      cuda-cudart-${CUDA_VERSION} libcublas-${CUDA_VERSION} libcurand-${CUDA_VERSION} libcudnn9-cuda-13 \
 && apt-get purge -y --auto-remove curl \
 && apt-get clean && rm -rf /var/lib/apt/lists/* /var/log/apt /var/log/dpkg.log
COPY --from=cuda-provider /provider/out/ /app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/
# Every library the provider links must resolve, except the driver's libcuda.so.1 (mounted from the node at run time).
RUN missing="$(ldd /app/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so \
      | awk '/not found/ && $1 != "libcuda.so.1" { print $1 }')" \
 && if [ -n "$missing" ]; then echo "the CUDA provider cannot load: $missing not found" >&2; exit 1; fi
# /usr/local/nvidia/lib64: where GKE's device plugin mounts the node's driver libraries (libcuda.so.1, which the
# provider needs too); the CUDA 13 libraries' own folder after it.
ENV LD_LIBRARY_PATH=/usr/local/nvidia/lib64:/usr/local/cuda/lib64:/usr/local/cuda/targets/x86_64-linux/lib \
    PATH=/usr/local/nvidia/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER 1000:1000
