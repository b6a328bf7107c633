# qa/L0_client_nobatch/test.sh
suite_main() {
  mkdir -p models && cp -r "$DATADIR"/qa_model_repository/onnx_* models/
  server_start --model-repository="$PWD/models"
  run_py client_test.py
  server_stop
}
