import os
from pathlib import Path


class Walker:
    def __init__(self, root):
        self.root = Path(root)

    def files(self):$0
