# python_backend/examples, each laid out and run as its README says (server, then its own client).
# Not run: instance_kind (ResNet-50 weights downloaded at run time, GPU), jax (JAX), preprocessing (TensorRT).
EX="$QA_SRC/python_backend/examples"

# example NAME MODEL_DIR... -- CLIENT: a fresh repository with the models (src:dest pairs), one server, the client.
example() {
  local name=$1; shift
  want "$name" || { while [ "$1" != "--" ]; do shift; done; return 0; }
  rm -rf models; mkdir -p models
  while [ "$1" != "--" ]; do
    local model=${1%%:*} files=${1#*:}   # <model>:<model.py source>,<config.pbtxt source>
    mkdir -p "models/$model/1"
    cp "$EX/${files%%,*}" "models/$model/1/model.py"
    [ "${files#*,}" = "$files" ] || cp "$EX/${files#*,}" "models/$model/config.pbtxt"
    shift
  done
  shift
  SERVER_LOG="./server.$name.log" server_start --model-repository="$PWD/models"
  run_example "$name" "$PYTHON" "$EX/$1"
  server_stop
}

suite_main() {
  example add_sub add_sub:add_sub/model.py,add_sub/config.pbtxt -- add_sub/client.py
  example auto_complete nobatch_auto_complete:auto_complete/nobatch_model.py \
    batch_auto_complete:auto_complete/batch_model.py -- auto_complete/client.py
  example bls_sync add_sub:add_sub/model.py,add_sub/config.pbtxt bls_sync:bls/sync_model.py,bls/sync_config.pbtxt \
    pytorch:pytorch/model.py,pytorch/config.pbtxt -- bls/sync_client.py
  example bls_async add_sub:add_sub/model.py,add_sub/config.pbtxt bls_async:bls/async_model.py,bls/async_config.pbtxt \
    pytorch:pytorch/model.py,pytorch/config.pbtxt -- bls/async_client.py
  example bls_decoupled_sync bls_decoupled_sync:bls_decoupled/sync_model.py,bls_decoupled/sync_config.pbtxt \
    square_int32:decoupled/square_model.py,decoupled/square_config.pbtxt -- bls_decoupled/sync_client.py
  example bls_decoupled_async bls_decoupled_async:bls_decoupled/async_model.py,bls_decoupled/async_config.pbtxt \
    square_int32:decoupled/square_model.py,decoupled/square_config.pbtxt -- bls_decoupled/async_client.py
  example custom_metrics custom_metrics:custom_metrics/model.py,custom_metrics/config.pbtxt -- custom_metrics/client.py
  example decoupled_repeat repeat_int32:decoupled/repeat_model.py,decoupled/repeat_config.pbtxt \
    square_int32:decoupled/square_model.py,decoupled/square_config.pbtxt -- decoupled/repeat_client.py
  example decoupled_square repeat_int32:decoupled/repeat_model.py,decoupled/repeat_config.pbtxt \
    square_int32:decoupled/square_model.py,decoupled/square_config.pbtxt -- decoupled/square_client.py
  example pytorch pytorch:pytorch/model.py,pytorch/config.pbtxt -- pytorch/client.py
}
