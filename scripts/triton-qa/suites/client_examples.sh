# client/src/python/examples, each run as qa/L0_http and qa/L0_grpc run them (`python <client> -v`, passes
# when it exits 0 and prints PASS), against Triton's docs/examples models.
# Not run: image_client, grpc_image_client, ensemble_image_client, grpc_client (densenet/inception weights
# downloaded at run time), simple_*_cudashm_client (CUDA), memory_growth_test (a long benchmark, not an example).
CLIENTS="$QA_SRC/client/src/python/examples"

client() { # client NAME [args...]
  local name=$1; shift
  want "$name.py" || return 0
  run_example "$name" "$PYTHON" "$CLIENTS/$name.py" "$@"
}

suite_main() {
  for m in simple simple_string simple_int8 simple_identity simple_sequence simple_dyna_sequence; do
    copy_model "$EXAMPLES/$m" models
  done
  # repeat_int32 for simple_grpc_custom_repeat: the Python version Triton's qa lays out (Dockerfile.QA copies
  # python_backend's examples/decoupled/repeat_* into qa/L0_decoupled/python_models/repeat_int32).
  mkdir -p models/repeat_int32/1
  cp "$QA_SRC/python_backend/examples/decoupled/repeat_model.py" models/repeat_int32/1/model.py
  cp "$QA_SRC/python_backend/examples/decoupled/repeat_config.pbtxt" models/repeat_int32/config.pbtxt

  SERVER_LOG=./server.log server_start --model-repository="$PWD/models" --allow-client-shm=true
  for name in simple_http_infer_client simple_http_async_infer_client simple_http_aio_infer_client \
    simple_http_health_metadata simple_http_string_infer_client simple_http_shm_client simple_http_shm_string_client \
    simple_http_sequence_sync_infer_client reuse_infer_objects_client \
    simple_grpc_infer_client simple_grpc_async_infer_client simple_grpc_aio_infer_client simple_grpc_health_metadata \
    simple_grpc_string_infer_client simple_grpc_shm_client simple_grpc_shm_string_client \
    simple_grpc_sequence_stream_infer_client simple_grpc_sequence_sync_infer_client \
    simple_grpc_aio_sequence_stream_infer_client simple_grpc_keepalive_client simple_grpc_custom_args_client \
    grpc_explicit_byte_content_client grpc_explicit_int_content_client grpc_explicit_int8_content_client \
    simple_grpc_custom_repeat; do
    client "$name" -v
  done
  server_stop

  # The model-control examples count the models of qa/L0_http's (7) and qa/L0_grpc's (8) repositories, where
  # densenet_onnx and simple_string_dyna_sequence are listed but never loaded (explicit mode).
  control_repository control_http simple simple_dyna_sequence simple_identity simple_sequence simple_string
  SERVER_LOG=./server.explicit.log server_start --model-repository="$PWD/control_http" --model-control-mode=explicit
  client simple_http_model_control -v
  server_stop
  control_repository control_grpc simple simple_dyna_sequence simple_int8 simple_identity simple_sequence simple_string
  SERVER_LOG=./server.explicit.grpc.log server_start --model-repository="$PWD/control_grpc" --model-control-mode=explicit
  client simple_grpc_model_control -v
  server_stop
}

# control_repository DIR MODELS...: the examples' models plus the two qa/L0_http and qa/L0_grpc also list.
control_repository() {
  local dir=$1; shift
  for m in "$@" densenet_onnx; do copy_model "$EXAMPLES/$m" "$dir"; done
  copy_model "$EXAMPLES/simple_dyna_sequence" "$dir" simple_string_dyna_sequence
  sed -i 's/^platform: .*/backend: "dyna_sequence"/' "$dir/simple_string_dyna_sequence/config.pbtxt"
  rm -f "$dir/simple_string_dyna_sequence/1/model.onnx"
}
