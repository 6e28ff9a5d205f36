"""The server-rendered pages, in the GOV.UK Design System: one module per area of work."""
