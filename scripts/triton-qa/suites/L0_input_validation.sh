# qa/L0_input_validation/test.sh, its pytest steps. Not laid out: pt_identity (PyTorch/libtorch backend)
# and the plan_* shape-tensor models (TensorRT); the tests using them fail with "unknown model".
# The C++ input_byte_size_test and tensor_size_test binaries are out of scope.
suite_main() {
  want input_validation_test.py || return 0
  SERVER_LOG=./inference_server.log server_start --model-repository="$PWD/models"
  run_pytest input_validation_test.py::InputValTest
  server_stop

  copy_model "$DATADIR/qa_model_repository/onnx_object_int32_int32" models
  SERVER_LOG=./inference_server_shape.log server_start --model-repository="$PWD/models" --allow-client-shm=true
  run_pytest input_validation_test.py::InputShapeTest
  server_stop

  rm -rf test_models; mkdir -p test_models
  SERVER_LOG=./model_name_validation_server.log \
    server_start --model-repository="$PWD/test_models" --model-control-mode=explicit --log-verbose=1
  run_pytest -s input_validation_test.py::ModelNameValidationTest
  server_stop
}
