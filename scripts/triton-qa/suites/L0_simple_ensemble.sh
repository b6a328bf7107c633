# qa/L0_simple_ensemble/test.sh, run as it is (paths to Triton's install and data pointed at ours, see run_test_sh).
suite_main() {
  run_test_sh
}
