# qa/L0_simple_ensemble/test.sh, run as it is (paths to Triton's install and data pointed at ours, see run_test_sh),
# after Dockerfile.QA's layout for it: docs/examples' simple model as versions 1 and 2.
suite_main() {
  for version in 1 2; do
    mkdir -p models/simple/$version
    cp "$EXAMPLES/simple/1/model.onnx" models/simple/$version/
  done
  run_test_sh
}
