def mean(values):
    """Return the arithmetic mean of $0"""
    return sum(values) / len(values)
