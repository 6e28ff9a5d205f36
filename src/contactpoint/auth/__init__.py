"""Sign-in rules decidable without a database: lockout, TOTP steps, tokens, verdicts.

Kept free of I/O so every rule that protects an account can be tested by
itself, with the clock's time passed in.
"""
