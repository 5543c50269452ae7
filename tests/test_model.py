import torch
from transformers import AutoConfig, AutoModel, AutoTokenizer

from topic_stance.model import TopicStanceConfig, TopicStanceModel


def batch(tokenizer):
    return tokenizer(["wang warned on tariffs", "constructive talks on taiwan and trade today"],
                     padding=True, return_tensors="pt")


def test_forward_shapes_and_loss(tiny_encoder_dir):
    model = TopicStanceModel.from_encoder(str(tiny_encoder_dir), topic_pos_weight=[2.0, 1, 1, 1],
                                          stance_class_weight=[1.0, 2.0, 1.0])
    inputs = batch(AutoTokenizer.from_pretrained(tiny_encoder_dir))
    out = model(**inputs, topic_labels=torch.tensor([[0, 0, 1, 0], [1, 0, 1, 0]], dtype=torch.float),
                stance_label=torch.tensor([0, 1]))
    assert out.topic_logits.shape == (2, 4) and out.stance_logits.shape == (2, 3)
    expected = (torch.nn.functional.binary_cross_entropy_with_logits(
        out.topic_logits, torch.tensor([[0, 0, 1, 0], [1, 0, 1, 0]], dtype=torch.float),
        pos_weight=torch.tensor([2.0, 1, 1, 1]))
        + torch.nn.functional.cross_entropy(out.stance_logits, torch.tensor([0, 1]), weight=torch.tensor([1.0, 2.0, 1.0])))
    assert torch.allclose(out.loss, expected, atol=1e-6)
    out.loss.backward()
    assert model.topic_head.weight.grad is not None


def test_encoder_weights_are_the_pretrained_ones(tiny_encoder_dir):
    model = TopicStanceModel.from_encoder(str(tiny_encoder_dir))
    reference = AutoModel.from_pretrained(tiny_encoder_dir)
    assert torch.equal(model.encoder.embeddings.word_embeddings.weight, reference.embeddings.word_embeddings.weight)


def test_save_and_reload_give_identical_outputs(tiny_encoder_dir, tmp_path):
    torch.manual_seed(1)
    model = TopicStanceModel.from_encoder(str(tiny_encoder_dir), topic_thresholds=[0.3, 0.4, 0.5, 0.6],
                                          topic_temperature=1.7).eval()
    inputs = batch(AutoTokenizer.from_pretrained(tiny_encoder_dir))
    before = model(**inputs)
    model.save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").exists()
    for loaded in (TopicStanceModel.from_pretrained(tmp_path), AutoModel.from_pretrained(tmp_path)):
        assert isinstance(loaded, TopicStanceModel)
        after = loaded.eval()(**inputs)
        assert torch.equal(before.topic_logits, after.topic_logits)
        assert torch.equal(before.stance_logits, after.stance_logits)
        assert loaded.config.topic_thresholds == [0.3, 0.4, 0.5, 0.6]
        assert loaded.config.topic_temperature == 1.7
    config = AutoConfig.from_pretrained(tmp_path)
    assert isinstance(config, TopicStanceConfig) and config.topic_labels[0] == "taiwan"


def test_distillation_loss_mixes_soft_targets(tiny_encoder_dir):
    model = TopicStanceModel.from_encoder(str(tiny_encoder_dir), distill_alpha=0.5).eval()
    inputs = {"input_ids": torch.tensor([[2, 5, 6, 3]]), "topic_labels": torch.tensor([[1.0, 0, 0, 0]]),
              "stance_label": torch.tensor([0])}
    gold_only = model(**inputs).loss
    soft = {"soft_topic": torch.tensor([[0.9, 0.1, 0.1, 0.1]]), "soft_stance": torch.tensor([[0.8, 0.1, 0.1]])}
    mixed = model(**inputs, **soft).loss
    out = model(input_ids=inputs["input_ids"])
    expected = 0.5 * gold_only + 0.5 * model.distillation_loss(out.topic_logits, out.stance_logits, **soft)
    assert torch.allclose(mixed, expected, atol=1e-6) and not torch.allclose(mixed, gold_only)


def test_gold_loss_is_the_weighted_library_loss_and_the_mask_drops_transfer_rows(tiny_encoder_dir):
    model = TopicStanceModel.from_encoder(str(tiny_encoder_dir), topic_pos_weight=[1.0, 2.0, 3.0, 1.5],
                                          stance_class_weight=[0.5, 1.0, 2.0]).eval()
    ids = torch.tensor([[2, 5, 6, 3], [2, 7, 8, 3], [2, 9, 4, 3]])
    topics, stance = torch.tensor([[1.0, 0, 0, 0], [0, 1.0, 1.0, 0], [0, 0, 0, 0]]), torch.tensor([0, 2, 1])
    out = model(input_ids=ids)
    reference = torch.nn.functional.binary_cross_entropy_with_logits(
        out.topic_logits, topics, pos_weight=torch.tensor([1.0, 2.0, 3.0, 1.5])) + torch.nn.functional.cross_entropy(
        out.stance_logits, stance, weight=torch.tensor([0.5, 1.0, 2.0]))
    assert torch.allclose(model(input_ids=ids, topic_labels=topics, stance_label=stance).loss, reference, atol=1e-6)
    # a row with gold_mask 0 (transfer text, placeholder labels) changes nothing in the gold loss
    masked = model(input_ids=ids, topic_labels=topics, stance_label=stance, gold_mask=torch.tensor([1.0, 1.0, 0.0])).loss
    first_two = model(input_ids=ids[:2], topic_labels=topics[:2], stance_label=stance[:2]).loss
    assert torch.allclose(masked, first_two, atol=1e-6)
    assert model(input_ids=ids, topic_labels=topics, stance_label=stance, gold_mask=torch.zeros(3)).loss == 0
