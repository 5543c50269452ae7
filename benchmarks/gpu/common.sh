# Sourced by the GPU comparison scripts here. They ran on a lent H200 (device tool: the repo copied there,
# $OUT collected). Needs, beside the repo: .gpu/minilm (the bundled all-MiniLM-L6-v2 folder with its weights
# saved as fp16 model.fp16.safetensors, to fit the 64 MiB transfer) and .whl/ (py3.12 wheels of datasets,
# evaluate, dill and multiprocess, missing there).
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD TOKENIZERS_PARALLELISM=false OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONUNBUFFERED=1
python3 - <<'PY' || exit 1
from safetensors.torch import load_file, save_file
import torch, transformers, datasets, pyarrow
sd = load_file(".gpu/minilm/model.fp16.safetensors")
save_file({k: (v.float() if v.is_floating_point() else v).contiguous() for k, v in sd.items()}, ".gpu/minilm/model.safetensors")
print("torch", torch.__version__, "transformers", transformers.__version__, "datasets", datasets.__version__,
      "pyarrow", pyarrow.__version__, "cuda", torch.cuda.is_available(), flush=True)
PY
mkdir -p /tmp/res

run() {  # log name, then bench_variance flags; 3 seeds in fp32 (the CPU's precision) unless the flags say more
  log=$1; shift
  timeout ${BUDGET:-420} python3 benchmarks/bench_variance.py --seeds 1 2 3 --model .gpu/minilm \
    --output /tmp/res/$log.json "$@" --set precision=fp32 > /tmp/res/$log.log 2>&1
  echo "$log exit $?"
}

collect() {  # every run's result line into $OUT/runs.jsonl, the logs' tails beside it
  grep -h '^{"variant"' /tmp/res/*.log > $OUT/runs.jsonl
  tail -n 20 /tmp/res/*.log > $OUT/tails.txt
  wc -l < $OUT/runs.jsonl
}
