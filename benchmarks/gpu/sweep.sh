#!/bin/bash
# Student hyper-parameter sweep (results/sweep-gpu.json): the transfer recipe, one config per process.
source benchmarks/gpu/common.sh
run base --variants transfer --name base &
run lr2e-4 --variants transfer --name lr2e-4 --set learning_rate=2e-4 &
run lr5e-5 --variants transfer --name lr5e-5 --set learning_rate=5e-5 &
run bs32 --variants transfer --name bs32 --set per_device_train_batch_size=32 learning_rate=2e-4 &
run t4 --variants transfer --name t4 --temperature 4 &
run a0.95 --variants transfer --name a0.95 --alpha 0.95 &
run wd0.1 --variants transfer --name wd0.1 --set weight_decay=0.1 &
run warm0 --variants transfer --name warm0 --set warmup_steps=0 &
run cosine --variants transfer --name cosine --set lr_scheduler_type=cosine &
run ep3 --variants transfer --name ep3 --epochs 3 &
wait
collect
