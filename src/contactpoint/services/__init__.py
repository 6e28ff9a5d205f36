"""Use cases: each state change is one function, one transaction, one audit entry."""
