# qa/L0_shared_memory/test.sh: one fresh server per test method and client type, as test.sh runs them.
shm_case() { # shm_case <repository> <server args...> -- <unittest name>
  local repo=$1; shift
  local args=() ; while [ "$1" != "--" ]; do args+=("$1"); shift; done; shift
  local name=$1
  for client_type in http grpc; do
    SERVER_LOG="./${name##*.}.$client_type.server.log" server_start --model-repository="$PWD/$repo" --log-verbose=1 "${args[@]}"
    CLIENT_TYPE=$client_type QA_VARIANT=$client_type run_py shared_memory_test.py "$name"
    server_stop
  done
}

suite_main() {
  want shared_memory_test.py || return 0
  copy_model "$EXAMPLES/simple" models   # Dockerfile.QA's models/ for this suite
  shm_case models -- SharedMemoryTest.test_client_shm_disabled_by_default
  for t in test_invalid_create_shm test_valid_create_set_register test_unregister_before_register \
    test_unregister_after_register test_reregister_after_register test_unregister_after_inference \
    test_register_after_inference test_too_big_shm test_mixed_raw_shm test_unregisterall \
    test_infer_offset_out_of_bound test_infer_byte_size_out_of_bound test_infer_integer_overflow \
    test_register_out_of_bound test_register_reserved_names test_register_invalid_shm_key test_python_client_leak; do
    shm_case models --allow-client-shm=true -- "SharedMemoryTest.$t"
  done

  python_model ../python_models/execute_delayed_model python_models simple
  for t in test_unregister_shm_during_inference_single_req test_unregister_shm_during_inference_multiple_req \
    test_unregister_shm_after_inference; do
    for client_type in http grpc; do
      SERVER_LOG="./${t}_${client_type}.server.log" \
        server_start --model-repository="$PWD/python_models" --log-verbose=1 --allow-client-shm=true
      CLIENT_TYPE=$client_type run_py shared_memory_test.py "TestSharedMemoryUnregister.${t}_${client_type}"
      server_stop
    done
  done

  # Large offsets, on the add_sub models of the backends we have (libtorch, plan, openvino: not here).
  rm -rf models/*
  export BACKENDS="python onnx"
  python_model ../python_models/add_sub models python_int32_int32_int32
  sed -i 's/TYPE_FP32/TYPE_INT32/g' models/python_int32_int32_int32/config.pbtxt
  echo "max_batch_size: 8" >> models/python_int32_int32_int32/config.pbtxt
  # As test.sh: version 1 only (versions 2 and 3 of the generated model compute their outputs swapped), config, labels.
  local onnx="$DATADIR/qa_model_repository/onnx_int32_int32_int32"
  mkdir -p models/onnx_int32_int32_int32
  cp -r "$onnx/1" models/onnx_int32_int32_int32/1
  cp "$onnx/config.pbtxt" "$onnx/output0_labels.txt" models/onnx_int32_int32_int32/
  shm_case models --allow-client-shm=true -- SharedMemoryTest.test_large_shm_register_offset
}
