"""Multi-objective optimization core: pure tensor math over objectives and their gradients.

For any PyTorch training loop: :class:`MultiObjective` — per-objective losses and the shared features in,
``.grad`` of the shared module and every head out, a :class:`StepRecord` back (docs/moo-api.md):

    moo = MultiObjective(["asr", "st"], shared=model.encoder, hierarchy={"formulation": "vs"}, mode="fast")
    record = moo.backward({"asr": asr_losses, "st": st_losses}, features)   # then optimizer.step()

Every method reduces, per step, to weights w (M,) over objectives computed from Gram information
(K = G Gᵀ, and K12 = G1 G2ᵀ for double sampling); the trainer applies them as wᵀG or as one backward
of Σ w_m l_m. Nothing here knows what the objectives are. The method: docs/method.md.
"""

from .api import MultiObjective
from .base import GramInfo, Weighting, cosine_from_gram, normalized_gram
from .conflicts import ConflictStats
from .engine import GradientEngine, NonFiniteStep, StepTerms
from .groups import MOOInputError, layer_groups_of
from .hierarchy import FORMULATIONS, Hierarchy, HierarchyConfig, default_penalties
from .layers import LayerSelector, conflict_score, layer_grams
from .mgda import mgda_weights, mgda_weights_from_gram, solve_simplex_qp
from .modo import MoDo
from .presets import PRESETS, levels_by_tag, preset_levels
from .record import StepRecord
from .schedule import PenaltySchedule
from .simplex import project_simplex
from .sketch import GramSketch
from .torchjd import from_torchjd, to_torchjd
from .weighting import CAGrad, Linear, MGDA, PCGrad, UPGrad, WEIGHTINGS, build_weighting

__all__ = [
    "CAGrad", "ConflictStats", "FORMULATIONS", "GradientEngine", "GramInfo", "GramSketch", "Hierarchy",
    "HierarchyConfig", "LayerSelector", "Linear", "MGDA", "MOOInputError", "MoDo", "MultiObjective",
    "NonFiniteStep", "PCGrad", "PRESETS", "PenaltySchedule", "StepRecord", "StepTerms", "UPGrad", "WEIGHTINGS",
    "Weighting", "build_weighting", "conflict_score", "cosine_from_gram", "default_penalties", "from_torchjd",
    "layer_grams", "layer_groups_of", "levels_by_tag", "mgda_weights", "mgda_weights_from_gram",
    "normalized_gram", "preset_levels", "project_simplex", "solve_simplex_qp", "to_torchjd",
]
