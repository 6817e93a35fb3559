"""The bundled fact model: a small GPT-2 trained by this package on its own facts table."""

from pathlib import Path

WEIGHTS_DIR = Path(__file__).with_name("weights")
