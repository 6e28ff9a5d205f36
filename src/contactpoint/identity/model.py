"""The trained Fellegi-Sunter model: level weights, name frequencies, thresholds.

The model is data, shipped as a versioned JSON file (``models/``) made by
``contactpoint linkage train``; the online matcher only loads and applies it.
A pair's match weight is the prior log-odds plus, for every comparison, the
weight ``log2(m / u)`` of the level the pair falls in; an exact name match is
weighted by how rare that name is (term-frequency adjustment), so two records
agreeing on "Smith" count for less than two agreeing on "Szczepanska".
"""

from __future__ import annotations

import copy
import json
import math
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from contactpoint.errors import ContactPointError
from contactpoint.identity.comparisons import COMPARISONS, F, G, Levels
from contactpoint.identity.features import MatchFeatures

FORMAT = "contactpoint-match-model"
SHIPPED = "match-model-v1.json"


@dataclass(frozen=True)
class Thresholds:
    upper: float
    """Link automatically at or above this match weight."""
    lower: float
    """Below this, a new child; between the two, the review queue."""
    weak: float
    """A candidate at or above this is close enough to pass on a shield."""
    margin: float
    """A rival within this many bits of the best candidate makes a link ambiguous."""


DEFAULT_THRESHOLDS = Thresholds(upper=4.0, lower=-2.0, weak=-12.0, margin=10.0)
"""Policy, in bits of match weight, set against the linkage benchmark
(``docs/linkage.md``): link at odds of about 16 to 1 with every safety rule
satisfied; review from about 1 in 4; a shield passes on from about 1 in 4,000."""


@dataclass
class MatchModel:
    version: str
    prior: float
    """Probability that two records drawn at random are the same child (lambda)."""
    m: list[list[float]]
    u: list[list[float]]
    given_frequency: dict[str, float]
    family_frequency: dict[str, float]
    rare_frequency: float
    """The frequency assumed for a name the tables do not list (floor)."""
    thresholds: Thresholds
    provenance: dict[str, Any] = field(default_factory=dict)
    _weights: list[list[float]] = field(init=False, repr=False)
    _prior_weight: float = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.m) != len(COMPARISONS) or len(self.u) != len(COMPARISONS):
            raise ContactPointError("The match model does not fit this version's comparisons.")
        weights = []
        for comparison, m_levels, u_levels in zip(COMPARISONS, self.m, self.u, strict=True):
            if len(m_levels) != len(comparison.levels) or len(u_levels) != len(m_levels):
                raise ContactPointError(
                    f"The match model's levels for {comparison.name} do not fit this version."
                )
            weights.append(
                [0.0]
                + [_log2_ratio(mv, uv) for mv, uv in zip(m_levels[1:], u_levels[1:], strict=True)]
            )
        self._weights = weights
        self._prior_weight = _log2_ratio(self.prior, 1 - self.prior)

    def for_population(self, children: int) -> MatchModel:
        """The same model with its prior set for an index of ``children`` children.

        Two random records are the same child with a probability that falls as
        the population grows (each child has a few records, while pairs grow
        with the square), so the prior trained on a sample is rescaled to the
        population the index serves.
        """
        trained_children = int(self.provenance.get("children", 0))
        if children <= 0 or trained_children <= 0:
            return self
        scaled = copy.copy(self)
        scaled.prior = self.prior * trained_children / children
        scaled.__post_init__()
        return scaled

    def level_weight(self, comparison: int, level: int) -> float:
        return self._weights[comparison][level]

    def weight(self, levels: Levels, a: MatchFeatures, b: MatchFeatures) -> float:
        total = self._prior_weight
        weights = self._weights
        for index, level in enumerate(levels):
            total += weights[index][level]
        if levels[G] == 1:
            total += self._frequency_adjustment(G, self.given_frequency.get(a.first))
        if levels[F] == 1:
            total += self._frequency_adjustment(F, self.family_frequency.get(a.family))
        return total

    def _frequency_adjustment(self, comparison: int, frequency: float | None) -> float:
        """Replace the level's average u by this name's own frequency."""
        u_average = self.u[comparison][1]
        return math.log2(u_average / max(frequency or self.rare_frequency, 1e-12))

    @staticmethod
    def probability(weight: float) -> float:
        return float(1.0 / (1.0 + 2.0 ** (-weight)))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": self.version,
            "comparisons": [
                {
                    "name": c.name,
                    "levels": [
                        {"name": name, "m": m, "u": u}
                        for name, m, u in zip(c.levels, m_levels, u_levels, strict=True)
                    ],
                }
                for c, m_levels, u_levels in zip(COMPARISONS, self.m, self.u, strict=True)
            ],
            "prior": self.prior,
            "thresholds": {
                "upper": self.thresholds.upper,
                "lower": self.thresholds.lower,
                "weak": self.thresholds.weak,
                "margin": self.thresholds.margin,
            },
            "rare_frequency": self.rare_frequency,
            "given_frequency": self.given_frequency,
            "family_frequency": self.family_frequency,
            "provenance": self.provenance,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MatchModel:
        if data.get("format") != FORMAT:
            raise ContactPointError("That file is not a ContactPoint match model.")
        names = [c["name"] for c in data["comparisons"]]
        if names != [c.name for c in COMPARISONS]:
            raise ContactPointError(
                "The match model's comparisons do not fit this version; retrain it with "
                "'contactpoint linkage train'."
            )
        for comparison, stored in zip(COMPARISONS, data["comparisons"], strict=True):
            if [level["name"] for level in stored["levels"]] != list(comparison.levels):
                raise ContactPointError(
                    f"The match model's levels for {comparison.name} do not fit this "
                    "version; retrain it with 'contactpoint linkage train'."
                )
        thresholds = data["thresholds"]
        return cls(
            version=str(data["version"]),
            prior=float(data["prior"]),
            m=[[float(level["m"]) for level in c["levels"]] for c in data["comparisons"]],
            u=[[float(level["u"]) for level in c["levels"]] for c in data["comparisons"]],
            given_frequency={k: float(v) for k, v in data["given_frequency"].items()},
            family_frequency={k: float(v) for k, v in data["family_frequency"].items()},
            rare_frequency=float(data["rare_frequency"]),
            thresholds=Thresholds(
                float(thresholds["upper"]),
                float(thresholds["lower"]),
                float(thresholds["weak"]),
                float(thresholds["margin"]),
            ),
            provenance=dict(data.get("provenance", {})),
        )

    def save(self, path: Path) -> None:
        temporary = path.with_name(f".{path.name}.partial")
        temporary.write_text(json.dumps(self.to_json(), indent=1, sort_keys=False) + "\n")
        temporary.replace(path)


def load_model(path: Path | None = None) -> MatchModel:
    """The model at ``path``, or the one shipped with this version."""
    try:
        if path is None:
            text = resources.files("contactpoint.identity").joinpath("models", SHIPPED).read_text()
        else:
            text = path.read_text(encoding="utf-8")
        return MatchModel.from_json(json.loads(text))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ContactPointError(
            f"The match model could not be read ({type(exc).__name__}); reinstall ContactPoint "
            "or point CONTACTPOINT_MATCH_MODEL at a file made by 'contactpoint linkage train'."
        ) from exc


def _log2_ratio(numerator: float, denominator: float) -> float:
    return math.log2(max(numerator, 1e-12) / max(denominator, 1e-12))
