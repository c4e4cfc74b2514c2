"""TickStock's event detectors (HighLow, Trend, Surge) and the EventDetector that runs them per tick."""

from tickstock.legacy.detectors.event_detector import EventDetector
from tickstock.legacy.detectors.highlow import HighLowDetector
from tickstock.legacy.detectors.surge import SurgeDetector
from tickstock.legacy.detectors.trend import TrendDetector

__all__ = ["EventDetector", "HighLowDetector", "SurgeDetector", "TrendDetector"]
