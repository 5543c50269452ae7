#!/bin/bash
# Equal training passes (results/variance-gpu-round2.json). The f<share> rows used a transfer_fraction flag
# that was removed afterwards (no share beat the full transfer set); those lines no longer run as written.
source benchmarks/gpu/common.sh
run f05 --variants transfer --epochs 2.0 --name f0.5-2ep --set transfer_fraction=0.5 &
run f033 --variants transfer --epochs 2.35 --name f0.33-2.35ep --set transfer_fraction=0.33 &
run f025 --variants transfer --epochs 2.5 --name f0.25-2.5ep --set transfer_fraction=0.25 &
run d325 --variants distilled --epochs 3.25 --name 3.25ep &
run f1b --variants transfer --name f1-1.5ep --seeds 4 5 6 &
run f05b --variants transfer --epochs 2.0 --name f0.5-2ep --set transfer_fraction=0.5 --seeds 4 5 6 &
wait
collect
