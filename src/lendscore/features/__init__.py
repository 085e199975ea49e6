"""Feature engineering: supervised binning, WoE/IV, selection and interaction rules."""

from lendscore.features.binning import FeatureBinning, fit_feature_binning
from lendscore.features.woe import woe_iv

__all__ = ["FeatureBinning", "fit_feature_binning", "woe_iv"]
