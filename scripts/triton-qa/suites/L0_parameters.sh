# qa/L0_parameters/test.sh. Its model_repository/identity uses Triton's C++ "identity" backend.
suite_main() {
  if want parameters_test.py; then
    local test args
    for test in test_params test_params_reserved_rejected test_headers \
      test_grpc_header_forward_pattern_case_sensitive test_headers_reserved_rejected; do
      args=(--model-repository=model_repository --exit-timeout-secs=120)
      case $test in
        test_headers) args+=(--grpc-header-forward-pattern 'MY_HEADER.*' --http-header-forward-pattern 'MY_HEADER.*') ;;
        test_grpc_header_forward_pattern_case_sensitive) args+=(--grpc-header-forward-pattern '(?-i)MY_HEADER.*') ;;
        test_headers_reserved_rejected) args+=(--grpc-header-forward-pattern '.*' --http-header-forward-pattern '.*') ;;
      esac
      mkdir -p model_repository/identity/1 model_repository/ensemble/1
      SERVER_LOG="./inference_server_$test.log" server_start "${args[@]}"
      run_py -m unittest "parameters_test.InferenceParametersTest.$test"
      server_stop
    done
  fi

  if want class_count_test.py; then
    python_model ../python_models/identity_fp32 models
    python_model ../python_models/identity_fp32 models identity_bytes
    sed -i 's/identity_fp32/identity_bytes/; s/TYPE_FP32/TYPE_STRING/' models/identity_bytes/config.pbtxt
    for client_type in http grpc; do
      SERVER_LOG="./class_count_test_${client_type}_server.log" server_start --model-repository="$PWD/models" --log-verbose=1
      CLIENT_TYPE=$client_type run_py class_count_test.py -v
      server_stop
    done
  fi
}
