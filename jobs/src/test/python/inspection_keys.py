"""Prints the settings python/loraquant/inspection.py shows, as one JSON line, for InspectionKeysTest."""

import json

from loraquant import inspection

print(json.dumps({"settings": [list(pair) for pair in inspection.SETTINGS],
                  "budget_settings": [list(pair) for pair in inspection.BUDGET_SETTINGS]}))
