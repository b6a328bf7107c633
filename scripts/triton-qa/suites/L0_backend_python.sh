# qa/L0_backend_python/test.sh, its python_test.py step, and its decoupled/ sub-suite (decoupled/test.sh: BLS to
# decoupled models, request and BLS cancellation). TEST_JETSON=1 skips the GPU tensor tests and the shared-memory
# leak probe, as Triton does on Jetson. Its other sub-suites (bls, lifecycle, ...) are not run here.
suite_main() {
  export TEST_JETSON=1 TRITON_DIR="$QA_RUN"   # init_args expects its repository under $TRITON_DIR/qa/L0_backend_python
  python_test_step
  decoupled_step
}

python_test_step() {
  want python_test.py || return 0
  rm -rf models
  python_model ../python_models/identity_fp32 models
  python_model ../python_models/identity_bf16 models
  copy_model models/identity_fp32 models identity_uint8
  sed -i 's/TYPE_FP32/TYPE_UINT8/g; s/^max_batch_size:.*/max_batch_size: 8/' models/identity_uint8/config.pbtxt
  echo 'dynamic_batching { preferred_batch_size: [8], max_queue_delay_microseconds: 12000000 }' >> models/identity_uint8/config.pbtxt
  copy_model models/identity_fp32 models identity_uint8_nobatch
  sed -i 's/TYPE_FP32/TYPE_UINT8/g; s/^max_batch_size:.*//' models/identity_uint8_nobatch/config.pbtxt
  copy_model models/identity_fp32 models identity_uint32
  sed -i 's/TYPE_FP32/TYPE_UINT32/g' models/identity_uint32/config.pbtxt
  copy_model models/identity_fp32 models identity_bool
  sed -i 's/TYPE_FP32/TYPE_BOOL/g' models/identity_bool/config.pbtxt
  copy_model models/identity_fp32 models default_model_name
  mv models/default_model_name/1/model.py models/default_model_name/1/mymodel.py
  echo 'default_model_filename: "mymodel.py"' >>models/default_model_name/config.pbtxt
  for m in pytorch_fp32_fp32 delayed_model init_args optional non_contiguous string string_fixed dlpack_identity; do
    python_model ../python_models/$m models
  done
  sed -i 's/^name:.*/name: "pytorch_fp32_fp32"/' models/pytorch_fp32_fp32/config.pbtxt
  sed -i "s|TRITON_DIR_PATH|$TRITON_DIR|" models/init_args/config.pbtxt
  server_start --model-repository="$PWD/models" --log-verbose=1 --allow-client-shm=true \
    --backend-config=python,shm-default-byte-size=5242880
  run_py python_test.py
  server_stop
}

# decoupled/test.sh: its models, plus the ones it copies in; one server for decoupled_test.py (run with pytest, as
# test.sh does), then test.sh's checks of the server log (the models' pb_utils.Logger lines, finalize counts).
decoupled_step() {
  want decoupled_test.py || return 0
  (
    cd decoupled || exit 0
    local models=models
    python_model ../../python_models/identity_fp32 $models
    python_model ../../python_models/execute_cancel $models
    echo "model_transaction_policy { decoupled: True }" >>$models/execute_cancel/config.pbtxt
    python_model ../../python_models/response_sender_until_cancelled $models
    python_model ../../python_models/dlpack_add_sub $models
    mkdir -p $models/square_int32/1
    cp "$QA_SRC/python_backend/examples/decoupled/square_model.py" $models/square_int32/1/model.py
    cp "$QA_SRC/python_backend/examples/decoupled/square_config.pbtxt" $models/square_int32/config.pbtxt
    SERVER_LOG=./decoupled_server.log server_start --model-repository="$PWD/$models" --log-verbose=1
    # test_decoupled_bls moves tensors to CUDA in its model's response thread: without a GPU that thread dies and
    # the test waits for a response forever (and its time-out would cost every other method's result).
    # (-k, not --deselect: --deselect takes a prefix, which would drop every test_decoupled_bls_* too.)
    run_pytest --junitxml=decoupled.report.xml -k 'not test_decoupled_bls or test_decoupled_bls_' decoupled_test.py
    echo -e "skip\tdecoupled_test.DecoupledTest.test_decoupled_bls\tnot run: its model needs CUDA (torch .to('cuda'))" >>"$QA_RESULTS"
    server_stop
    local text
    for text in "Specific Msg!" "Info Msg!" "Warning Msg!" "Error Msg!"; do
      grep -q "$text" decoupled_server.log
      record_check "decoupled/test.sh: server log has '$text'" $? "no line with '$text' in decoupled_server.log"
    done
    for text in "Finalize invoked" "Finalize complete..."; do
      local count; count=$(grep -c "$text" decoupled_server.log)
      [ "$count" = 3 ]
      record_check "decoupled/test.sh: '$text' 3 times" $? "'$text' $count times in decoupled_server.log"
    done
  )
}
