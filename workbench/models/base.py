"""FeatureModel: the base class every model of the zoo subclasses."""

from __future__ import annotations

from collections.abc import Mapping

from torch import Tensor, nn


class FeatureModel(nn.Module):
    """A classifier built as stem -> named blocks -> head -> classifier, exposing its features.

    ``forward(x)`` returns logits; ``forward_features(x)`` returns the same logits plus an
    ordered dict of intermediate features, shallow to deep: one entry per block (named in
    ``feature_names``) followed by ``"embedding"``, the (N, D) output of ``head`` that feeds
    ``classifier`` (the final ``nn.Linear``). Both share one code path so they cannot disagree.
    """

    def __init__(
        self,
        stem: nn.Module,
        blocks: Mapping[str, nn.Module],
        head: nn.Module,
        classifier: nn.Linear,
    ) -> None:
        super().__init__()
        self.name = type(self).__name__.lower()
        self.stem = stem
        self.blocks = nn.ModuleDict(blocks)
        self.head = head
        self.classifier = classifier
        self.feature_names: tuple[str, ...] = (*self.blocks.keys(), "embedding")
        self.apply(_init_module)

    def forward(self, x: Tensor) -> Tensor:
        """Return the logits (N, num_classes) for a batch ``x``."""
        return self._run(x, None)

    def forward_features(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Return the logits and the named intermediate features, shallow to deep."""
        features: dict[str, Tensor] = {}
        logits = self._run(x, features)
        return logits, features

    def _run(self, x: Tensor, features: dict[str, Tensor] | None) -> Tensor:
        x = self.stem(x)
        for name, block in self.blocks.items():
            x = block(x)
            if features is not None:
                features[name] = x
        embedding = self.head(x)
        if features is not None:
            features["embedding"] = embedding
        return self.classifier(embedding)


def _init_module(module: nn.Module) -> None:
    """He-normal init for convolutions, unit scale and zero shift for batch norms."""
    if isinstance(module, nn.Conv2d):
        nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, nn.BatchNorm2d):
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)
