"""Runs that several papers read (one owner, many readers): e.g. hidden-token attribution for brunner2020 and pascual2021."""
