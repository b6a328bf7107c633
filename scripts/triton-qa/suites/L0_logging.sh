# qa/L0_logging/test.sh, its Python steps: logging_endpoint_test.py against a server started as test.sh starts it,
# and log_format_test.py (pytest), which starts `tritonserver` itself (this server, see run-suite.sh). test.sh's own
# shell checks grep Triton's glog-style log lines; this server logs JSON lines (pino), see docs/triton-compatibility.md.
suite_main() {
  rm -rf log_models && mkdir -p log_models
  copy_model "$DATADIR/qa_model_repository/onnx_int32_int32_int32" log_models simple
  rm -rf log_models/simple/2 log_models/simple/3
  if want logging_endpoint_test.py; then
    SERVER_LOG=./inference_server_unittest.log server_start --model-repository="$PWD/log_models"
    run_py logging_endpoint_test.py
    server_stop
  fi
  run_pytest log_format_test.py
}
