"""Leaf infrastructure every app may import: the Redis client factory and the retry policy.

It imports no app and not ``ticker_project`` (the top of the graph, which only wires things).
"""
