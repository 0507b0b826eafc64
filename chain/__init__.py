"""The live option chain: chain analytics from the published ticks, its API and admin page."""
