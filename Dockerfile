# syntax=docker/dockerfile:1
# The inference-server image: Node.js 24 LTS, onnxruntime-node with its CUDA 12 execution provider, non-root uid 1000.
#
# GPU requirements (not in the image): an NVIDIA driver on the node that supports CUDA 12 (R525 or newer; on GKE the
# driver comes from gpuDriverVersion default/latest or the nvidia-driver-installer DaemonSet and is mounted at
# /usr/local/nvidia). The image carries the CUDA 12 user-space libraries onnxruntime's CUDA provider loads
# (cudart, cuBLAS, cuFFT, cuRAND, cuDNN 9). Without a GPU the server runs on the CPU provider.
#
#   docker build -t inference-server .
#   docker run --gpus all -p 8000-8002:8000-8002 -v $PWD/examples/model_repository:/models:ro \
#     inference-server --model-repository=/models
#
# Build arguments:
#   GPU=cuda12 (default) | none   none: a CPU-only image, everything else the same: no CUDA provider download
#                                 (NuGet) and no CUDA libraries (NVIDIA's apt repository).
#   NODE_IMAGE                    the Node.js 24 base (default node:24-bookworm-slim; scripts/image/base.sh builds a
#                                 local equivalent where Docker Hub is out of reach).
#   CUDA_MAJOR_MINOR=12-8         the CUDA 12 minor release of the runtime libraries.
# Build secret extra-ca-certs (optional): a PEM bundle of extra CA certificates that npm and onnxruntime-node's
# installer trust, for builds behind a TLS-intercepting proxy (docker build --secret id=extra-ca-certs,src=FILE).

ARG NODE_IMAGE=node:24-bookworm-slim
ARG GPU=cuda12

# ---- build: full install (dev dependencies for tsc), CUDA provider binaries fetched at install time ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# No dependency's install script runs (--ignore-scripts), whichever npm the base image carries (npm 11.19+ asks
# package.json's allowScripts about them, later releases may skip them): the one the image needs, onnxruntime-node's
# installer, runs explicitly below.
RUN --mount=type=secret,id=extra-ca-certs \
    if [ -f /run/secrets/extra-ca-certs ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/extra-ca-certs; fi \
 && npm ci --ignore-scripts
# Declared after npm ci so that both GPU values share its layer. The CUDA providers come from NuGet
# (microsoft.ml.onnxruntime.gpu.linux): the GPU build needs that network; GPU=none skips it, as .npmrc does on
# development machines.
ARG GPU
RUN --mount=type=secret,id=extra-ca-certs \
    case "$GPU" in cuda12|none) ;; *) echo "GPU=$GPU: use cuda12 or none" >&2; exit 1 ;; esac \
 && if [ -f /run/secrets/extra-ca-certs ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/extra-ca-certs; fi \
 && if [ "$GPU" = cuda12 ]; then \
      cd node_modules/onnxruntime-node && ONNXRUNTIME_NODE_INSTALL=cuda12 node script/install \
      && test -f bin/napi-v6/linux/x64/libonnxruntime_providers_cuda.so; \
    fi
COPY . .
# build = tsc + the .proto files copied next to the compiled code.
# Other platforms' onnxruntime binaries (about 245 MB) are never loaded on linux/x64.
RUN npm run build \
 && npm prune --omit=dev \
 && find node_modules/onnxruntime-node/bin -mindepth 3 -maxdepth 3 -type d ! -path '*/linux/x64' -exec rm -rf {} +

# ---- runtime: Node 24 slim plus the CUDA 12 runtime libraries from NVIDIA's Debian 12 repository ----
FROM ${NODE_IMAGE}
ARG GPU
ARG CUDA_MAJOR_MINOR=12-8
# python3 and python3-numpy (Debian bookworm): backend: "python" models run in a stub process started with python3.
# tini: see ENTRYPOINT.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates python3 python3-numpy tini \
 && if [ "$GPU" = cuda12 ]; then \
      apt-get install -y --no-install-recommends curl \
      && curl -fsSLo /tmp/cuda-keyring.deb https://developer.download.nvidia.com/compute/cuda/repos/debian12/x86_64/cuda-keyring_1.1-1_all.deb \
      && dpkg -i /tmp/cuda-keyring.deb && rm /tmp/cuda-keyring.deb \
      && apt-get update \
      && apt-get install -y --no-install-recommends \
           cuda-cudart-${CUDA_MAJOR_MINOR} libcublas-${CUDA_MAJOR_MINOR} libcufft-${CUDA_MAJOR_MINOR} \
           libcurand-${CUDA_MAJOR_MINOR} libcudnn9-cuda-12 \
      && apt-get purge -y curl; \
    fi \
 && apt-get autoremove -y && apt-get clean && rm -rf /var/lib/apt/lists/*
# /usr/local/nvidia/lib64: where GKE's device plugin mounts the node's driver libraries (libcuda.so).
# MALLOC_ARENA_MAX: worker threads each get a glibc arena that keeps its memory after the worker exits; two arenas
# let RSS fall back after a model is unloaded. MALLOC_MMAP/TRIM_THRESHOLD_ fixed at 4 MiB: blocks that large (ONNX
# Runtime's weights and arena chunks) are mmapped and go back to the OS when freed, where glibc's sliding threshold
# would keep them in the heap; smaller tensors stay on the heap (no mmap per request). bench:memory measures both.
ENV NODE_ENV=production \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=4194304 \
    MALLOC_TRIM_THRESHOLD_=4194304 \
    LD_LIBRARY_PATH=/usr/local/nvidia/lib64:/usr/local/cuda/lib64 \
    PATH=/usr/local/nvidia/bin:${PATH} \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility

WORKDIR /app
COPY --from=build --chown=root:root /app/package.json ./
COPY --from=build --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
# The package's bin entry (dist/server/main.js) on PATH; exec leaves node as tini's only child.
RUN printf '#!/bin/sh\nexec node /app/dist/server/main.js "$@"\n' > /usr/local/bin/inference-server \
 && chmod 0755 /usr/local/bin/inference-server \
 && mkdir -p /var/cache/inference-server && chown 1000:1000 /var/cache/inference-server

# uid 1000 is the image's "node" user; numeric so the kubelet can check runAsNonRoot.
USER 1000:1000
EXPOSE 8000 8001 8002
# tini as PID 1 forwards SIGTERM to node (which starts the drain) and reaps processes orphaned inside the container
# (a Python model's own subprocesses), which node would leave as zombies. With node as PID 1, the Python stubs would
# also see parent pid 1 and exit at once: stub.py takes that as "the server is already gone".
ENTRYPOINT ["tini", "--", "inference-server"]
