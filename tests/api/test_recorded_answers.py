"""The API answers a fixed conversation exactly as recorded (``tests/api/recording.py``).

A refactoring must leave every byte of every answer as it was; a change meant to alter
answers records anew (``LEDGER_RECORD_ANSWERS=1``), and the diff of ``recorded_answers.json``
shows, request by request, what a client will see differently.
"""

import json
import os

import pytest

from tests.api.recording import RECORDING, converse

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]


def test_the_api_answers_the_recorded_conversation_byte_for_byte():
    entries = converse()
    if os.environ.get("LEDGER_RECORD_ANSWERS"):
        RECORDING.write_text(json.dumps(entries, indent=1, ensure_ascii=False) + "\n")
        pytest.skip(f"recorded {len(entries)} answers in {RECORDING.name}")
    recorded = json.loads(RECORDING.read_text())
    assert [entry["request"] for entry in entries] == [entry["request"] for entry in recorded]
    for entry, expected in zip(entries, recorded, strict=True):
        assert entry == expected, entry["request"]
