"""Historical Greeks: option candles fetched within Kite's limits, priced in bulk and stored."""
