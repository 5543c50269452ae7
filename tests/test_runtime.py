"""runtime.py: device and precision choice, machine identity."""

import pytest

from topic_stance.errors import UnsupportedSetting
from topic_stance.runtime import cpu_supports_bf16, machine_id, pick_device, pick_training_precision


def test_auto_device_and_precision_on_this_machine():
    import torch

    device = pick_device("auto")
    assert device == ("cuda" if torch.cuda.is_available() else device)
    assert pick_device("cpu") == "cpu"
    assert pick_training_precision("bf16", "cpu") == "bf16"


@pytest.mark.parametrize("native_bf16, expected", [(True, "bf16"), (False, "fp32")])
def test_auto_precision_on_a_cpu_is_bf16_only_with_native_kernels(monkeypatch, native_bf16, expected):
    import topic_stance.runtime as runtime

    monkeypatch.setattr(runtime, "cpu_supports_bf16", lambda: native_bf16)
    assert pick_training_precision("auto", "cpu") == expected
    assert pick_training_precision("auto", "mps") == "fp32"


@pytest.mark.parametrize("call", [lambda: pick_device("tpu"), lambda: pick_training_precision("int8", "cpu"),
                                  lambda: pick_training_precision("fp16", "cpu")])
def test_bad_settings_are_value_errors_with_a_reason(call):
    with pytest.raises(UnsupportedSetting) as info:
        call()
    assert isinstance(info.value, ValueError) and str(info.value)


def test_machine_id_names_the_cpu_and_cores():
    import os

    assert machine_id().endswith(f"x{os.cpu_count()}")
    assert isinstance(cpu_supports_bf16(), bool)
