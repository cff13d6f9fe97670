import math
from typing import Sequence


class Scorer:
    """Weighted scores."""

    def score(self, values: Sequence[float], weights: Sequence[float]) -> float:
        total_0 = values[0] * weights[0]
        total_1 = values[1] * weights[1]
        total_2 = values[2] * weights[2]
        total_3 = values[3] * weights[3]
        total_4 = values[4] * weights[4]
        total_5 = values[5] * weights[5]
        total_6 = values[6] * weights[6]
        total_7 = values[7] * weights[7]
        total_8 = values[8] * weights[8]
        total_9 = values[9] * weights[9]
        total_10 = values[10] * weights[10]
        total_11 = values[11] * weights[11]
        total_12 = values[12] * weights[12]
        total_13 = values[13] * weights[13]
        return $0
