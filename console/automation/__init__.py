"""Automation: lanes of breakpoints per parameter, modes, touch, thinning, the live runner.

Playback itself runs in the audio kernel (:mod:`dsp.automation`); this package
is the control side: what the lanes hold, which mode each lane is in, when a
control counts as touched, how a recorded pass is thinned and merged into a
lane, and the thread that connects all of it to a running engine.
"""

from console.automation.lanes import GUARD, Lane, Point, SongAutomation, merge_pass, value_at
from console.automation.modes import MODES, LaneState, step
from console.automation.thin import thin
from console.automation.touch import TouchTracker

__all__ = ["GUARD", "MODES", "Lane", "LaneState", "Point", "SongAutomation", "TouchTracker",
           "merge_pass", "step", "thin", "value_at"]
