"""Effect suggestions, mix recommendations, renders and DAW-native mapping (the fx capability).

    from grym_bridge.fx import FxService
    fx = FxService(config)
    suggestion = fx.suggest("loop.wav", style="warm", target="streaming")   # chain + reasons
    render = fx.render("loop.wav", suggestion.chain_spec(), ab=True)        # renders/ + provenance
    reaper = fx.map(suggestion.chain_spec(), "reaper")                      # ReaEQ, ReaComp, ...

Rendering itself lives in the top-level `plugin_host` package.
"""

from grym_bridge.fx.daw_map import DawMapping, map_chain
from grym_bridge.fx.mix import MixRecommendation, recommend_mix
from grym_bridge.fx.service import FxService
from grym_bridge.fx.styles import STYLES
from grym_bridge.fx.suggest import suggest
from grym_bridge.fx.targets import DESTINATIONS, loudness_target
from grym_bridge.fx.types import LoudnessTarget, Reason, Suggestion

__all__ = [
    "DESTINATIONS", "DawMapping", "FxService", "LoudnessTarget", "MixRecommendation", "Reason", "STYLES",
    "Suggestion", "loudness_target", "map_chain", "recommend_mix", "suggest",
]
