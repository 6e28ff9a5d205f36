"""The tamper-evident record of every change and every look-up."""
