"""The fleet: one supervised `run_account` child per account, leases across hosts."""
