"""Who is who: normalising what sources say and deciding which child it is about."""
