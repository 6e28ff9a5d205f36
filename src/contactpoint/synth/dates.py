"""Dates relative to the reference day: ages, England's school years, whole years back.

Everything is computed from one reference day (``as_of``) so that a run is
reproducible and no generated date lies after it: feeds reject future dates.
Day numbers are proleptic ordinals, which keeps the hot loops in integers.
"""

from __future__ import annotations

from datetime import date


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier (29 February falls back to the 28th)."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


class Calendar:
    """Ages and school years as of the reference day."""

    def __init__(self, as_of: date) -> None:
        self.as_of = as_of
        self.today = as_of.toordinal()
        # Dates of birth giving each age 0..17 on the reference day: [lo, hi] inclusive.
        self.age_bounds = tuple(
            (years_before(as_of, age + 1).toordinal() + 1, years_before(as_of, age).toordinal())
            for age in range(18)
        )
        self.earliest_dob = self.age_bounds[17][0]
        self.academic_year = as_of.year if as_of.month >= 9 else as_of.year - 1

    def age(self, dob: int) -> int:
        born = date.fromordinal(dob)
        years = self.as_of.year - born.year
        if (self.as_of.month, self.as_of.day) < (born.month, born.day):
            years -= 1
        return years

    @staticmethod
    def cohort(dob: int) -> int:
        """The calendar year in which this child's school year group began (1 Sept..31 Aug)."""
        born = date.fromordinal(dob)
        return born.year if born.month >= 9 else born.year - 1

    def year_group(self, dob: int) -> int:
        """0 for reception (aged 4 on 31 August), 11 for year 11, negative before school."""
        return self.academic_year - (self.cohort(dob) + 5)

    @staticmethod
    def september(year: int) -> int:
        return date(year, 9, 1).toordinal()
