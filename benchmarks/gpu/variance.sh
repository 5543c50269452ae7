#!/bin/bash
# Recipes after data round 2 (results/variance-gpu-round2.json): gold only, distilled, transfer at 1.5/2/3 epochs.
source benchmarks/gpu/common.sh
run gold --variants gold --name gpu &
run distilled --variants distilled --name gpu &
run transfer --variants transfer --name gpu &
run transfer2 --variants transfer --epochs 2 --name gpu-2ep &
run transfer3 --variants transfer --epochs 3 --name gpu-3ep &
wait
collect
