# qa/L0_trace/test.sh: its own set-up (variables, model layout) as it is, then its Python step, trace_endpoint_test.py,
# against a server started with test.sh's arguments for it. Not run: the shell checks of Triton's trace files, and
# the OpenTelemetry steps (they need an OTLP collector and the opentelemetry Python packages). repeat_int32 (Triton's
# C++ repeat backend) is not laid out: test.sh's cp of it fails, as it says in the client log.
suite_main() {
  run_test_sh_prologue '^# Helpers ='
  if want trace_endpoint_test.py; then
    SERVER_LOG=./inference_server_unittest.log server_start --trace-config triton,file=global_unittest.log \
      --trace-config level=TIMESTAMPS --trace-config rate=1 --model-repository="$PWD/trace_models"
    run_py trace_endpoint_test.py
    server_stop
  fi
}
