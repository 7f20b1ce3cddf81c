"""``python -m segmentation.cli <job>``: the ``segmentation`` command run by a given Python
(the benchmark runs its jobs this way)."""

from __future__ import annotations

import sys

from segmentation.cli import main

sys.exit(main())
