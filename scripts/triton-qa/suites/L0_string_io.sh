# qa/L0_string_io/test.sh
suite_main() {
  copy_model "$DATADIR/qa_identity_model_repository/onnx_zero_1_object" models
  python_model ../python_models/string_identity models
  sed -i "s/\[ 1 \]/\[ 8 \]/" models/string_identity/config.pbtxt
  server_start --model-repository="$PWD/models"
  run_py string_client_test.py
  server_stop
}
