"""A module with functions but nothing marked as a benchmark."""


def helper():
    return 1
