"""Train the topic-stance model: `python train.py [--model bundled|tfidf|HUB_ID|DIR] [--epochs N] ...`

Read top to bottom: parse arguments -> load article-grouped splits -> build the two-head model
on the chosen encoder -> Trainer with dynamic padding, length-grouped batches and early stopping
-> fit temperatures and topic thresholds on validation -> score validation and test beside
the TF-IDF baseline -> write models/<name> atomically. See topic_stance/training.py.
"""

import sys

from topic_stance.cli import main

if __name__ == "__main__":
    main(["train", *sys.argv[1:]])
