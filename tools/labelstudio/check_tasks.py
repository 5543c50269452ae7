"""Check exported tasks against their labelling config with label-studio-sdk's LabelInterface.

Runs in the server venv (the SDK cannot go in the project venv; see install.sh):

    tools/labelstudio/.venv/bin/python tools/labelstudio/check_tasks.py tasks.json [tasks.config.xml]

The config must pass the SDK's schema, unique-name and toName checks; every task must carry each
`$key` the config shows; every prediction must be valid for the config (known controls, known
choices, scores in [0, 1]). Prints one line per problem and exits 1 if there is any.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def check(tasks_path: Path, config_path: Path) -> list[str]:
    from label_studio_sdk.label_interface import LabelInterface

    config = config_path.read_text(encoding="utf-8")
    interface = LabelInterface(config)
    try:
        interface.validate()
    except Exception as err:  # noqa: BLE001 - the SDK raises several kinds
        return [f"{config_path}: invalid labelling config: {err}"]
    problems = []
    tasks = json.loads(tasks_path.read_text(encoding="utf-8"))
    for number, task in enumerate(tasks, start=1):
        where = f"{tasks_path}:task #{number} [{task.get('data', {}).get('id')}]"
        missing = [obj.value_name for obj in interface.objects
                   if obj.value_is_variable and task.get("data", {}).get(obj.value_name) is None]
        if missing:
            problems.append(f"{where}: data lacks {', '.join(missing)}")
        for index, prediction in enumerate(task.get("predictions", [])):
            for error in interface.validate_prediction(prediction, return_errors=True):
                problems.append(f"{where}: predictions[{index}]: {error}")
    return problems


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or len(argv) > 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    tasks = Path(argv[0])
    config = Path(argv[1]) if len(argv) > 1 else tasks.with_name(tasks.stem + ".config.xml")
    problems = check(tasks, config)
    for problem in problems:
        print(problem)
    print(f"{len(problems)} problem(s) in {tasks} against {config}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
