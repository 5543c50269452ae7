"""One encoder, two heads: multi-label topics (sigmoid) and single-label stance (softmax).

One forward pass answers both questions, so inference costs half of two separate models.
The config carries everything needed to turn logits into labels (label names, per-topic
thresholds, per-head temperatures), so a saved folder is self-describing.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from transformers import AutoConfig, AutoModel, PreTrainedConfig, PreTrainedModel
from transformers.utils import ModelOutput

from .labels import STANCES, TOPICS


class TopicStanceConfig(PreTrainedConfig):
    """Config of the two-head model; `encoder` is the nested config of any BERT-like encoder.

    >>> from transformers import BertConfig
    >>> config = TopicStanceConfig(encoder=BertConfig(hidden_size=32), base_model="my-bert")
    >>> config.topic_labels[0], config.topic_thresholds[0]
    ('taiwan', 0.5)
    """

    model_type = "topic_stance"
    sub_configs = {"encoder": AutoConfig}

    def __init__(
        self,
        encoder: PreTrainedConfig | dict | None = None,
        base_model: str | None = None,
        topic_labels: list[str] | tuple[str, ...] = TOPICS,
        stance_labels: list[str] | tuple[str, ...] = STANCES,
        topic_thresholds: list[float] | None = None,
        topic_temperature: float = 1.0,
        stance_temperature: float = 1.0,
        topic_pos_weight: list[float] | None = None,
        stance_class_weight: list[float] | None = None,
        pooling: str = "mean",
        classifier_dropout: float = 0.1,
        window_length: int = 128,
        window_stride: int = 64,
        distill_alpha: float = 0.0,
        feature_dims: int = 0,
        feature_weight: float = 0.0,
        **kwargs,
    ):
        if isinstance(encoder, dict):
            encoder = AutoConfig.for_model(**encoder)
        self.encoder = encoder
        self.base_model = base_model
        self.topic_labels = list(topic_labels)
        self.stance_labels = list(stance_labels)
        self.topic_thresholds = list(topic_thresholds) if topic_thresholds else [0.5] * len(self.topic_labels)
        self.topic_temperature = float(topic_temperature)
        self.stance_temperature = float(stance_temperature)
        self.topic_pos_weight = list(topic_pos_weight) if topic_pos_weight else None
        self.stance_class_weight = list(stance_class_weight) if stance_class_weight else None
        if pooling not in ("mean", "cls"):
            raise ValueError(f"pooling must be 'mean' or 'cls', got {pooling!r}")
        self.pooling = pooling
        self.classifier_dropout = classifier_dropout
        # tokens per window and overlap of a longer paragraph's windows: the same in calibration and prediction
        # (not `max_length`, which transformers reserves for generation)
        self.window_length = int(window_length)
        self.window_stride = int(window_stride)
        self.distill_alpha = float(distill_alpha)  # weight of the teacher's soft targets in the loss
        # representation distillation (training only): a linear map from the pooled vector to the teacher's
        # PCA-reduced pooled vector, with this weight on its mean squared error
        self.feature_dims = int(feature_dims)
        self.feature_weight = float(feature_weight)
        super().__init__(**kwargs)

    @property
    def hidden_size(self) -> int:
        return self.encoder.hidden_size


@dataclass
class TopicStanceOutput(ModelOutput):
    """Raw logits of both heads (temperatures are applied by `probabilities`, not here)."""

    loss: torch.Tensor | None = None
    topic_logits: torch.Tensor | None = None
    stance_logits: torch.Tensor | None = None


class TopicStanceModel(PreTrainedModel):
    """Shared encoder + topic head (4 sigmoid outputs) + stance head (3-way softmax).

    Loss = BCE over topics (with per-label `pos_weight` against imbalance)
         + cross-entropy over stance (with class weights).

    `TopicStanceModel.from_encoder(hub_id_or_folder)` starts the encoder from pre-trained weights;
    a forward pass on a batch of 1 gives `topic_logits` of shape (1, 4) and `stance_logits` (1, 3):

    >>> from transformers import BertConfig
    >>> import torch
    >>> model = TopicStanceModel(TopicStanceConfig(encoder=BertConfig(hidden_size=32, num_hidden_layers=1,
    ...                                                               num_attention_heads=2, intermediate_size=64)))
    >>> out = model(input_ids=torch.tensor([[101, 2000, 102]]))
    >>> out.topic_logits.shape, out.stance_logits.shape
    (torch.Size([1, 4]), torch.Size([1, 3]))
    """

    config_class = TopicStanceConfig
    base_model_prefix = "encoder"
    supports_gradient_checkpointing = True
    _supports_sdpa = True

    def __init__(self, config: TopicStanceConfig):
        super().__init__(config)
        self.encoder = AutoModel.from_config(config.encoder)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.topic_head = nn.Linear(config.hidden_size, len(config.topic_labels))
        self.stance_head = nn.Linear(config.hidden_size, len(config.stance_labels))
        self.feature_head = nn.Linear(config.hidden_size, config.feature_dims) if config.feature_dims else None
        self.post_init()

    @classmethod
    def from_encoder(cls, name_or_path: str, encoder_overrides: dict | None = None, **config_kwargs) -> "TopicStanceModel":
        """A new model whose encoder starts from pre-trained weights (a hub id or a folder); `encoder_overrides`
        replace fields of the encoder's config (e.g. its dropout)."""
        encoder = AutoModel.from_pretrained(name_or_path, **(encoder_overrides or {}))
        config = TopicStanceConfig(encoder=encoder.config, base_model=str(name_or_path), **config_kwargs)
        model = cls(config)
        model.encoder = encoder
        return model

    def _init_weights(self, module: nn.Module) -> None:
        if any(module is head for head in (self.topic_head, self.stance_head, self.feature_head)):
            nn.init.normal_(module.weight, std=0.02)
            nn.init.zeros_(module.bias)
        elif hasattr(self, "encoder") and any(module is m for m in self.encoder.modules()):
            self.encoder._init_weights(module)

    def pool(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """(batch, seq, hidden) -> (batch, hidden): masked mean, or the [CLS] vector."""
        if self.config.pooling == "cls":
            return hidden[:, 0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (batch, seq, 1)
        return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-6)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        topic_labels: torch.Tensor | None = None,
        stance_label: torch.Tensor | None = None,
        soft_topic: torch.Tensor | None = None,
        soft_stance: torch.Tensor | None = None,
        gold_mask: torch.Tensor | None = None,
        soft_features: torch.Tensor | None = None,
        **kwargs,
    ) -> TopicStanceOutput:
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        encoder_inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
        if token_type_ids is not None:
            encoder_inputs["token_type_ids"] = token_type_ids
        hidden = self.encoder(**encoder_inputs).last_hidden_state
        pooled_raw = self.pool(hidden, attention_mask)
        pooled = self.dropout(pooled_raw)
        topic_logits = self.topic_head(pooled)
        stance_logits = self.stance_head(pooled)
        loss = None
        if topic_labels is not None and stance_label is not None:
            loss = self.loss(topic_logits, stance_logits, topic_labels, stance_label, gold_mask)
            if soft_topic is not None and soft_stance is not None and self.config.distill_alpha > 0:
                alpha = self.config.distill_alpha
                loss = (1 - alpha) * loss + alpha * self.distillation_loss(topic_logits, stance_logits,
                                                                           soft_topic, soft_stance)
            if soft_features is not None and self.feature_head is not None and self.config.feature_weight > 0:
                loss = loss + self.config.feature_weight * nn.functional.mse_loss(
                    self.feature_head(pooled_raw).float(), soft_features.float())
        return TopicStanceOutput(loss=loss, topic_logits=topic_logits, stance_logits=stance_logits)

    def loss(self, topic_logits, stance_logits, topic_labels, stance_label, gold_mask=None) -> torch.Tensor:
        """Sum of the two heads' losses, each weighted against its own label imbalance.

        `gold_mask` (1 = gold label, 0 = teacher-labelled transfer text whose label columns are
        placeholders) restricts this loss to gold rows; without it every row counts.
        """
        pos_weight = class_weight = None
        if self.config.topic_pos_weight:
            pos_weight = torch.tensor(self.config.topic_pos_weight, device=topic_logits.device)
        if self.config.stance_class_weight:
            class_weight = torch.tensor(self.config.stance_class_weight, device=stance_logits.device)
        stance_label = stance_label.long()
        mask = torch.ones(len(stance_label), device=stance_logits.device) if gold_mask is None else gold_mask.float()
        topic_loss = nn.functional.binary_cross_entropy_with_logits(
            topic_logits.float(), topic_labels.float(), pos_weight=pos_weight, reduction="none").mean(-1)
        stance_loss = nn.functional.cross_entropy(stance_logits.float(), stance_label, weight=class_weight,
                                                  reduction="none")
        row_weight = mask * (class_weight[stance_label] if class_weight is not None else 1.0)
        # weighted means over gold rows: equal to the library's own reductions when every row is gold
        return (mask * topic_loss).sum() / mask.sum().clamp(min=1.0) \
            + (stance_loss * mask).sum() / row_weight.sum().clamp(min=1e-12)

    def drop_feature_head(self) -> None:
        """Remove the training-only representation-distillation map before the model is saved."""
        self.feature_head = None
        self.config.feature_dims, self.config.feature_weight = 0, 0.0

    @staticmethod
    def distillation_loss(topic_logits, stance_logits, soft_topic, soft_stance) -> torch.Tensor:
        """Cross-entropy against the teacher's calibrated probabilities (soft targets), both heads."""
        topic = nn.functional.binary_cross_entropy_with_logits(topic_logits.float(), soft_topic.float())
        stance = -(soft_stance.float() * nn.functional.log_softmax(stance_logits.float(), -1)).sum(-1).mean()
        return topic + stance


AutoConfig.register(TopicStanceConfig.model_type, TopicStanceConfig, exist_ok=True)
AutoModel.register(TopicStanceConfig, TopicStanceModel, exist_ok=True)
