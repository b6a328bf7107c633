# qa/L0_grpc/test.sh, its Python unit tests (C++ clients, image, health-probe and custom-backend steps are out of scope).
suite_main() {
  # Dockerfile.QA's models/ for this suite, less densenet_onnx (weights downloaded at run time).
  for m in simple simple_dyna_sequence simple_int8 simple_identity simple_sequence simple_string; do copy_model "$EXAMPLES/$m" models; done

  if want python_unit_test.py; then
    local dir=grpc_test_models
    copy_model models/simple $dir
    python_model ../python_models/string_identity $dir
    sed -i "s/dims: \[ 1 \]/dims: [ -1 ]/g" $dir/string_identity/config.pbtxt
    SERVER_LOG=./inference_server_grpc_test.log server_start --model-repository="$PWD/$dir"
    run_py python_unit_test.py GrpcTest
    server_stop

    SERVER_LOG=./inference_server_restricted.log server_start --model-repository="$PWD/models" \
      --grpc-restricted-protocol=model-repository:admin-key=admin-value \
      --grpc-restricted-protocol=inference,health:infer-key=infer-value
    run_py python_unit_test.py RestrictedProtocolTest
    server_stop
  fi

  if want python_grpc_aio_test.py; then
    SERVER_LOG=./inference_server_grpc_aio.log server_start --model-repository="$PWD/models" --allow-client-shm=true
    run_py python_grpc_aio_test.py
    server_stop
  fi
}
