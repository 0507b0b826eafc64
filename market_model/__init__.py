"""The synthetic market shared by the Kite simulator and the worker's mock mode (pure).

Index paths, the volatility smile, the option universe and the virtual clock. It imports neither
Django nor Redis nor any app: ``simulator`` (which serves it over Kite's wire format) and
``streaming.mock_source`` (which runs it in process) both import it, never each other.
"""
