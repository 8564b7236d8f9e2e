"""What a lesson claims, as data: the arms it compares (changes to the lesson's config), the metric, and the
expected direction of each comparison. `kdw lessons check` runs the arms over seeds and judges the claim.

In a lesson file:

    claim:
      says: "KD beats a student trained on labels alone"
      metric: test_acc                  # a final metric of the runs; higher is better
      arms:
        KD: {}                          # the lesson's config as it is
        baseline: {method: baseline}    # the lesson's config with these fields changed
      expect:
        - {better: KD, worse: baseline, min_effect: 0.02, every_seed: true}
        - {same: [KD, KD α 1], tolerance: 0.01}      # equal within ±0.01 (an equivalence claim)

A side of a comparison is an arm, or a gain `A - B` (per seed, arm A's value minus arm B's): `{better: KD 1k -
baseline 1k, worse: KD 10k - baseline 10k}` says KD gains more with 1k images than with 10k.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..config import RunConfig
from ..errors import WorkbenchError

CLAIM_KEYS = ("says", "metric", "arms", "expect")
EXPECT_KEYS = ("better", "worse", "same", "tolerance", "metric", "min_effect", "every_seed")
GAIN_SEPARATOR = " - "


@dataclass(frozen=True)
class Expectation:
    """One comparison a claim expects. `better`: side `first` scores higher than side `second` on `metric`, by at
    least `min_effect` (in the metric's own units) and, with `every_seed`, on every seed. `same`: the two sides
    differ by less than `tolerance`. A side is an arm name or a gain `A - B`."""

    first: str
    second: str
    metric: str
    kind: str = "better"
    min_effect: float = 0.0
    every_seed: bool = False
    tolerance: float = 0.0

    def arms(self) -> set[str]:
        """The arms the comparison reads."""
        return {arm for side in (self.first, self.second) for arm in side.split(GAIN_SEPARATOR)}

    def describe(self) -> str:
        """`KD > baseline on test_acc (by ≥ 0.02, every seed)` or `KD ≈ KD α 1 on test_acc (within ±0.01)`."""
        if self.kind == "same":
            return f"({self.first}) ≈ ({self.second}) on {self.metric} (within ±{self.tolerance:g})"
        extras = [f"by ≥ {self.min_effect:g}"] if self.min_effect else []
        extras += ["every seed"] if self.every_seed else []
        return f"({self.first}) > ({self.second}) on {self.metric}" + (f" ({', '.join(extras)})" if extras else "")


@dataclass(frozen=True)
class Claim:
    """A lesson's claim: its sentence, the arms (name -> config changes) and the expected comparisons."""

    says: str
    metric: str
    arms: dict[str, dict[str, Any]]
    expect: tuple[Expectation, ...]

    def arm_config(self, base: dict[str, Any], arm: str, seed: int) -> RunConfig:
        """The validated config of `arm` at `seed`: the lesson's config with the arm's changes."""
        values = {**base, **self.arms[arm], "seed": seed}
        values["name"] = f"{values.get('name') or 'lesson'} · {arm} · seed {seed}"
        return RunConfig.from_dict(values)


def parse_claim(data: Any, base: dict[str, Any], source: str) -> Claim:
    """Check a lesson file's `claim` mapping against the lesson's config; WorkbenchError naming what is wrong."""
    if not isinstance(data, dict) or set(data) - set(CLAIM_KEYS) or not {"says", "arms", "expect"} <= set(data):
        raise WorkbenchError(f"{source}: claim holds says, arms, expect and optionally metric")
    metric = str(data.get("metric", "test_acc"))
    arms = data["arms"]
    if not isinstance(arms, dict) or len(arms) < 2 or not all(isinstance(v or {}, dict) for v in arms.values()):
        raise WorkbenchError(f"{source}: claim arms must map at least two arm names to config changes")
    arms = {str(name): dict(changes or {}) for name, changes in arms.items()}
    for name, changes in arms.items():
        try:
            RunConfig.from_dict({**base, **changes})
        except WorkbenchError as error:
            raise WorkbenchError(f"{source}: arm {name!r}: {error}") from None
    expectations = data["expect"]
    if not isinstance(expectations, list) or not expectations:
        raise WorkbenchError(f"{source}: claim expect must list at least one comparison")
    parsed = tuple(_parse_expectation(item, arms, metric, source) for item in expectations)
    return Claim(str(data["says"]), metric, arms, parsed)


def _parse_expectation(item: Any, arms: dict[str, dict[str, Any]], metric: str, source: str) -> Expectation:
    ordered = isinstance(item, dict) and {"better", "worse"} <= set(item) and "same" not in item
    equal = (
        isinstance(item, dict)
        and "same" in item
        and isinstance(item["same"], list)
        and len(item["same"]) == 2
        and "tolerance" in item
    )
    if not isinstance(item, dict) or set(item) - set(EXPECT_KEYS) or not (ordered or equal):
        raise WorkbenchError(
            f"{source}: each expected comparison holds better and worse (optionally metric, "
            "min_effect, every_seed), or same: [A, B] with a tolerance"
        )
    first, second = (item["better"], item["worse"]) if ordered else item["same"]
    for side in (str(first), str(second)):
        for arm in side.split(GAIN_SEPARATOR):
            if arm not in arms:
                raise WorkbenchError(f"{source}: expect names arm {arm!r}, which the claim does not define")
    try:
        min_effect, tolerance = float(item.get("min_effect", 0.0)), float(item.get("tolerance", 0.0))
    except (TypeError, ValueError):
        raise WorkbenchError(f"{source}: min_effect and tolerance must be numbers") from None
    return Expectation(
        str(first),
        str(second),
        str(item.get("metric", metric)),
        "better" if ordered else "same",
        min_effect,
        bool(item.get("every_seed", False)),
        tolerance,
    )
