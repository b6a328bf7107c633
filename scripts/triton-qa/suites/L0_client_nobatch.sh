# qa/L0_client_nobatch/test.sh. Its onnx_*bf16* models are left out: ONNX Runtime's CPU provider has no BF16 kernels
# (they load on CUDA only), and test.sh's server would exit on them; client_test.py does not use them.
suite_main() {
  mkdir -p models && cp -r "$DATADIR"/qa_model_repository/onnx_* models/
  rm -rf models/*bf16*
  server_start --model-repository="$PWD/models"
  run_py client_test.py
  server_stop
}
