# qa/L0_http/test.sh, its Python test files (C++ clients, image and custom-backend steps are out of scope).
suite_main() {
  # Dockerfile.QA's models/ for this suite, less densenet_onnx (weights downloaded at run time).
  for m in simple simple_dyna_sequence simple_identity simple_sequence simple_string; do copy_model "$EXAMPLES/$m" models; done

  if want python_http_aio_test.py; then
    SERVER_LOG=./inference_server_http_aio.log server_start --model-repository="$PWD/models" --allow-client-shm=true
    run_py python_http_aio_test.py
    server_stop
  fi

  if want http_test.py; then
    local dir=python_unit_test_models
    for m in onnx_zero_1_float32 onnx_zero_1_object onnx_zero_1_float16 onnx_zero_3_float32; do
      copy_model "$DATADIR/qa_identity_model_repository/$m" $dir
    done
    copy_model $dir/onnx_zero_1_object $dir onnx_zero_1_object_1_element
    (cd $dir/onnx_zero_1_object_1_element && sed -i "0,/-1/{s/-1/1/}" config.pbtxt)
    copy_model $dir/onnx_zero_1_float32 $dir onnx_zero_1_float32_queue
    cat >>$dir/onnx_zero_1_float32_queue/config.pbtxt <<'CONFIG'
dynamic_batching {
    max_queue_delay_microseconds: 1000000
    preferred_batch_size: [ 8 ]
    default_queue_policy {
        max_queue_size: 1
    }
}
CONFIG
    copy_model models/simple_identity $dir
    copy_model models/simple_identity $dir simple_identity_int64
    sed -i "s/TYPE_STRING/TYPE_INT64/" $dir/simple_identity_int64/config.pbtxt
    SERVER_LOG=./inference_server_http_test.log server_start --model-repository=$dir --model-control-mode=explicit '--load-model=*'
    run_py http_test.py
    server_stop
  fi

  if want generate_endpoint_test.py; then
    SERVER_LOG=./inference_server_generate_endpoint_test.log \
      server_start --model-repository="$PWD/../python_models/generate_models" --log-verbose=1
    run_py generate_endpoint_test.py
    server_stop
  fi

  if want http_input_size_limit_test.py; then
    local dir=http_input_size_limit_test_models
    copy_model "$DATADIR/qa_identity_model_repository/onnx_zero_1_float32" $dir
    copy_model models/simple_identity $dir
    SERVER_LOG=./inference_server_default_limit.log server_start --model-repository=$dir
    for t in test_default_limit_raw_binary test_default_limit_json test_large_string_in_json \
      test_default_limit_compressed test_json_dtype_size_expansion_exceeds_limit_error; do
      run_py http_input_size_limit_test.py "InferSizeLimitTest.$t"
    done
    run_py http_input_size_limit_test.py InferSizeLimitTest.test_no_leak_on_invalid_inference_header_length
    server_stop
    SERVER_LOG=./inference_server_increased_limit.log server_start --model-repository=$dir --http-max-input-size=$((2 ** 27))
    for t in test_large_input_raw_binary test_large_input_json test_large_input_compressed; do
      run_py http_input_size_limit_test.py "InferSizeLimitTest.$t"
    done
    server_stop
    for size in 0 -1024; do
      SERVER_LOG=./inference_server_limit_$size.log server_exits --model-repository=$dir --http-max-input-size=$size
      grep -q "Error: --http-max-input-size must be greater than 0." ./inference_server_limit_$size.log
      record_check "test.sh.http_max_input_size_$size.refused" $? "server did not refuse --http-max-input-size=$size with Triton's message"
    done
  fi
}
