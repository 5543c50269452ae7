#!/bin/bash
# Ran on a lent H200 (device tool: the repo copied there, $OUT collected). Needs, beside the repo: .gpu/minilm
# (the bundled all-MiniLM-L6-v2 folder with its weights saved as fp16 model.fp16.safetensors, to fit the
# 64 MiB transfer) and .whl/ (py3.12 wheels of datasets, evaluate, dill, multiprocess missing there).
# Student hyper-parameter sweep on the lent GPU: 3 seeds per config, configs in parallel.
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONUNBUFFERED=1
python3 - <<'PY' || exit 1
from safetensors.torch import load_file, save_file
import torch, transformers, datasets, evaluate, pyarrow
sd = load_file(".gpu/minilm/model.fp16.safetensors")
save_file({k: (v.float() if v.is_floating_point() else v).contiguous() for k, v in sd.items()}, ".gpu/minilm/model.safetensors")
print("torch", torch.__version__, "transformers", transformers.__version__, "datasets", datasets.__version__,
      "pyarrow", pyarrow.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0), flush=True)
import topic_stance.train
PY
rm -f .gpu/minilm/model.fp16.safetensors
mkdir -p /tmp/res
run() {  # name, then bench_variance flags
  name=$1; shift
  timeout ${BUDGET:-420} python3 benchmarks/bench_variance.py --variants transfer --seeds 1 2 3 --model .gpu/minilm \
    --name "$name" --output /tmp/res/$name.json "$@" > /tmp/res/$name.log 2>&1
  echo "$name exit $?"
}
P="precision=fp32"
run base --set $P &
run lr2e-4 --set $P learning_rate=2e-4 &
run lr5e-5 --set $P learning_rate=5e-5 &
run bs32 --set $P per_device_train_batch_size=32 learning_rate=2e-4 &
run t4 --temperature 4 --set $P &
run a0.95 --alpha 0.95 --set $P &
run wd0.1 --set $P weight_decay=0.1 &
run warm0 --set $P warmup_steps=0 &
run cosine --set $P lr_scheduler_type=cosine &
run ep3 --epochs 3 --set $P &
wait
nvidia-smi --query-gpu=memory.used,utilization.gpu --format=csv
grep -h '^{"variant"' /tmp/res/*.log > $OUT/runs.jsonl
tail -n 25 /tmp/res/*.log > $OUT/tails.txt
cat $OUT/runs.jsonl | wc -l
