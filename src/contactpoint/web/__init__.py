"""The web service: JSON API and GOV.UK-styled pages (thin: parse, call, render)."""
