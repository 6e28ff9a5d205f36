"""Encryption at rest and blind indexes: what makes a stolen copy worthless."""
