"""TickStock's legacy direct path: MarketDataService → EventProcessor → detectors → publishers."""
