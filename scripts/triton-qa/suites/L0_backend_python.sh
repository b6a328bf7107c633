# qa/L0_backend_python/test.sh, its python_test.py step. TEST_JETSON=1 skips the GPU tensor tests and the
# shared-memory leak probe, as Triton does on Jetson. Its sub-suites (bls, decoupled, ...) are other folders.
suite_main() {
  want python_test.py || return 0
  export TEST_JETSON=1 TRITON_DIR="$QA_RUN"   # init_args expects its repository under $TRITON_DIR/qa/L0_backend_python
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
