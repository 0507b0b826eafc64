"""Trading accounts: encrypted Kite credentials, client factory, login flow, session checks."""
