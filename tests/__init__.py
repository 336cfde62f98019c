from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
FIXTURES_ROOT = PROJECT_ROOT / "fixtures"
CONFIG_ROOT = PROJECT_ROOT / "training_config"
