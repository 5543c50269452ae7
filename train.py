"""Train the topic-stance model: `python train.py [--model bundled|mpnet|HUB_ID|DIR] [--epochs N] ...`

The run itself reads top to bottom in topic_stance/train.py (phases: arguments -> splits ->
teacher targets -> tokenise -> model -> Trainer -> calibrate -> evaluate -> save); its helpers
are in topic_stance/training.py. Every stock `transformers.TrainingArguments` flag works here.
"""

import sys

from topic_stance.cli import main

if __name__ == "__main__":
    main(["train", *sys.argv[1:]])
